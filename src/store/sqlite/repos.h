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
  StatusOr<std::vector<int64_t>> TimesToContain() override;

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
  StatusOr<std::optional<EventRecord>> At(int64_t seq) override;
  Status AppendAnchor(const AnchorRecord& a) override;
  StatusOr<std::vector<AnchorRecord>> Anchors(int limit) override;

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

class SqliteMemoryRepo final : public MemoryRepo {
 public:
  explicit SqliteMemoryRepo(Connection& conn) : conn_(conn) {}
  StatusOr<std::optional<int>> Dimension(const std::string& agent, const std::string& ns) override;
  Status SetDimension(const std::string& agent, const std::string& ns, int dim, TimeMs at) override;
  Status ClearDimensions(const std::string& agent) override;
  StatusOr<int64_t> Insert(const MemoryRecord& r) override;
  StatusOr<MemoryRecord> Get(int64_t id) override;
  StatusOr<std::vector<MemoryRecord>> GetMany(const std::vector<int64_t>& ids) override;
  StatusOr<std::vector<int64_t>> Match(const std::string& agent, const MemoryWindow& w) override;
  StatusOr<std::vector<int64_t>> DerivedFrom(int64_t source_id) override;
  StatusOr<std::vector<MemoryRead>> ReadsOf(int64_t record_id) override;
  StatusOr<std::vector<int64_t>> WrittenByTraceAfter(const std::string& agent,
                                                     const std::string& trace_id,
                                                     int64_t after_id) override;
  StatusOr<std::vector<int64_t>> ReadByTrace(const std::string& agent,
                                             const std::string& trace_id) override;
  Status RecordReads(const std::string& agent, const std::string& trace_id,
                     const std::vector<int64_t>& record_ids, TimeMs at) override;
  Status SetState(const std::vector<int64_t>& ids, const std::string& state) override;
  Status Purge(const std::vector<int64_t>& ids, TimeMs at) override;
  StatusOr<std::vector<int64_t>> AllLive(const std::string& agent) override;
  StatusOr<std::vector<std::pair<int64_t, double>>> TextSearch(
      const std::string& agent, const std::string& ns, const std::string& fts_query,
      int limit) override;
  StatusOr<std::vector<MemoryRecord>> ScanEmbeddings(const EmbeddingScan& scan) override;
  StatusOr<int64_t> MaxId() override;
  StatusOr<int64_t> InsertQuarantine(const QuarantineRecord& q) override;
  Status UpdateQuarantine(const QuarantineRecord& q) override;
  StatusOr<QuarantineRecord> GetQuarantine(int64_t id) override;
  StatusOr<std::vector<QuarantineRecord>> ListQuarantines(const std::string& agent) override;
  Status AddMembers(int64_t quarantine_id, const std::vector<QuarantineMember>& members) override;
  StatusOr<std::vector<QuarantineMember>> Members(int64_t quarantine_id) override;
  StatusOr<std::vector<int64_t>> ActiveQuarantinesOf(int64_t record_id) override;

 private:
  Connection& conn_;
};

class SqliteTraceRepo final : public TraceRepo {
 public:
  explicit SqliteTraceRepo(Connection& conn) : conn_(conn) {}
  Status PutSpan(const SpanRow& s) override;
  StatusOr<std::vector<SpanRow>> Spans(const std::string& trace_id) override;
  StatusOr<Upserted> Upsert(const TraceRow& t, const TraceText& text,
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
  StatusOr<std::vector<FlagRow>> FlagsFor(int64_t incident_id) override;
  StatusOr<std::vector<int64_t>> Expired(TimeMs cutoff, int limit) override;
  StatusOr<int64_t> DeleteOrphanSpans(TimeMs cutoff) override;
  StatusOr<SpanSummary> SummarizeSpans(const std::string& trace_id) override;
  Status QueueReassembly(const std::string& trace_id, TimeMs now) override;
  StatusOr<std::vector<std::string>> DueReassembly(TimeMs cutoff, int limit) override;
  Status DoneReassembly(const std::string& trace_id) override;
  StatusOr<std::vector<std::string>> QuietUnassembled(TimeMs from, TimeMs cutoff,
                                                      int limit) override;
  StatusOr<std::vector<int64_t>> ForUser(const std::string& user_id) override;
  Status Delete(int64_t id) override;
  StatusOr<std::vector<AffectedUserRow>> AffectedUsers(const AffectedScope& scope,
                                                      const std::string& after_user,
                                                      int limit) override;
  StatusOr<AffectedTotals> CountAffected(const AffectedScope& scope) override;

 private:
  // Removes a trace's text index row, tool names and LSH keys (`old_keys`, comma-separated).
  Status ClearIndexes(int64_t id, const std::string& old_keys);
  Connection& conn_;
};

class SqliteSignalRepo final : public SignalRepo {
 public:
  explicit SqliteSignalRepo(Connection& conn) : conn_(conn) {}
  StatusOr<int64_t> Insert(const SignalRecord& r) override;
  Status Update(const SignalRecord& r) override;
  StatusOr<SignalRecord> Get(int64_t id) override;
  StatusOr<std::optional<SignalRecord>> GetByFingerprint(const std::string& fp) override;
  StatusOr<std::vector<SignalRecord>> List(const SignalQuery& q) override;
  StatusOr<int64_t> InsertScore(const ScoreRecord& s) override;
  StatusOr<std::vector<ScoreRecord>> ScoresSince(TimeMs from, int limit) override;

