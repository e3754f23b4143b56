// Agent memory as stored: records with provenance, derivation edges, reads by traces,
// quarantines and their members, and the full-text index. The domain rules (dimension checks,
// taint closure, who may do what) live in memory/; this header only stores and finds.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

// States of a memory record. Only `active` records are ever returned by a search.
inline constexpr char kMemoryActive[] = "active";
inline constexpr char kMemoryQuarantined[] = "quarantined";
inline constexpr char kMemoryPurged[] = "purged";

// One memory record. Everything but namespace, text, embedding, metadata and derived_from is
// provenance set by the server.
struct MemoryRecord {
  int64_t id = 0;
  std::string agent;
  std::string ns;            // namespace
  std::string text;
  std::string embedding;     // little-endian float32, 4 * dim bytes; empty: none
  std::string metadata_json = "{}";
  std::vector<int64_t> derived_from;
  TimeMs written_at = 0;     // server clock
  std::string trace_id;      // the writing trace ("" when none was named)
  std::string agent_version;
  std::string written_by;    // token name
  std::string state = kMemoryActive;
  std::optional<TimeMs> purged_at;
};

// Which records a quarantine matches directly. Given filters combine with AND; record_ids are
// added to the result. Purged records never match.
struct MemoryWindow {
  std::optional<TimeMs> from;  // written_at >= from
  std::optional<TimeMs> to;    // written_at < to
  std::string version;         // "" = any
  std::vector<std::string> trace_ids;
  std::vector<int64_t> record_ids;
  std::string ns;              // "" = any namespace
};

// A read of a record by a trace, and the highest record id that existed at that moment: records
// that trace wrote later have larger ids.
struct MemoryRead {
  std::string trace_id;
  int64_t high_id = 0;
};

// Which records ScanEmbeddings returns: non-purged, with an embedding, after_id < id <= max_id,
// of `agent` and `ns` when they are set, in id order, at most `limit`.
struct EmbeddingScan {
  int64_t after_id = 0;
  int64_t max_id = INT64_MAX;
  std::string agent;  // "" = any
  std::string ns;     // "" = any
  int limit = 256;
};

struct QuarantineRecord {
  int64_t id = 0;
  std::string agent;
  TimeMs created_at = 0;
  std::string created_by;
  std::string reason;
  std::optional<int64_t> incident_id;
  std::string criteria_json = "{}";
  int64_t direct = 0;
  int64_t tainted = 0;
  std::optional<TimeMs> restored_at;
  std::string restored_by;
};

// Why a record is in a quarantine.
inline constexpr char kCauseDirect[] = "direct";
inline constexpr char kCauseDerived[] = "derived";  // derived (transitively) from a member
inline constexpr char kCauseRead[] = "read";        // written by a trace after it read a member

struct QuarantineMember {
  int64_t record_id = 0;
  std::string cause;
};

class MemoryRepo {
 public:
  virtual ~MemoryRepo() = default;

  // Returns the embedding dimension fixed for (agent, ns), or nullopt when none is yet.
  virtual StatusOr<std::optional<int>> Dimension(const std::string& agent, const std::string& ns) = 0;
  virtual Status SetDimension(const std::string& agent, const std::string& ns, int dim, TimeMs at) = 0;
  // Forgets the dimensions of every namespace of an agent (wipe).
  virtual Status ClearDimensions(const std::string& agent) = 0;

  // Inserts r with its derivation edges and returns its id (ids only grow).
  virtual StatusOr<int64_t> Insert(const MemoryRecord& r) = 0;
  // Returns the record with derived_from filled; kNotFound when there is none.
  virtual StatusOr<MemoryRecord> Get(int64_t id) = 0;
  // Returns the records with these ids that exist (any order), derived_from not filled.
  virtual StatusOr<std::vector<MemoryRecord>> GetMany(const std::vector<int64_t>& ids) = 0;
  // Returns the ids of the agent's non-purged records that `w` matches.
  virtual StatusOr<std::vector<int64_t>> Match(const std::string& agent, const MemoryWindow& w) = 0;
  // Returns the ids of the non-purged records derived directly from `source_id`.
  virtual StatusOr<std::vector<int64_t>> DerivedFrom(int64_t source_id) = 0;
  // Returns who read `record_id`.
  virtual StatusOr<std::vector<MemoryRead>> ReadsOf(int64_t record_id) = 0;
  // Returns the ids of the agent's records written by `trace_id` with id > after_id.
  virtual StatusOr<std::vector<int64_t>> WrittenByTraceAfter(const std::string& agent,
                                                              const std::string& trace_id,
                                                              int64_t after_id) = 0;
  // Returns the record ids `trace_id` has read.
  virtual StatusOr<std::vector<int64_t>> ReadByTrace(const std::string& agent,
                                                     const std::string& trace_id) = 0;
  // Records that `trace_id` read these records (the first read of each is kept).
  virtual Status RecordReads(const std::string& agent, const std::string& trace_id,
                             const std::vector<int64_t>& record_ids, TimeMs at) = 0;
  // Sets the state of these records.
  virtual Status SetState(const std::vector<int64_t>& ids, const std::string& state) = 0;
  // Deletes text, embedding and metadata of these records (the row stays as a tombstone with
  // its provenance, state `purged`) and their full-text entries. The bytes leave the files only
  // with Store::Compact(): the caller asks for it with Txn::RequestCompaction().
  virtual Status Purge(const std::vector<int64_t>& ids, TimeMs at) = 0;
  // Returns the ids of all non-purged records of an agent.
  virtual StatusOr<std::vector<int64_t>> AllLive(const std::string& agent) = 0;
  // Returns up to `limit` active records of (agent, ns) matching an FTS5 query, best first,
  // with their bm25 score (lower is better).
  virtual StatusOr<std::vector<std::pair<int64_t, double>>> TextSearch(
      const std::string& agent, const std::string& ns, const std::string& fts_query, int limit) = 0;
  // Returns the records `scan` selects (derived_from not filled).
  virtual StatusOr<std::vector<MemoryRecord>> ScanEmbeddings(const EmbeddingScan& scan) = 0;
  // Returns the highest record id (0 when there is none).
  virtual StatusOr<int64_t> MaxId() = 0;

  virtual StatusOr<int64_t> InsertQuarantine(const QuarantineRecord& q) = 0;
  virtual Status UpdateQuarantine(const QuarantineRecord& q) = 0;
  virtual StatusOr<QuarantineRecord> GetQuarantine(int64_t id) = 0;
  // Returns an agent's quarantines, newest first.
  virtual StatusOr<std::vector<QuarantineRecord>> ListQuarantines(const std::string& agent) = 0;
  virtual Status AddMembers(int64_t quarantine_id, const std::vector<QuarantineMember>& members) = 0;
  virtual StatusOr<std::vector<QuarantineMember>> Members(int64_t quarantine_id) = 0;
  // Returns the ids of the not-restored quarantines that hold `record_id`.
  virtual StatusOr<std::vector<int64_t>> ActiveQuarantinesOf(int64_t record_id) = 0;
};

}  // namespace firebreak
