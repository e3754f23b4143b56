// CommsService: telling people the truth on time. An incident's public notice (the banner
// products poll, GET /api/v1/status), its structured updates for one audience each (internal,
// affected users, public) that never leak into another, what communication knows of it (comms
// owner, confirmed root cause) and the chase of a promised update that is late.
//
// Every banner and update passes the message lint first (comms/lint.h); a blocking
// finding refuses it (kConflict, nothing written) unless a person overrides it with a reason,
// which goes on the timeline. Every change is written with its timeline event in one
// transaction. Knows the store; HTTP and CLI are callers. Thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "comms/lint.h"
#include "store/store.h"

namespace firebreak {

using comms::FindingsJson;
using comms::LintFinding;

// Measured affected users and active users of an incident, for the lint's rule on minimising
// words (the traces know them).
using AffectedCount = std::function<StatusOr<std::pair<int64_t, int64_t>>(const IncidentRecord&)>;

// What communication sends through the outbox, inside the caller's transaction (the pager
// does): a reminder to the on-call, and an internal update to the team's channels.
class ReminderSink {
 public:
  virtual ~ReminderSink() = default;
  virtual Status QueueReminder(Txn& txn, const IncidentRecord& incident, const std::string& key,
                               const std::string& headline) = 0;
  virtual Status QueueInternalUpdate(Txn& txn, const IncidentRecord& incident, const std::string& key,
                                     const std::string& text) = 0;
};

struct CommsOptions {
  comms::LintOptions lint;
  AffectedCount affected;        // null: affected users not measured
  ReminderSink* reminders = nullptr;  // null: lateness only on the timeline
  size_t max_message_bytes = 4000;
  int64_t default_next_update_ms = 30 * 60'000;  // the promise of the default banner
};

// The default banner's text: it states what is known (a problem, the feature paused) and when
// the next update comes, and nothing the lint refuses.
std::string DefaultBannerMessage(TimeMs next_update_at);

struct NoticeInput {
  std::string status = "investigating";
  std::string message;
  std::optional<TimeMs> eta;
  std::optional<TimeMs> next_update_at;
  std::string override_reason;  // overrides blocking lint findings
  std::string audience = "public";  // a notice is public: anything else is refused
};

// An update as a person asks for it: the UpdateRecord fields they write (audience, impact,
// actions, user_action, eta, next_update_at, override_reason); PostUpdate sets the rest.
using UpdateInput = UpdateRecord;

// A banner or update as stored, with what the lint found.
template <typename Record>
struct Linted {
  Record record;
  std::vector<LintFinding> findings;
};

// A notice as GET /api/v1/status shows it.
struct PublicNotice {
  NoticeRecord notice;
  int severity = 0;
  bool overdue = false;
};

// Refused because of blocking lint findings (kConflict); `findings` says which.
struct LintRefusal {
  Status status;
  std::vector<LintFinding> findings;
};

class CommsService {
 public:
  CommsService(Store& store, const EventLog& log, const Clock& clock, CommsOptions options);

  // Sets (or replaces) the incident's public notice. kNotFound, kInvalidArgument (status, times,
  // audience not public), kTooLarge (message), kConflict (closed incident; blocking lint
  // findings: `refusal` gets them).
  StatusOr<Linted<NoticeRecord>> SetNotice(const std::string& actor, int64_t incident_id,
                                           const NoticeInput& in, LintRefusal* refusal = nullptr);
  // The isolation playbook's last step: raises the default banner of `incident` (a text that
  // passes the lint, status investigating, next update in default_next_update_ms) unless one
  // is up already. `dry_run`: says what it would do and writes nothing. Returns a one-line
  // summary for the timeline.
  StatusOr<std::string> RaiseDefaultBanner(const std::string& actor, const IncidentRecord& incident,
                                           bool dry_run);
  // Takes the notice down; kNotFound when there is none.
  Status ClearNotice(const std::string& actor, int64_t incident_id);
  StatusOr<std::optional<NoticeRecord>> Notice(int64_t incident_id);
  // The notices of incidents that are not closed, newest first, each marked overdue when its
  // next update time has passed.
  StatusOr<std::vector<PublicNotice>> PublicStatus();

  // Records a structured update for one audience; same refusals as SetNotice.
  StatusOr<Linted<UpdateRecord>> PostUpdate(const std::string& actor, int64_t incident_id,
                                            const UpdateInput& in, LintRefusal* refusal = nullptr);
  // Checks a notice to the affected users before it is queued: `update_id` must be an update of
  // this incident meant for them (affected or public: an internal one is kConflict, never sent
  // to users), and `message` passes the lint for the affected audience (its ETA or next update
  // is the update's). A blocking finding is kConflict unless `override_reason` is given, which
  // goes on the timeline. Returns the findings.
  StatusOr<std::vector<LintFinding>> CheckNotification(const std::string& actor, int64_t incident_id,
                                                       int64_t update_id, const std::string& message,
                                                       const std::string& override_reason,
                                                       LintRefusal* refusal = nullptr);
  // The incident's updates, oldest first; `audience` empty: all.
  StatusOr<std::vector<UpdateRecord>> Updates(int64_t incident_id, const std::string& audience);

  // Sets the comms owner and/or the confirmed root cause (nullopt: unchanged).
  StatusOr<CommsRecord> SetFacts(const std::string& actor, int64_t incident_id,
                                 std::optional<std::string> owner,
                                 std::optional<std::string> confirmed_root_cause);
  // What communication knows of the incident (defaults when nothing was set).
  StatusOr<CommsRecord> Facts(int64_t incident_id);

  // Lints `text` for `audience` against the incident's facts, writing nothing.
  StatusOr<std::vector<LintFinding>> Lint(int64_t incident_id, const std::string& text,
                                          const std::string& audience, bool has_eta_or_next_update);

  // Chases promises that are late: for each open incident whose promised next update time
  // has passed with no update since, reminds the comms owner once through the outbox and
  // records the lateness on the timeline. Returns how many were chased.
  StatusOr<int> ChaseOverdue();

 private:
  StatusOr<std::vector<LintFinding>> LintIn(Txn& txn, const IncidentRecord& inc, const std::string& text,
                                            const std::string& audience, bool has_eta_or_next_update);
  // Checks the findings: kConflict naming the blocking ones unless overridden.
  Status Gate(const std::vector<LintFinding>& findings, const std::string& override_reason,
              LintRefusal* refusal);
  // Records the new promise of a next update (the chase starts over).
  Status Promise(Txn& txn, int64_t incident_id, std::optional<TimeMs> next_update_at, TimeMs now);

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  CommsOptions options_;
};


}  // namespace firebreak
