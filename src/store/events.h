// The event log as stored: append and read, never change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

// One entry of the append-only, hash-chained event log (timeline and audit in one).
struct EventRecord {
  int64_t seq = 0;                     // 1, 2, 3, ... without gaps
  std::optional<int64_t> incident_id;  // set for timeline events
  TimeMs at = 0;
  std::string actor;
  std::string kind;
  std::string details_json = "{}";
  std::string prev_hash;
  std::string hash;
};

// A signed checkpoint of the chain's head (docs/audit.md): the event `seq` had `hash` at `at`;
// `mac` is HMAC-SHA256 over them under a key kept outside the store.
struct AnchorRecord {
  int64_t seq = 0;
  std::string hash;
  TimeMs at = 0;
  std::string mac;
};

class EventRepo {
 public:
  virtual ~EventRepo() = default;
  // Returns the newest event, or nullopt when the log is empty.
  virtual StatusOr<std::optional<EventRecord>> Last() = 0;
  // Appends r; r.seq must be the last seq + 1.
  virtual Status Append(const EventRecord& r) = 0;
  // Returns the events of one incident, oldest first.
  virtual StatusOr<std::vector<EventRecord>> ForIncident(int64_t incident_id) = 0;
  // Returns up to `limit` events with seq > after_seq, in seq order.
  virtual StatusOr<std::vector<EventRecord>> After(int64_t after_seq, int limit) = 0;
  // Returns the event with this seq, or nullopt when there is none.
  virtual StatusOr<std::optional<EventRecord>> At(int64_t seq) = 0;

  // Stores an anchor; one per seq (kAlreadyExists for a seq anchored before).
  virtual Status AppendAnchor(const AnchorRecord& a) = 0;
  // Returns up to `limit` anchors, highest seq first.
  virtual StatusOr<std::vector<AnchorRecord>> Anchors(int limit) = 0;
};

}  // namespace firebreak
