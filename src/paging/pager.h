// Pager: turns incident classifications into pages at the right hour, and delivers them
// through the durable outbox.
//
// It observes incidents (incidents/incident_service.h) inside their write transactions:
//  - SEV-1/SEV-2 get a page timer due now; when it fires, escalation step 0 is paged and an
//    escalation timer waits for the acknowledgement; each unacknowledged timeout pages the
//    next step, and the chain repeats `repeat` times.
//  - SEV-3 gets a page timer due at the next business window (calendar.h): never dropped.
//  - SEV-4 pages nobody: a backlog item due in 7 days (severity.h) with a reminder before.
//  - An acknowledgement stops the escalation and acknowledges PagerDuty; resolving or closing
//    cancels every timer and resolves PagerDuty.
// Timers and deliveries are rows in the store (store/paging.h), claimed by conditional
// updates, so a restart loses none and two servers on one store never both fire one.
// Deliveries are sent outside any transaction by Tick(), each on its own thread: 2xx delivered, 429/5xx/timeouts
// retried with exponential backoff, other 4xx failed for good; each outcome that matters goes
// on the incident's timeline. Thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "incidents/incident_service.h"
#include "paging/calendar.h"
#include "paging/payloads.h"
#include "paging/sender.h"
#include "store/store.h"

namespace firebreak::paging {

struct Target {
  std::string name;
  std::string type;         // pagerduty, slack or webhook
  std::string url;          // pagerduty: the Events API v2 enqueue URL
  std::string routing_key;  // pagerduty
  std::string secret;       // webhook: the HMAC key
  int timeout_ms = 10'000;
};

struct PagingPolicy {
  std::map<std::string, Target> targets;             // by name
  std::vector<std::vector<std::string>> escalation;  // step -> target names; step 0 pages first
  int ack_timeout_minutes = 15;                      // before the next step is paged
  int repeat = 1;                                    // extra rounds through the steps
  BusinessHoursConfig business_hours;
  std::vector<std::string> business_hours_targets;   // SEV-3; empty: escalation step 0
  std::vector<std::string> backlog_targets;          // SEV-4 reminders; empty: none
  int backlog_reminder_hours = 24;                   // reminder this long before the due date
  std::string incident_url;                          // "https://fb.example/incidents/{id}"; may be empty
  int64_t retry_base_ms = 2'000;
  int64_t retry_max_ms = 15 * 60'000;
  int64_t lease_ms = 60'000;                         // a sender's hold on a delivery
  // [comms] notify_target: the webhook target that receives one notice per affected user;
  // empty: user notices are refused.
  std::string user_notice_target;
  // [comms] internal_targets: where internal updates are also posted (a Slack-compatible
  // channel, say); empty: the timeline and GET /api/v1/stream only.
  std::vector<std::string> internal_update_targets;
};

// What queuing user notices did.
struct NoticeResult {
  int64_t queued = 0;          // new deliveries
  int64_t already_queued = 0;  // users who had this update's notice queued before
};

// Checks a policy: every target named exists and has what its type needs, valid calendar.
// kInvalidArgument names the field.
Status CheckPolicy(const PagingPolicy& policy);

struct TickResult {
  int timers_fired = 0;
  int delivered = 0;
  int retried = 0;
  int failed = 0;
};

class Pager final : public IncidentObserver {
 public:
  // `policy` must have passed CheckPolicy.
  Pager(Store& store, const EventLog& log, const Clock& clock, PagingPolicy policy,
        HttpSender& sender);
  ~Pager() override;

  Status OnIncidentChanged(Txn& txn, const IncidentRecord& before, const IncidentRecord& after,
                           const std::string& actor) override;

  // A responder pages now, at any hour: the named targets, or escalation step 0.
  // kNotFound for an unknown incident or target; kConflict when it is resolved or closed.
  StatusOr<std::vector<DeliveryRecord>> PageNow(const std::string& actor, int64_t incident_id,
                                                const std::vector<std::string>& targets,
                                                const std::string& message);

  // Queues a reminder about `inc` inside `txn` to escalation step 0 (the on-call), once per
  // `key`: a late update its comms owner owes, for example. Returns the deliveries queued.
  StatusOr<std::vector<DeliveryRecord>> Remind(Txn& txn, const IncidentRecord& inc,
                                               const std::string& key, const std::string& headline);

  // Queues, inside `txn`, one signed webhook delivery to policy().user_notice_target per user:
  // {event "incident.user_notice", incident, user_id, message, update}. The dedup key is
  // (incident, update, user), so no user gets one update twice, whatever the calls and
  // restarts. kConflict when no notice target is configured. Call Wake() after the commit.
  StatusOr<NoticeResult> QueueUserNotices(Txn& txn, const IncidentRecord& inc, int64_t update_id,
                                          const std::string& message,
                                          const std::vector<std::string>& user_ids);

  // Queues an internal update about `inc` inside `txn` to policy().internal_update_targets,
  // once per `key`. Returns the deliveries queued (none without targets).
  StatusOr<std::vector<DeliveryRecord>> Announce(Txn& txn, const IncidentRecord& inc,
                                                 const std::string& key, const std::string& headline);

  // One pass: fires the timers due now, then sends the deliveries due now.
  StatusOr<TickResult> Tick();

  // Runs Tick in a background thread: when woken, when a timer or retry falls due, and at
  // least every `poll_ms` (other servers on the same store may have queued work).
  void Start(int64_t poll_ms = 1000);
  void Stop();
  // Tells the background thread there is new work.
  void Wake();

  StatusOr<std::vector<DeliveryRecord>> Deliveries(const DeliveryQuery& query);
  StatusOr<std::vector<TimerRecord>> Timers(int64_t incident_id);
  // Deliveries per status, for /metrics: a growing `pending` means paging itself is failing.
  StatusOr<std::map<std::string, int64_t>> DeliveryCounts();

  const PagingPolicy& policy() const { return policy_; }

 private:
  Status Plan(Txn& txn, const IncidentRecord& inc);
  Status FireTimer(Txn& txn, const TimerRecord& t);
  // Queues one delivery per target; returns the ones queued (known dedup keys are skipped).
  StatusOr<std::vector<DeliveryRecord>> Queue(Txn& txn, const IncidentRecord& inc,
                                              const std::vector<std::string>& targets,
                                              const std::string& action, const std::string& key,
                                              const std::string& headline);
  StatusOr<PageContent> ContentOf(Txn& txn, const IncidentRecord& inc);
  HttpPost Render(const Target& target, const DeliveryRecord& d, TimeMs now) const;
  Status Send(DeliveryRecord d, TickResult& result);
  // Stores the outcome of an attempt and its timeline event (empty: none).
  Status RecordOutcome(const DeliveryRecord& d, const std::string& event);
  // Retries storing outcomes that could not be stored when they happened.
  void RecordHeldOutcomes();

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  const PagingPolicy policy_;
  BusinessCalendar calendar_;
  HttpSender& sender_;

  // Outcomes of sent deliveries not yet stored (the store failed), by delivery id: stored
  // before anything else on the next tick, and never sent again meanwhile.
  struct HeldOutcome {
    DeliveryRecord delivery;
    std::string event;
  };
  std::mutex held_mu_;
  std::map<int64_t, HeldOutcome> held_;  // GUARDED_BY(held_mu_)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

// Returns a delivery as the API shows it.
nlohmann::json DeliveryToJson(const DeliveryRecord& d);
// Returns a timer as the API shows it.
nlohmann::json TimerToJson(const TimerRecord& t);

}  // namespace firebreak::paging
