// TraceService: the trace archive. Ingests spans (OTLP, already decoded) and whole traces
// (native batch), assembles and hashes them, and answers lookups by hash prefix, filtered
// listings, similar-case searches, flags, retention sweeps and privacy erasure.
//
// Every write is one store transaction: a success return means the spans and the assembled
// trace are committed (durable per the store's synchronous setting). A trace belongs to the
// agent that first wrote it: writes on behalf of another agent are refused. Thread-safe: the
// only state of its own is how far AssembleQuiet has looked (guarded).
#pragma once

#include <mutex>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "store/incidents.h"
#include "store/store.h"
#include "traces/span.h"
#include "traces/trace.h"

namespace firebreak::traces {

struct TraceOptions {
  int retention_days = 30;  // must be >= kMinRetentionDays
  // The secret of the erasure event's keyed digest of the user id; kept outside the store
  // (serve: DATA_DIR/erasure.key). Erasure is refused while it is empty.
  std::string erasure_key;
  IngestLimits limits;
  // A trace whose root span never arrives is assembled from its top-most span once no span
  // of it has arrived for this long.
  int64_t quiet_ms = 30'000;
  // An assembled trace holding more stored spans than this is not assembled again by the
  // request that brings it a span (that would read and parse every span each time: one trace
  // sent as 800 single-span requests cost 34 ms a request by the end); it is queued and
  // assembled once, reassemble_delay_ms after the first such span, by AssembleQuiet.
  int64_t reassemble_over_spans = 64;
  int64_t reassemble_delay_ms = 1'000;
};

inline constexpr int kMinRetentionDays = 30;

// Returns OK when `days` is an allowed retention, kInvalidArgument saying why otherwise.
Status CheckRetentionDays(int64_t days);

// A trace as the store keeps it: the row (with hash and signature), its text index columns,
// its tool names and its LSH keys.
struct StoredTrace {
  TraceRow row;
  TraceText text;
  std::vector<std::string> tools;
  std::vector<int64_t> lsh_keys;
};

// Returns the stored form of an assembled trace (hash, signature, index data), ingested `now`.
StoredTrace ToStored(const TraceContent& t, TimeMs now);

struct IngestResult {
  int64_t spans = 0;                // spans stored
  std::vector<std::string> hashes;  // traces assembled or re-assembled by this call
  int64_t pending_traces = 0;       // traces still waiting for their root span
  int64_t deferred_traces = 0;      // large traces queued to be assembled again shortly
};

// A stored trace as the API shows it.
struct TraceView {
  TraceRow row;
  int64_t same_hash = 1;  // how many stored traces carry this hash
};

struct SimilarHit {
  TraceRow row;
  double score = 0;    // 0.85 * jaccard + 0.15 * text, in [0, 1]
  double jaccard = 0;  // MinHash estimate of the shingle Jaccard similarity
  double text = 0;     // bm25 relative to the best full-text match, in [0, 1]
};

struct FlagRequest {
  std::string flag;  // toxic, suspect or clean
  std::string reason;
  std::vector<std::string> hashes;  // hashes or prefixes; or a window:
  std::string agent, version;
  std::optional<TimeMs> from, to;
  std::optional<int64_t> incident_id;
};

struct FlagResult {
  int64_t flagged = 0;
  std::vector<std::string> hashes;
};

// Which traces of an incident to count as affecting users: see AffectedScopeOf.
struct AffectedQuery {
  int64_t incident_id = 0;
  std::optional<TimeMs> from, to;  // the window; unset: the incident's own (AffectedScopeOf)
  std::string after_user;          // cursor: users whose id sorts after it
  int limit = 100;
};

// The users an incident reached: a page of them and the totals over all.
struct AffectedUsers {
  AffectedScope scope;
  AffectedTotals totals;
  std::vector<AffectedUserRow> users;  // by user id
  std::string next_cursor;             // "" on the last page
};

// How far before detection an incident's window starts when none is given.
inline constexpr int64_t kAffectedLookbackMs = 24LL * 3600 * 1000;

// Returns the traces an incident reaches: those flagged with it, and those of its agent that
// started in [from, to]; from defaults to detected_at - kAffectedLookbackMs, to to resolved_at
// (now while unresolved). kInvalidArgument when from is after to.
StatusOr<AffectedScope> AffectedScopeOf(const IncidentRecord& inc, std::optional<TimeMs> from,
                                        std::optional<TimeMs> to, TimeMs now);

// One trace as it was just committed, for observers (the detectors).
struct StoredTraceEvent {
  TraceContent content;
  std::string hash;
  bool first_time = true;  // false when late spans re-assembled a trace stored before
};

// Told of every trace committed by an ingest call, after the commit and in the ingesting
// thread, before the caller gets its answer. Must not throw.
class TraceObserver {
 public:
  virtual ~TraceObserver() = default;
  virtual void OnTracesStored(const std::vector<StoredTraceEvent>& traces) = 0;
};

class TraceService {
 public:
  TraceService(Store& store, const EventLog& log, const Clock& clock, TraceOptions options = {})
      : store_(store), log_(log), clock_(clock), options_(options) {}

