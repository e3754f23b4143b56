// Traces as stored: assembled traces (one row per agent run), their raw spans (the evidence),
// the full-text index over their content, the MinHash LSH buckets for similar-case search,
// and the flags set on them. The domain (src/traces/) decides what goes in; this is storage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

// One assembled trace. `doc_json` holds the five content parts and the metadata as the API
// shows them; the other columns are copies kept for filtering.
struct TraceRow {
  int64_t id = 0;        // store row id, also the full-text and LSH key
  std::string trace_id;  // OTLP trace id (32 hex) or the id given to a native trace
  std::string hash;      // SHA-256 of the canonical form (docs/traces.md)
  std::string agent;
  std::string version;
  std::string user_id;
  std::string session_id;
  std::string category;
  TimeMs started_at = 0;
  TimeMs ended_at = 0;
  int64_t span_count = 0;
  int64_t error_count = 0;
  std::string flag;  // "", "toxic", "suspect" or "clean" (the latest flag)
  std::string doc_json = "{}";
  std::string signature;  // MinHash signature, hex
  TimeMs ingested_at = 0;
  TimeMs updated_at = 0;
};

// The searchable text of a trace, one column per part.
struct TraceText {
  std::string input;
  std::string retrieved;
  std::string tools;
  std::string output;
};

// One raw span as received (normalised JSON, see docs/traces.md).
struct SpanRow {
  std::string trace_id;
  std::string span_id;
  std::string parent_span_id;
  int64_t start_ns = 0;
  std::string data_json;
  TimeMs received_at = 0;
};

// What the ingest path needs to know of one trace's stored spans without reading them all.
struct SpanSummary {
  int64_t count = 0;
  bool has_root = false;        // a span without a parent is stored
  std::optional<SpanRow> first;  // the span stored first (it names the trace's owner)
};

struct TraceFilter {
  std::string agent, version, user_id, session_id, category, flag, tool;
  std::string text;                // FTS5 query; empty: any
  std::optional<TimeMs> from, to;  // on started_at, [from, to)
  // Cursor: only traces strictly older than (before_started_at, before_id) in list order.
  std::optional<TimeMs> before_started_at;
  int64_t before_id = 0;
  int limit = 50;
};

struct FlagRow {
  int64_t trace_row = 0;
  std::string flag;
  std::string reason;
  std::optional<int64_t> incident_id;
  std::string actor;
  TimeMs at = 0;
};

// The traces an incident reaches: those flagged with it (evidence, unless since flagged
// "clean") and those of `agent` that started in [from, to] (agent "" : flagged ones only).
struct AffectedScope {
  int64_t incident_id = 0;
  std::string agent;
  TimeMs from = 0, to = 0;
};

// One user in an AffectedScope.
struct AffectedUserRow {
  std::string user_id;
  int64_t traces = 0;
  int64_t evidence_traces = 0;
  TimeMs first_at = 0, last_at = 0;  // started_at of the user's first and last trace
};

struct AffectedTotals {
  int64_t users = 0;                // distinct user ids
  int64_t traces = 0;               // traces with a user id
  int64_t evidence_traces = 0;      // of those, flagged with the incident
  int64_t unknown_user_traces = 0;  // traces without a user id
};

// A full-text match with its bm25 score (lower is better, as SQLite reports it).
struct TextHit {
  int64_t trace_row = 0;
  double bm25 = 0;
};

class TraceRepo {
 public:
  virtual ~TraceRepo() = default;

  // Inserts or replaces a raw span (key: trace_id, span_id).
  virtual Status PutSpan(const SpanRow& s) = 0;
  // Returns every stored span of one trace, in start order.
  virtual StatusOr<std::vector<SpanRow>> Spans(const std::string& trace_id) = 0;
  // Returns the count, root presence and first stored span of one trace.
  virtual StatusOr<SpanSummary> SummarizeSpans(const std::string& trace_id) = 0;
  // Returns up to `limit` ids of traces with spans but no assembled trace whose last span was
  // received in [from, cutoff) (none after).
  // Queues an assembled trace to be assembled again (it took spans since); a trace already
  // queued keeps its time.
  virtual Status QueueReassembly(const std::string& trace_id, TimeMs now) = 0;
  // Returns up to `limit` queued trace ids queued before `cutoff`, oldest first.
  virtual StatusOr<std::vector<std::string>> DueReassembly(TimeMs cutoff, int limit) = 0;
  // Takes a trace off the reassembly queue.
  virtual Status DoneReassembly(const std::string& trace_id) = 0;
  virtual StatusOr<std::vector<std::string>> QuietUnassembled(TimeMs from, TimeMs cutoff,
                                                              int limit) = 0;

