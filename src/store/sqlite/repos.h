// Internal to the SQLite store: one repository class per area, each over the connection of the
// transaction it belongs to.
#pragma once

#include "store/sqlite/connection.h"
#include "store/store.h"

namespace firebreak::sqlite {

class SqliteIncidentRepo final : public IncidentRepo {
 public:
  explicit SqliteIncidentRepo(Connection& conn) : conn_(conn) {}
  StatusOr<int64_t> Insert(const IncidentRecord& r) override;
  Status Update(const IncidentRecord& r) override;
  StatusOr<IncidentRecord> Get(int64_t id) override;
  StatusOr<std::vector<IncidentRecord>> List(const IncidentQuery& q) override;

 private:
  Connection& conn_;
};

class SqliteEventRepo final : public EventRepo {
 public:
  explicit SqliteEventRepo(Connection& conn) : conn_(conn) {}
  StatusOr<std::optional<EventRecord>> Last() override;
  Status Append(const EventRecord& r) override;
  StatusOr<std::vector<EventRecord>> ForIncident(int64_t incident_id) override;
  StatusOr<std::vector<EventRecord>> After(int64_t after_seq, int limit) override;

 private:
  Connection& conn_;
};

class SqliteTokenRepo final : public TokenRepo {
 public:
  explicit SqliteTokenRepo(Connection& conn) : conn_(conn) {}
  StatusOr<int64_t> Insert(const TokenRecord& r) override;
  StatusOr<TokenRecord> GetBySecretHash(const std::string& secret_hash) override;
  StatusOr<TokenRecord> GetByName(const std::string& name) override;
  StatusOr<std::vector<TokenRecord>> List() override;
  Status Revoke(int64_t id, TimeMs at) override;
  StatusOr<int64_t> Count() override;

 private:
  Connection& conn_;
};

class SqliteReleaseRepo final : public ReleaseRepo {
 public:
  explicit SqliteReleaseRepo(Connection& conn) : conn_(conn) {}
  StatusOr<AgentRecord> GetAgent(const std::string& agent) override;
  StatusOr<std::vector<AgentRecord>> ListAgents() override;
  Status InsertAgent(const AgentRecord& r) override;
  Status UpdateAgent(const AgentRecord& r) override;
  Status InsertVersion(const AgentVersionRecord& r) override;
  StatusOr<AgentVersionRecord> GetVersion(const std::string& agent,
                                          const std::string& version) override;
  StatusOr<std::vector<AgentVersionRecord>> ListVersions(const std::string& agent) override;
  Status SetPulled(const std::string& agent, const std::string& version, bool pulled,
                   std::optional<TimeMs> at, const std::string& by) override;
  StatusOr<int64_t> AppendChange(const PointerChangeRecord& r) override;
  StatusOr<std::vector<PointerChangeRecord>> Changes(const std::string& agent, int limit) override;

 private:
  Connection& conn_;
};

// The transaction object handed to Store::Write/Read callbacks.
class SqliteTxn final : public Txn {
 public:
  explicit SqliteTxn(Connection& conn)
      : incidents_(conn), events_(conn), tokens_(conn), releases_(conn) {}
  IncidentRepo& incidents() override { return incidents_; }
  EventRepo& events() override { return events_; }
  TokenRepo& tokens() override { return tokens_; }
  ReleaseRepo& releases() override { return releases_; }

 private:
  SqliteIncidentRepo incidents_;
  SqliteEventRepo events_;
  SqliteTokenRepo tokens_;
  SqliteReleaseRepo releases_;
};

}  // namespace firebreak::sqlite
