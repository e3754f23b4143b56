// MemoryService: agents' long-term memory with provenance the agent cannot forge, and the
// isolation tools for it (quarantine with taint closure, restore, purge, wipe).
//
// Records live in the store (memory_records and friends, store/memory.h); vectors are also held
// in one in-memory HNSW index per (agent, namespace), a cache of the store: Warm() builds it
// after start while everything else serves, and an index whose insert failed is rebuilt from the
// store. The store is the source of truth: every search re-checks candidates against it, so a
// record that a quarantine, purge or wipe took out is never returned by a search that starts
// after the call answered. Provenance (write time from the Clock, writer, trace id and agent version of the
// request, checked derived_from ids) is set here, never taken from the record body.
// Quarantine, restore, purge and wipe are audited through EventLog in the same transaction.
// Thread-safe: changes are serialised by one mutex (store commit, then index update); searches
// run concurrently.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <utility>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "memory/vector_index.h"
#include "store/store.h"

namespace firebreak {

inline constexpr char kDefaultNamespace[] = "default";

struct MemoryWrite {
  std::string ns = kDefaultNamespace;
  std::string text;
  std::vector<float> embedding;  // empty: text only
  nlohmann::json metadata = nlohmann::json::object();
  std::vector<int64_t> derived_from;
  // Provenance from the request (not from the record body the agent composes):
  std::string trace_id;
  std::string agent_version;
};

struct MemorySearch {
  std::string ns = kDefaultNamespace;
  std::vector<float> embedding;  // empty: no vector search
  std::string text;              // empty: no full-text search
  int k = 10;
  nlohmann::json filter = nlohmann::json::object();  // metadata key == value, all must hold
  std::string trace_id;          // when set, the records returned are recorded as read by it
};

struct MemoryHit {
  MemoryRecord record;
  double score = 0;   // cosine similarity, -bm25, or reciprocal-rank fusion of both
  std::string match;  // "vector", "text" or "both"
};

struct QuarantineRequest {
  MemoryWindow window;
  bool taint = true;
  std::string reason;
  std::optional<int64_t> incident_id;
};

struct QuarantineResult {
  QuarantineRecord quarantine;
  std::vector<QuarantineMember> members;  // direct ones first, then the closure in BFS order
};

struct RestoreResult {
  QuarantineRecord quarantine;
  std::vector<int64_t> restored;  // now active again (not held by another quarantine)
};

struct PurgeRequest {
  std::optional<int64_t> quarantine_id;  // purge the records this quarantine holds
  std::vector<int64_t> record_ids;       // and/or these
  std::string reason;
  std::optional<int64_t> incident_id;
};

struct PurgeResult {
  std::vector<int64_t> ids;  // records purged by this call
  // False when the purge committed but Store::Compact() failed: the bytes are still in the
  // files until the compaction the store keeps pending runs (serve retries it every minute and
  // at start).
  bool compacted = false;
};

struct WipeResult {
  int64_t purged = 0;
  bool compacted = false;  // as in PurgeResult
};

struct MemoryOptions {
  VectorIndexOptions index;
  // Test seam: when set, called before every insert into a vector index; a non-OK status is
  // that insert's failure.
  std::function<Status(int64_t record_id)> index_fault;
};

// A record as shown: with who holds it and who read it.
struct MemoryRecordView {
  MemoryRecord record;
  std::vector<int64_t> quarantines;  // not-restored quarantines holding it
};

class MemoryService {
 public:
  // Returns the service, still warming: vector searches answer kUnavailable until Warm()
  // returns OK; writes, text searches and the isolation tools work at once. All references
  // must outlive it.
  static StatusOr<std::unique_ptr<MemoryService>> Create(Store& store, const EventLog& log,
                                                         const Clock& clock, MemoryOptions options = {});

  // Builds the vector indexes from the store, a chunk of records at a time between changes (a
  // change waits at most one chunk), then marks the service warm. Returns kUnavailable when
  // `stop` is requested first. Call once, from any thread.
  Status Warm(std::stop_token stop = {});

  // Returns whether Warm() has not finished yet.
  bool warming() const { return warming_.load(); }