  struct Upserted {
    int64_t id = 0;         // the row id
    bool inserted = false;  // true: a new trace; false: it replaced the one with its trace_id
  };
  // Inserts the trace, or replaces the one with the same trace_id (keeping its row id and
  // flag); rewrites its text index, tools and LSH keys.
  virtual StatusOr<Upserted> Upsert(const TraceRow& t, const TraceText& text,
                                   const std::vector<std::string>& tools,
                                   const std::vector<int64_t>& lsh_keys) = 0;

  virtual StatusOr<TraceRow> Get(int64_t id) = 0;
  virtual StatusOr<std::optional<TraceRow>> GetByTraceId(const std::string& trace_id) = 0;
  // Returns up to `limit` distinct hashes starting with `prefix`.
  virtual StatusOr<std::vector<std::string>> HashesWithPrefix(const std::string& prefix,
                                                              int limit) = 0;
  // Returns the newest trace with this exact hash, and how many traces carry it.
  virtual StatusOr<std::pair<TraceRow, int64_t>> GetByHash(const std::string& hash) = 0;

  // Returns the row ids of every trace with this exact hash.
  virtual StatusOr<std::vector<int64_t>> RowsWithHash(const std::string& hash) = 0;

  // Returns traces matching f, newest first (started_at, then id).
  virtual StatusOr<std::vector<TraceRow>> List(const TraceFilter& f) = 0;
  // Returns the row ids of the traces in a window (empty strings match any).
  virtual StatusOr<std::vector<int64_t>> Window(const std::string& agent,
                                                const std::string& version,
                                                std::optional<TimeMs> from,
                                                std::optional<TimeMs> to) = 0;

  // Returns the row ids in the LSH bucket `key`, at most `limit`.
  virtual StatusOr<std::vector<int64_t>> LshBucket(int64_t key, int limit) = 0;
  // Returns the best full-text matches of an FTS5 query.
  virtual StatusOr<std::vector<TextHit>> TextSearch(const std::string& fts_query, int limit) = 0;
  // Returns the MinHash signature (hex) of each row id that exists.
  virtual StatusOr<std::vector<std::pair<int64_t, std::string>>> Signatures(
      const std::vector<int64_t>& ids) = 0;

  // Records a flag and sets it as the trace's current one.
  virtual Status AddFlag(const FlagRow& f) = 0;
  // Returns every flag ever set with `incident_id`, oldest first.
  virtual StatusOr<std::vector<FlagRow>> FlagsFor(int64_t incident_id) = 0;

  // Returns up to `limit` users of `scope` whose id sorts after `after_user`, by user id.
  virtual StatusOr<std::vector<AffectedUserRow>> AffectedUsers(const AffectedScope& scope,
                                                              const std::string& after_user,
                                                              int limit) = 0;
  // Returns the counts over every trace of `scope`.
  virtual StatusOr<AffectedTotals> CountAffected(const AffectedScope& scope) = 0;

  // Returns up to `limit` row ids of traces that started before `cutoff` and are not held
  // (held: flagged with an incident that is neither resolved nor closed, or the source of a
  // regression case).
  virtual StatusOr<std::vector<int64_t>> Expired(TimeMs cutoff, int limit) = 0;
  // Deletes spans of traces that never assembled (no root span) received before `cutoff`.
  virtual StatusOr<int64_t> DeleteOrphanSpans(TimeMs cutoff) = 0;
  // Returns the row ids of one user's traces.
  virtual StatusOr<std::vector<int64_t>> ForUser(const std::string& user_id) = 0;
  // Deletes a trace with its spans, text index, tools, LSH keys and flags.
  virtual Status Delete(int64_t id) = 0;
};

}  // namespace firebreak