  // Sets the one observer (wiring, before serving); nullptr: none.
  void SetObserver(TraceObserver* observer) { observer_ = observer; }

  const TraceOptions& options() const { return options_; }

  // Stores the spans and (re-)assembles every trace they belong to whose root span is known
  // (or that was assembled before). `agent` is the writing agent token's agent, "" for a
  // responder or admin: then every trace touched must be new or belong to that agent
  // (kPermissionDenied, nothing written), and is stored under that agent. kTooLarge past
  // limits.max_spans_per_request or a trace's max_spans_per_trace; kInvalidArgument for an
  // agent name (service.name, gen_ai.agent.name) that CheckName refuses.
  StatusOr<IngestResult> IngestSpans(const std::vector<SpanData>& spans,
                                     const std::string& agent = "");

  // Stores whole traces given in the native format ({"traces": [...]}, trace.h). All or
  // nothing: a bad trace refuses the batch. `agent` as for IngestSpans: each trace must name
  // that agent and a trace_id that is new or already that agent's. Returns the hashes in order.
  StatusOr<std::vector<std::string>> IngestNative(const nlohmann::json& body,
                                                  const std::string& agent = "");

  // Assembles, from their top-most spans, the traces without a root span that have had no new
  // span for options.quiet_ms (Clock time), and again the large traces queued by IngestSpans
  // at least options.reassemble_delay_ms ago. Returns how many; observers are told as on
  // ingest.
  StatusOr<int64_t> AssembleQuiet();

  // Returns the trace named by a hash prefix (>= 8 hex) or its trace id. kConflict lists the
  // candidates of an ambiguous prefix; kNotFound when nothing matches.
  StatusOr<TraceView> Get(const std::string& name);

  // Returns the raw spans of a trace, in start order.
  StatusOr<std::vector<SpanData>> RawSpans(const std::string& trace_id);

  // Returns traces matching the filter, newest first. `f.text` is plain words (all must match).
  StatusOr<std::vector<TraceRow>> List(TraceFilter f);

  // Returns up to k stored traces most similar to the named one (itself left out).
  StatusOr<std::vector<SimilarHit>> Similar(const std::string& name, int k);

  // Returns up to k stored traces most similar to a free text.
  StatusOr<std::vector<SimilarHit>> SimilarToText(const std::string& text, int k);

  // Flags traces by hashes or by window; appends one event (on the incident's timeline when
  // an incident id is given). Flags never delete.
  StatusOr<FlagResult> Flag(const std::string& actor, const FlagRequest& req);

  // Returns the distinct users of an incident's traces (AffectedScopeOf), a page of them by
  // user id, with the totals (totals.users is the measured number of affected users).
  // kNotFound for an unknown incident; kInvalidArgument for a bad window.
  StatusOr<AffectedUsers> ListAffectedUsers(const AffectedQuery& q);

  // Deletes traces older than the retention, except held ones; returns how many.
  StatusOr<int64_t> SweepExpired();

  // Deletes every trace of one user (privacy request) and compacts the store so the bytes leave
  // the files (a failed compaction stays pending in the store and is retried); audited with
  // an HMAC-SHA256 of the user id under options.erasure_key. Returns how many.
  // kUnavailable without an erasure key.
  StatusOr<int64_t> EraseUser(const std::string& actor, const std::string& user_id,
                              const std::string& reason);

 private:
  StatusOr<std::vector<SimilarHit>> Nearest(const std::string& text, std::optional<int64_t> exclude,
                                            int k);
  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  const TraceOptions options_;
  // Assembles, a batch per write transaction, the traces `due` names and `assemble` builds
  // (nullopt: skipped), stores them and tells the observer; returns how many were stored.
  StatusOr<int64_t> AssembleBatches(
      const std::function<StatusOr<std::vector<std::string>>(Txn&, int)>& due,
      const std::function<StatusOr<std::optional<TraceContent>>(Txn&, const std::string&)>& assemble,
      TimeMs now);

  std::mutex quiet_mu_;
  TimeMs quiet_checked_to_ = 0;  // GUARDED_BY(quiet_mu_): spans received before it were seen
  TraceObserver* observer_ = nullptr;
};

}  // namespace firebreak::traces
