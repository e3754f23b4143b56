// EventLog: the append-only, hash-chained record of everything that happens.
//
// Timeline events of incidents and audit events of privileged actions are the same thing: one
// chain in the store, each event carrying the hash of the one before it. Every component that
// changes state appends through Append(), inside the same write transaction as the change, so a
// change and its event commit together or not at all. Verify() recomputes the chain and names
// the first event that does not match. Anchor() signs the chain's head (seq, hash, time) with a
// key kept outside the store, so Verify() also catches a removed tail or a chain recomputed
// from scratch (docs/audit.md).
#pragma once

#include <mutex>
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
  std::optional<AnchorRecord> last_anchor;  // the newest correctly signed anchor, if any
  bool anchors_checked = false;             // false: no anchor key, only the chain was checked
};

// Where anchors are signed and kept: `key` (secret bytes, never in the store) and `file`, a
// copy of the newest anchor beside the store ("" for none).
struct AnchorOptions {
  std::string key;
  std::string file;
};

// Returns the hash of an event from its prev_hash and content (everything but `hash`).
std::string EventHash(const EventRecord& e);

class EventLog {
 public:
  explicit EventLog(const Clock& clock) : clock_(clock) {}

  // Appends an event inside the caller's write transaction and returns it as stored.
  StatusOr<EventRecord> Append(Txn& txn, const NewEvent& event) const;

  // Sets the anchor key and file (wiring, before use). Without a key, Anchor() is
  // kFailedPrecondition and Verify() checks the chain only.
  void SetAnchoring(AnchorOptions options) { anchoring_ = std::move(options); }

  // Signs the chain's current head and stores the anchor (and its copy in the anchor file).
  // Returns it, or nullopt when the log is empty or its head is anchored already. Thread-safe.
  StatusOr<std::optional<AnchorRecord>> Anchor(Store& store) const;

  // Walks the whole chain in order, recomputing every hash; with an anchor key, also checks
  // every anchor's signature and that the chain still holds each anchored event unchanged.
  // Thread-safe.
  StatusOr<ChainReport> Verify(Store& store) const;

 private:
  // Returns the anchors in the store and the anchor file's copy.
  StatusOr<std::vector<AnchorRecord>> ReadAnchors(Store& store) const;
  // Adds the checks of `anchors` to a report of a walked chain. They were read before the walk
  // began, so a chain that grew (and was anchored again) during the walk is no reason to fail.
  Status CheckAnchors(Store& store, const std::vector<AnchorRecord>& anchors,
                      ChainReport& report) const;

  const Clock& clock_;
  AnchorOptions anchoring_;
  mutable std::mutex anchor_mu_;  // one anchor written at a time, so the file keeps the newest
};

// Returns the MAC of an anchor under `key` (HMAC-SHA256, hex; docs/audit.md).
std::string AnchorMac(const std::string& key, const AnchorRecord& a);

// The prev_hash of the first event.
inline constexpr char kGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

}  // namespace firebreak
