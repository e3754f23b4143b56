// EventLog: the append-only, hash-chained record of everything that happens.
//
// Timeline events of incidents and audit events of privileged actions are the same thing: one
// chain in the store, each event carrying the hash of the one before it. Every component that
// changes state appends through Append(), inside the same write transaction as the change, so a
// change and its event commit together or not at all. Verify() recomputes the chain and names
// the first event that does not match.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "store/store.h"

namespace firebreak {

struct NewEvent {
  std::optional<int64_t> incident_id;  // set when the event belongs on an incident's timeline
  std::string actor;                   // token name, or "rule:<name>" / "system"
  std::string kind;                    // e.g. "incident.declared", "token.created"
  nlohmann::json details = nlohmann::json::object();
  // When it happened, if the caller already stamped the change it records (so the record and
  // its event show one time); otherwise the log's clock. Never earlier than the previous event.
  std::optional<TimeMs> at = std::nullopt;
};

struct ChainReport {
  bool intact = true;
  int64_t events_checked = 0;
  std::optional<EventRecord> first_broken;  // the first event whose hash or link does not match
  std::string problem;                      // why it is broken, for people
};

// Returns the hash of an event from its prev_hash and content (everything but `hash`).
std::string EventHash(const EventRecord& e);

class EventLog {
 public:
  explicit EventLog(const Clock& clock) : clock_(clock) {}

  // Appends an event inside the caller's write transaction and returns it as stored.
  StatusOr<EventRecord> Append(Txn& txn, const NewEvent& event) const;

  // Walks the whole chain in order, recomputing every hash. Thread-safe.
  StatusOr<ChainReport> Verify(Store& store) const;

 private:
  const Clock& clock_;
};

// The prev_hash of the first event.
inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

}  // namespace firebreak
