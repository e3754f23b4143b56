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

class SqliteTraceRepo final : public TraceRepo {
 public:
  explicit SqliteTraceRepo(Connection& conn) : conn_(conn) {}
  Status PutSpan(const SpanRow& s) override;
  StatusOr<std::vector<SpanRow>> Spans(const std::string& trace_id) override;
  StatusOr<int64_t> Upsert(const TraceRow& t, const TraceText& text,
                           const std::vector<std::string>& tools,
                           const std::vector<int64_t>& lsh_keys) override;
  StatusOr<TraceRow> Get(int64_t id) override;
  StatusOr<std::optional<TraceRow>> GetByTraceId(const std::string& trace_id) override;
  StatusOr<std::vector<std::string>> HashesWithPrefix(const std::string& prefix, int limit) override;
  StatusOr<std::pair<TraceRow, int64_t>> GetByHash(const std::string& hash) override;
  StatusOr<std::vector<int64_t>> RowsWithHash(const std::string& hash) override;
  StatusOr<std::vector<TraceRow>> List(const TraceFilter& f) override;
  StatusOr<std::vector<int64_t>> Window(const std::string& agent, const std::string& version,
                                        std::optional<TimeMs> from, std::optional<TimeMs> to) override;
  StatusOr<std::vector<int64_t>> LshBucket(int64_t key, int limit) override;
  StatusOr<std::vector<TextHit>> TextSearch(const std::string& fts_query, int limit) override;
  StatusOr<std::vector<std::pair<int64_t, std::string>>> Signatures(
      const std::vector<int64_t>& ids) override;
  Status AddFlag(const FlagRow& f) override;
  StatusOr<std::vector<int64_t>> Expired(TimeMs cutoff, int limit) override;
  StatusOr<int64_t> DeleteOrphanSpans(TimeMs cutoff) override;
  StatusOr<std::vector<int64_t>> ForUser(const std::string& user_id) override;
  Status Delete(int64_t id) override;

 private:
  // Removes a trace's text index row, tool names and LSH keys (`old_keys`, comma-separated).
  Status ClearIndexes(int64_t id, const std::string& old_keys);
  Connection& conn_;
};

// The transaction object handed to Store::Write/Read callbacks.
class SqliteTxn final : public Txn {
 public:
  explicit SqliteTxn(Connection& conn)
      : incidents_(conn), events_(conn), tokens_(conn), traces_(conn) {}
  IncidentRepo& incidents() override { return incidents_; }
  EventRepo& events() override { return events_; }
  TokenRepo& tokens() override { return tokens_; }
  TraceRepo& traces() override { return traces_; }

 private:
  SqliteIncidentRepo incidents_;
  SqliteEventRepo events_;
  SqliteTokenRepo tokens_;
  SqliteTraceRepo traces_;
};

}  // namespace firebreak::sqlite