 private:
  Connection& conn_;
};

class SqlitePagingRepo final : public PagingRepo {
 public:
  explicit SqlitePagingRepo(Connection& conn) : conn_(conn) {}
  StatusOr<int64_t> InsertTimer(const TimerRecord& t) override;
  StatusOr<std::vector<TimerRecord>> DueTimers(TimeMs now, int limit) override;
  StatusOr<bool> ClaimTimer(int64_t id, TimeMs now) override;
  StatusOr<int64_t> CancelTimers(int64_t incident_id, const std::vector<std::string>& kinds,
                                 TimeMs now) override;
  StatusOr<std::vector<TimerRecord>> TimersOf(int64_t incident_id) override;
  StatusOr<std::optional<TimeMs>> NextTimerDue() override;
  StatusOr<std::optional<int64_t>> InsertDelivery(const DeliveryRecord& d) override;
  StatusOr<DeliveryRecord> GetDelivery(int64_t id) override;
  StatusOr<std::vector<DeliveryRecord>> ClaimDeliveries(TimeMs now, TimeMs lease_until,
                                                        int limit) override;
  Status UpdateDelivery(const DeliveryRecord& d) override;
  StatusOr<std::vector<DeliveryRecord>> ListDeliveries(const DeliveryQuery& q) override;
  StatusOr<std::optional<TimeMs>> NextDeliveryDue() override;
  StatusOr<std::map<std::string, int64_t>> CountDeliveries() override;

 private:
  Connection& conn_;
};

class SqliteIdempotencyRepo final : public IdempotencyRepo {
 public:
  explicit SqliteIdempotencyRepo(Connection& conn) : conn_(conn) {}
  StatusOr<std::optional<IdempotencyRecord>> Get(int64_t token_id, const std::string& key) override;
  Status Put(const IdempotencyRecord& r) override;
  Status Remove(int64_t token_id, const std::string& key) override;
  StatusOr<int64_t> Sweep(TimeMs cutoff, int limit) override;

 private:
  Connection& conn_;
};

class SqliteInspectionRepo final : public InspectionRepo {
 public:
  explicit SqliteInspectionRepo(Connection& conn) : conn_(conn) {}
  Status Enqueue(const std::string& trace_id, bool first_time, TimeMs now) override;
  StatusOr<std::vector<InspectionItem>> Due(TimeMs due_by, int limit) override;
  Status Retry(const InspectionItem& item) override;
  Status Done(const std::string& trace_id, TimeMs enqueued_at) override;
  StatusOr<int64_t> Count() override;

 private:
  Connection& conn_;
};

class SqliteCommsRepo final : public CommsRepo {
 public:
  explicit SqliteCommsRepo(Connection& conn) : conn_(conn) {}
  StatusOr<std::optional<NoticeRecord>> GetNotice(int64_t incident_id) override;
  Status PutNotice(const NoticeRecord& n) override;
  StatusOr<bool> DeleteNotice(int64_t incident_id) override;
  StatusOr<std::vector<NoticeRecord>> Notices() override;
  StatusOr<int64_t> AddUpdate(const UpdateRecord& u) override;
  StatusOr<std::vector<UpdateRecord>> Updates(int64_t incident_id, const std::string& audience) override;
  StatusOr<std::optional<UpdateRecord>> GetUpdate(int64_t id) override;
  StatusOr<std::optional<CommsRecord>> GetComms(int64_t incident_id) override;
  Status PutComms(const CommsRecord& c) override;
  StatusOr<std::vector<CommsRecord>> Overdue(TimeMs now, int limit) override;
  StatusOr<int64_t> EvidenceCount(int64_t incident_id) override;

