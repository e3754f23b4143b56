// MemoryService: agents' long-term memory with provenance the agent cannot forge, and the
// isolation tools for it (quarantine with taint closure, restore, purge, wipe).
//
// Records live in the store (memory_records and friends, store/memory.h); vectors are also held
// in one in-memory HNSW index per (agent, namespace), rebuilt from the store at start. The store
// is the source of truth: every search re-checks candidates against it, so a record that a
// quarantine, purge or wipe took out is never returned by a search that starts after the call
// answered. Provenance (write time from the Clock, writer, trace id and agent version of the
// request, checked derived_from ids) is set here, never taken from the record body.
// Quarantine, restore, purge and wipe are audited through EventLog in the same transaction.
// Thread-safe: changes are serialised by one mutex (store commit, then index update); searches
// run concurrently.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
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

// A record as shown: with who holds it and who read it.
struct MemoryRecordView {
  MemoryRecord record;
  std::vector<int64_t> quarantines;  // not-restored quarantines holding it
};

class MemoryService {
 public:
  // Returns the service with its indexes rebuilt from `store`. All references must outlive it.
  static StatusOr<std::unique_ptr<MemoryService>> Create(Store& store, const EventLog& log,
                                                         const Clock& clock,
                                                         VectorIndexOptions index_options = {});

  // Writes records for `agent` in one transaction (all or nothing) and returns them as stored.
  // kInvalidArgument for a wrong embedding dimension, an unknown, foreign or purged
  // derived_from id, or bad fields. A record derived from a quarantined record, or written by a
  // trace that read one, joins that quarantine at once (state "quarantined").
  StatusOr<std::vector<MemoryRecord>> Write(const std::string& actor, const std::string& agent,
                                            const std::vector<MemoryWrite>& records);

  // Returns the best `k` active records by vector similarity and/or full text.
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
  // the ids purged. kNotFound for an unknown quarantine or record id.
  StatusOr<std::vector<int64_t>> Purge(const std::string& actor, const std::string& agent,
                                       const PurgeRequest& req);

  // Purges every record of `agent` and forgets its namespaces' dimensions. kInvalidArgument
  // unless confirm == agent. Returns the number of records purged.
  StatusOr<int64_t> Wipe(const std::string& actor, const std::string& agent,
                         const std::string& confirm, const std::string& reason);

  StatusOr<MemoryRecordView> Get(const std::string& agent, int64_t id);
  StatusOr<std::vector<QuarantineRecord>> ListQuarantines(const std::string& agent);
  StatusOr<QuarantineResult> GetQuarantine(const std::string& agent, int64_t id);

 private:
  using IndexKey = std::pair<std::string, std::string>;  // (agent, namespace)

  MemoryService(Store& store, const EventLog& log, const Clock& clock, VectorIndexOptions options)
      : store_(store), log_(log), clock_(clock), index_options_(options) {}

  Status Rebuild();
  std::shared_ptr<VectorIndex> FindIndex(const std::string& agent, const std::string& ns);
  StatusOr<std::shared_ptr<VectorIndex>> IndexFor(const std::string& agent, const std::string& ns,
                                                  int dim);
  // Applies `fn` to every index of `agent`.
  void ForAgentIndexes(const std::string& agent, const std::function<void(VectorIndex&)>& fn);

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  const VectorIndexOptions index_options_;

  std::mutex change_mu_;  // serialises changes: store commit, then the index update

  std::mutex indexes_mu_;
  std::map<IndexKey, std::shared_ptr<VectorIndex>> indexes_;  // GUARDED_BY(indexes_mu_)
};

// Returns the embedding as little-endian float32 bytes, and back.
std::string EncodeEmbedding(const std::vector<float>& v);
std::vector<float> DecodeEmbedding(const std::string& bytes);

// Returns an FTS5 query that ORs the words of `text`, each quoted; "" when it has none.
std::string FullTextQuery(const std::string& text);

}  // namespace firebreak