  // Writes records for `agent` in one transaction (all or nothing) and returns them as stored.
  // kInvalidArgument for a wrong embedding dimension, an unknown, foreign or purged
  // derived_from id, or bad fields. A record derived from a quarantined record, or written by a
  // trace that read one, joins that quarantine at once (state "quarantined"). Once the commit
  // succeeded the answer is the records: an index insert that fails marks that index for a
  // rebuild from the store instead.
  StatusOr<std::vector<MemoryRecord>> Write(const std::string& actor, const std::string& agent,
                                            const std::vector<MemoryWrite>& records);

  // Returns the best `k` active records by vector similarity and/or full text. kUnavailable for
  // a vector search while warming, or while its index cannot be rebuilt (retry later).
  StatusOr<std::vector<MemoryHit>> Search(const std::string& agent, const MemorySearch& req);

  // Quarantines the records `req.window` matches and (with taint) their closure, in one
  // transaction with its audit event. kNotFound for an unknown incident.
  StatusOr<QuarantineResult> Quarantine(const std::string& actor, const std::string& agent,
                                        const QuarantineRequest& req);

  // Undoes quarantine `id` of `agent`. kNotFound for an unknown id, kConflict when already
  // restored.
  StatusOr<RestoreResult> Restore(const std::string& actor, const std::string& agent, int64_t id,
                                  const std::string& reason, std::optional<int64_t> incident_id);

  // Deletes the content of records for good, then compacts the store (docs/memory.md). Returns
  // the ids purged and whether the compaction finished. kNotFound for an unknown quarantine or
  // record id.
  StatusOr<PurgeResult> Purge(const std::string& actor, const std::string& agent,
                              const PurgeRequest& req);

  // Purges every record of `agent` and forgets its namespaces' dimensions, then compacts.
  // kInvalidArgument unless confirm == agent.
  StatusOr<WipeResult> Wipe(const std::string& actor, const std::string& agent,
                            const std::string& confirm, const std::string& reason);

  StatusOr<MemoryRecordView> Get(const std::string& agent, int64_t id);
  StatusOr<std::vector<QuarantineRecord>> ListQuarantines(const std::string& agent);
  StatusOr<QuarantineResult> GetQuarantine(const std::string& agent, int64_t id);

 private:
  using IndexKey = std::pair<std::string, std::string>;  // (agent, namespace)

  MemoryService(Store& store, const EventLog& log, const Clock& clock, MemoryOptions options)
      : store_(store), log_(log), clock_(clock), options_(std::move(options)) {}

  // Adds record `r`'s vector to its index (hidden unless active); on failure marks the index
  // dirty. Caller holds change_mu_.
  void IndexRecord(const MemoryRecord& r);
  // Rebuilds the index of `key` from the store; clears its dirty mark on success. Caller holds
  // change_mu_.
  Status RebuildIndex(const IndexKey& key);
  // Rebuilds every dirty index (best effort). Caller holds change_mu_.
  void RebuildDirty();
  bool IsDirty(const IndexKey& key);
  std::shared_ptr<VectorIndex> FindIndex(const std::string& agent, const std::string& ns);
  StatusOr<std::shared_ptr<VectorIndex>> IndexFor(const std::string& agent, const std::string& ns,
                                                  int dim);
  // Applies `fn` to every index of `agent`.
  void ForAgentIndexes(const std::string& agent, const std::function<void(VectorIndex&)>& fn);

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  const MemoryOptions options_;
  std::atomic<bool> warming_{true};

  std::mutex change_mu_;  // serialises changes: store commit, then the index update

  std::mutex indexes_mu_;
  std::map<IndexKey, std::shared_ptr<VectorIndex>> indexes_;  // GUARDED_BY(indexes_mu_)
  std::set<IndexKey> dirty_;  // indexes missing a record; GUARDED_BY(indexes_mu_)
};

// Returns the embedding as little-endian float32 bytes, and back.
std::string EncodeEmbedding(const std::vector<float>& v);
std::vector<float> DecodeEmbedding(const std::string& bytes);

// Returns an FTS5 query that ORs the words of `text`, each quoted; "" when it has none.
std::string FullTextQuery(const std::string& text);

}  // namespace firebreak