 private:
  Connection& conn_;
};

class SqlitePostmortemRepo final : public PostmortemRepo {
 public:
  explicit SqlitePostmortemRepo(Connection& conn) : conn_(conn) {}
  StatusOr<std::optional<PostmortemRecord>> Get(int64_t incident_id) override;
  Status Put(const PostmortemRecord& r) override;
  StatusOr<std::vector<ActionRecord>> Actions(int64_t incident_id) override;
  StatusOr<ActionRecord> GetAction(int64_t id) override;
  StatusOr<int64_t> InsertAction(const ActionRecord& a) override;
  Status UpdateAction(const ActionRecord& a) override;
  StatusOr<std::vector<ActionRecord>> ListActions(const ActionQuery& q) override;
  StatusOr<std::vector<ActionRecord>> ActionsToRemind(TimeMs now, int64_t week_ms, int limit) override;
  StatusOr<std::vector<OwedPostmortem>> Owed(TimeMs resolved_by, int64_t after_id, int limit) override;
  StatusOr<int64_t> CountOwed(TimeMs resolved_by) override;
  StatusOr<std::vector<OwedPostmortem>> Unchased(TimeMs soon_by, TimeMs overdue_by, int limit) override;
  Status PutChase(const OwedPostmortem& o) override;

 private:
  Connection& conn_;
};

class SqliteRegressionRepo final : public RegressionRepo {
 public:
  explicit SqliteRegressionRepo(Connection& conn) : conn_(conn) {}
  StatusOr<int64_t> InsertCase(const RegressionCaseRecord& r) override;
  Status UpdateCase(const RegressionCaseRecord& r) override;
  Status DeleteCase(int64_t id) override;
  StatusOr<RegressionCaseRecord> GetCase(int64_t id) override;
  StatusOr<std::vector<RegressionCaseRecord>> ListCases(const RegressionCaseQuery& q) override;
  StatusOr<std::vector<int64_t>> CaseIds(const std::string& agent) override;
  StatusOr<int64_t> InsertRun(const RegressionRunRecord& r) override;
  Status UpdateRun(const RegressionRunRecord& r) override;
  StatusOr<RegressionRunRecord> GetRun(int64_t id) override;
  StatusOr<std::vector<RegressionRunRecord>> ListRuns(const std::string& agent,
                                                      const std::string& version,
                                                      int limit) override;
  StatusOr<std::optional<RegressionRunRecord>> LatestWholeRun(const std::string& agent,
                                                              const std::string& version) override;
  StatusOr<std::vector<int64_t>> RunningRuns() override;
  Status InsertResult(const RegressionResultRecord& r) override;
  StatusOr<std::vector<RegressionResultRecord>> Results(int64_t run_id) override;
  StatusOr<std::optional<RegressionResultRecord>> LatestResult(int64_t case_id,
                                                               const std::string& agent,
                                                               const std::string& version) override;

 private:
  Connection& conn_;
};

// The transaction object handed to Store::Write/Read callbacks.
class SqliteTxn final : public Txn {
 public:
  explicit SqliteTxn(Connection& conn)
      : conn_(conn), incidents_(conn), events_(conn), tokens_(conn), releases_(conn),
        memory_(conn), traces_(conn), signals_(conn), paging_(conn), idempotency_(conn),
        inspections_(conn), comms_(conn), postmortems_(conn), regressions_(conn) {}
  IncidentRepo& incidents() override { return incidents_; }
  EventRepo& events() override { return events_; }
  TokenRepo& tokens() override { return tokens_; }
  ReleaseRepo& releases() override { return releases_; }
  MemoryRepo& memory() override { return memory_; }
  TraceRepo& traces() override { return traces_; }
  SignalRepo& signals() override { return signals_; }
  PagingRepo& paging() override { return paging_; }
  IdempotencyRepo& idempotency() override { return idempotency_; }
  InspectionRepo& inspections() override { return inspections_; }
  CommsRepo& comms() override { return comms_; }
  PostmortemRepo& postmortems() override { return postmortems_; }
  RegressionRepo& regressions() override { return regressions_; }
  Status RequestCompaction() override;

 private:
  Connection& conn_;
  SqliteIncidentRepo incidents_;
  SqliteEventRepo events_;
  SqliteTokenRepo tokens_;
  SqliteReleaseRepo releases_;
  SqliteMemoryRepo memory_;
  SqliteTraceRepo traces_;
  SqliteSignalRepo signals_;
  SqlitePagingRepo paging_;
  SqliteIdempotencyRepo idempotency_;
  SqliteInspectionRepo inspections_;
  SqliteCommsRepo comms_;
  SqlitePostmortemRepo postmortems_;
  SqliteRegressionRepo regressions_;
};

}  // namespace firebreak::sqlite
