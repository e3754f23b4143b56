// IncidentService: declare, classify, acknowledge, move and annotate incidents.
//
// Every change is validated by the state machine (state.h), written with its timeline event in
// one store transaction (EventLog), and stamped by the injected Clock. Knows the store
// interface only; HTTP and CLI are callers. Thread-safe (all state is in the store).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "incidents/severity.h"
#include "incidents/state.h"
#include "store/store.h"

namespace firebreak {

struct DeclareRequest {
  std::string title;
  std::string agent;
  std::optional<Severity> severity;  // classify at once when given (then `reason` is required)
  std::string reason;
  std::string commander;
  std::optional<TimeMs> detected_at;  // when a detector saw it; default: now (never later)
  std::string signals_json = "[]";    // ids of the signals that opened it
};

// Told of every change to an incident inside the write transaction that makes it, so what it
// does (paging, notifications) commits or rolls back together with the change. `before` has
// id 0 for a new incident. An error rolls the change back.
class IncidentObserver {
 public:
  virtual ~IncidentObserver() = default;
  virtual Status OnIncidentChanged(Txn& txn, const IncidentRecord& before,
                                   const IncidentRecord& after, const std::string& actor) = 0;
};

// What an incident must have before it may close: each part of the runbook that gates the
// close (a passing regression case, a published post-mortem) is one requirement.
class CloseRequirement {
 public:
  virtual ~CloseRequirement() = default;
  // Appends to `missing` one sentence per thing `incident` still lacks (nothing when it is
  // met). Runs inside the close's write transaction; an error refuses the close.
  virtual Status Check(Txn& txn, const IncidentRecord& incident,
                       std::vector<std::string>& missing) const = 0;
};

// Returns "INC-42" for 42.
std::string IncidentName(int64_t id);

// Parses "INC-42", "inc-42" or "42"; returns nullopt for anything else.
std::optional<int64_t> ParseIncidentId(std::string_view text);

class IncidentService {
 public:
  IncidentService(Store& store, const EventLog& log, const Clock& clock)
      : store_(store), log_(log), clock_(clock) {}

  // Sets the one observer (wiring, before serving); nullptr: none.
  void SetObserver(IncidentObserver* observer) { observer_ = observer; }
  // Adds a requirement every close must meet (wiring, before serving). Borrowed.
  void AddCloseRequirement(const CloseRequirement* requirement) {
    close_requirements_.push_back(requirement);
  }

  // Creates an incident in state `detected` (or `triaged` when a severity is given).
  StatusOr<IncidentRecord> Declare(const std::string& actor, const DeclareRequest& req);
  // The same inside the caller's write transaction.
  StatusOr<IncidentRecord> DeclareIn(Txn& txn, const std::string& actor, const DeclareRequest& req);

  StatusOr<IncidentRecord> Get(int64_t id);
  StatusOr<std::vector<IncidentRecord>> List(const IncidentQuery& query);

  // Sets the severity with a stated reason. The first classification moves `detected` to
  // `triaged` and fixes classified_at (the time to classify); later ones reclassify.
  StatusOr<IncidentRecord> Classify(const std::string& actor, int64_t id, Severity severity,
                                    const std::string& reason);
  // The same inside the caller's write transaction.
  StatusOr<IncidentRecord> ClassifyIn(Txn& txn, const std::string& actor, int64_t id,
                                      Severity severity, const std::string& reason);

  // Records that a responder took the incident; the first to acknowledge becomes commander
  // unless one is set. kConflict when already acknowledged or no longer open.
  StatusOr<IncidentRecord> Acknowledge(const std::string& actor, int64_t id);

  // Moves the incident to `to` when the state machine allows it. `closed` goes through Close.
  StatusOr<IncidentRecord> Transition(const std::string& actor, int64_t id, IncidentState to,
                                      const std::string& reason);

  // Records that the isolation playbook contained the incident at `contained_at` (its last
  // step): moves it to `isolated` when the state machine allows it, and fixes contained_at and
  // the time to contain (contained_at - detected_at) the first time. Only the isolation
  // playbook calls this; a person cannot set `isolated` by hand. `details` go on the event.
  StatusOr<IncidentRecord> MarkIsolated(const std::string& actor, int64_t id, TimeMs contained_at,
                                        const nlohmann::json& details);

  // Closes a resolved incident once every close requirement is met; otherwise kConflict naming
  // everything still missing, and nothing changes. Closed is final.
  StatusOr<IncidentRecord> Close(const std::string& actor, int64_t id, const std::string& reason);

  // Appends a note to the timeline.
  StatusOr<EventRecord> AddNote(const std::string& actor, int64_t id, const std::string& text);

  // Returns the incident's timeline, oldest first.
  StatusOr<std::vector<EventRecord>> Timeline(int64_t id);

 private:
  using Change = std::function<Status(Txn&, IncidentRecord&)>;
  // Runs `change` on the stored incident inside one write transaction and stores the result.
  StatusOr<IncidentRecord> Mutate(int64_t id, const std::string& actor, const Change& change);
  // The same inside the caller's transaction; tells the observer.
  StatusOr<IncidentRecord> MutateIn(Txn& txn, int64_t id, const std::string& actor,
                                    const Change& change);

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  IncidentObserver* observer_ = nullptr;
  std::vector<const CloseRequirement*> close_requirements_;
};

}  // namespace firebreak
