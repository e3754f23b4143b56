// PostmortemService: the post-mortem of an incident, from the generated draft to the published
// document and the follow-ups chased to done.
//
// Generate measures the impact (affected users from the traces, duration, time to classify and
// to contain, pages sent, detection delay) and turns the incident's events into the
// minute-by-minute timeline; people then edit the document with a version number (a stale edit
// is kConflict, nothing written), add notes to the timeline (generated lines never change) and
// move it draft -> in review -> published, which needs no blocking lint finding
// (postmortem/lint.h). The post-mortem is due 48 hours after the incident is resolved: Chase()
// reminds through the pager's outbox 12 hours before and once overdue (flagging it on the
// incident's timeline), and reminds each open action's owner once a week past its due date until
// it is done or dropped with a reason. Closing an incident needs a published post-mortem
// (close_requirement()). Every change is written with its timeline event in one transaction.
// Knows the store; HTTP and CLI are callers. Thread-safe (all state is in the store).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "comms/comms_service.h"
#include "incidents/incident_service.h"
#include "paging/pager.h"
#include "postmortem/document.h"
#include "postmortem/lint.h"
#include "store/store.h"

namespace firebreak {

struct PostmortemOptions {
  AffectedCount affected;          // measured affected and active users; null: not measured
  paging::Pager* pager = nullptr;  // reminders go through its outbox; null: the timeline only
  int64_t due_after_resolved_ms = 48LL * 3600 * 1000;
  int64_t remind_before_due_ms = 12LL * 3600 * 1000;
  int64_t action_reminder_every_ms = 7LL * 24 * 3600 * 1000;
  postmortem::Limits limits;
};

// A post-mortem as answered, with what the lint finds in it now.
struct ReviewedPostmortem {
  postmortem::Postmortem pm;
  std::vector<postmortem::LintFinding> findings;
  bool blocking = false;
};

// An edit as PUT carries it: the whole document, and the actions when they change.
struct PostmortemEdit {
  int64_t version = 0;  // the version the edit was made from
  postmortem::Document doc;
  std::optional<std::vector<postmortem::Action>> actions;  // nullopt: unchanged
};

// A post-mortem owed past its due time.
struct OverduePostmortem {
  int64_t incident_id = 0;
  std::string title;
  TimeMs resolved_at = 0;
  TimeMs due_at = 0;
  std::string state;  // of the post-mortem; "" : none generated
};

class PostmortemService {
 public:
  PostmortemService(Store& store, const EventLog& log, const Clock& clock, PostmortemOptions options);

  // Makes the draft of an incident's post-mortem (`created` true), or measures the impact and
  // generates the timeline again for one not yet published (people's text and notes stay).
  // kNotFound for an unknown incident; kConflict once published.
  StatusOr<ReviewedPostmortem> Generate(const std::string& actor, int64_t incident_id,
                                        bool* created = nullptr);
  // kNotFound when the incident or its post-mortem does not exist.
  StatusOr<ReviewedPostmortem> Get(int64_t incident_id);
  // Replaces the document (and the actions when given) if `edit.version` is the current one:
  // kConflict for a stale version or a published post-mortem, an action left out (actions
  // leave by done or drop) or a status changed here; kInvalidArgument/kTooLarge for bad fields.
  StatusOr<ReviewedPostmortem> Update(const std::string& actor, int64_t incident_id,
                                      const PostmortemEdit& edit);
  // Moves the post-mortem along draft <-> in review -> published. Publishing with a blocking
  // finding is kConflict naming them (and `refusal` gets them).
  StatusOr<ReviewedPostmortem> Move(const std::string& actor, int64_t incident_id,
                                    postmortem::State to,
                                    std::vector<postmortem::LintFinding>* refusal = nullptr);

  // Marks an open action done, or dropped for `reason` (required). kConflict when it is not open.
  StatusOr<ActionRecord> FinishAction(const std::string& actor, int64_t action_id, bool done,
                                      const std::string& reason);
  // The actions matching `query` (its limit 1..1000), by id.
  StatusOr<std::vector<ActionRecord>> Actions(const ActionQuery& query);

  // The post-mortems past their due time, by incident id above `after_id`; limit 1..1000.
  StatusOr<std::vector<OverduePostmortem>> Overdue(int64_t after_id, int limit);
  // How many post-mortems are past their due time (for /metrics).
  StatusOr<int64_t> OverdueCount();

  // One pass of the chase: the 12-hour reminder, the overdue reminder and flag (each once per
  // resolution), and the weekly reminder of each open action past its due date. Takes the
  // writer only when something is owed. Returns how many reminders it queued.
  StatusOr<int> Chase();

  // The close gate: an incident closes only with its post-mortem published. Borrowed by
  // IncidentService::AddCloseRequirement; lives as long as this service.
  const CloseRequirement& close_requirement() const { return requirement_; }

 private:
  class PublishedRequirement final : public CloseRequirement {
   public:
    Status Check(Txn& txn, const IncidentRecord& incident,
                 std::vector<std::string>& missing) const override;
  };

  StatusOr<ReviewedPostmortem> Review(Txn& txn, const IncidentRecord& inc,
                                      const PostmortemRecord& rec);
  Status ApplyActions(Txn& txn, const std::string& actor, int64_t incident_id,
                      const std::vector<postmortem::Action>& edited, TimeMs now);
  StatusOr<int> ChaseDue(Txn& txn, TimeMs now);
  StatusOr<int> ChaseActions(Txn& txn, TimeMs now);

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  PostmortemOptions options_;
  PublishedRequirement requirement_;
};

}  // namespace firebreak
