// ReleaseService: agent versions, the current / last-known-stable pointers, rollback, the kill
// switch, and the runtime state that agents read.
//
// Rules (docs/releases.md):
//   - an agent is created by its first registered version; versions are immutable manifests;
//   - deploy makes a version current; a pulled version needs `force`;
//   - promote marks a version stable after the PromotionGate agrees; a pulled version needs
//     `force` (which clears the mark);
//   - rollback points current back to the last known stable (or an explicit target) and marks
//     the version it replaces `pulled`; with nothing to go back to it is refused (kConflict)
//     and suggests kill;
//   - kill switches the agent off, resume switches it on.
// Every pointer change moves the agent's revision by one, is stored in its history, appends an
// audited event (on the incident's timeline when one is named) in the same write transaction,
// and is then published to the RuntimeHub. Thread-safe (all state is in the store).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "releases/runtime_hub.h"
#include "store/store.h"

namespace firebreak {

// The seam for the promotion gate: a version becomes stable only when the gate agrees
// (`serve` wires the regression battery's, regress/gates.h).
class PromotionGate {
 public:
  virtual ~PromotionGate() = default;
  // Returns OK to allow promoting `version`, or kConflict saying why not. Reads inside the
  // promotion's write transaction. Thread-safe.
  virtual Status Check(Txn& txn, const AgentVersionRecord& version) const = 0;
};

// A gate that allows every promotion.
class OpenPromotionGate final : public PromotionGate {
 public:
  Status Check(Txn&, const AgentVersionRecord&) const override { return Status::Ok(); }
};

// What accompanies a pointer change.
struct ChangeRequest {
  std::string reason;
  std::optional<int64_t> incident_id;  // the event lands on this incident's timeline
  bool force = false;                  // deploy or promote a pulled version
  // Promote past a refusing promotion gate. Only an admin may ask (the API checks the role);
  // needs a reason; the event records what the gate said.
  bool skip_gate = false;
};

// The outcome of a pointer change.
struct ChangeResult {
  RuntimeState runtime;
  bool changed = false;  // false when the request asked for what already was
  std::optional<PointerChangeRecord> change;
  std::string pulled_version;  // rollback: the version marked pulled ("" when none)
  std::string gate_skipped;    // promote with skip_gate: what the gate said ("" when not skipped)
};

// An agent with its versions and recent pointer history.
struct AgentView {
  AgentRecord agent;
  std::vector<AgentVersionRecord> versions;  // oldest first
  std::vector<PointerChangeRecord> history;  // newest first
};

class ReleaseService {
 public:
  // Borrows everything; all must outlive the service.
  ReleaseService(Store& store, const EventLog& log, const Clock& clock, RuntimeHub& hub,
                 const PromotionGate& gate)
      : store_(store), log_(log), clock_(clock), hub_(hub), gate_(gate) {}

  // Registers a version (creating the agent on its first version). kInvalidArgument naming
  // the field for a malformed manifest, kAlreadyExists when the version exists.
  StatusOr<AgentVersionRecord> Register(const std::string& actor, const std::string& agent,
                                        const std::string& version, const nlohmann::json& manifest);

  // Returns the agent, its versions and up to `history_limit` pointer changes.
  StatusOr<AgentView> Get(const std::string& agent, int history_limit = 50);

  // Returns every agent's pointers.
  StatusOr<std::vector<AgentRecord>> List();

  StatusOr<ChangeResult> Deploy(const std::string& actor, const std::string& agent,
                                const std::string& version, const ChangeRequest& req);
  StatusOr<ChangeResult> Promote(const std::string& actor, const std::string& agent,
                                 const std::string& version, const ChangeRequest& req);
  // Rolls back to `to`, or to the last known stable when `to` is empty.
  StatusOr<ChangeResult> Rollback(const std::string& actor, const std::string& agent,
                                  const std::string& to, const ChangeRequest& req);
  StatusOr<ChangeResult> Kill(const std::string& actor, const std::string& agent,
                              const ChangeRequest& req);
  StatusOr<ChangeResult> Resume(const std::string& actor, const std::string& agent,
                                const ChangeRequest& req);

  // Returns what the agent runtime should run now; kNotFound for an unknown agent.
  StatusOr<RuntimeState> Runtime(const std::string& agent);

  RuntimeHub& hub() { return hub_; }

 private:
  // Decides one pointer change on `a` (already loaded); sets change.action/from/to, or leaves
  // `changed` false for a no-op.
  using Decide = std::function<Status(Txn&, AgentRecord& a, ChangeResult& out)>;
  StatusOr<ChangeResult> Change(const std::string& actor, const std::string& agent,
                                const std::string& action, const ChangeRequest& req,
                                const Decide& decide);

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  RuntimeHub& hub_;
  const PromotionGate& gate_;
};

// Returns the runtime state of `a` as stored (reads the current version's manifest).
StatusOr<RuntimeState> LoadRuntimeState(Txn& txn, const AgentRecord& a);

}  // namespace firebreak
