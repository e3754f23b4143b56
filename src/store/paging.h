// Paging as stored: timers (a page deferred to business hours, an escalation waiting for an
// acknowledgement, a backlog reminder) and the outbox of deliveries to PagerDuty, Slack and
// webhooks. Both live in the store so a restart loses nothing, and both are claimed with a
// conditional update inside a write transaction, so two servers on one store never both fire
// a timer or both send a delivery during its lease.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

struct TimerRecord {
  int64_t id = 0;
  int64_t incident_id = 0;
  std::string kind;          // "page", "escalate", "reminder", "due"
  int step = 0;              // escalation step (or round * steps + step)
  TimeMs due_at = 0;
  std::string note;          // why it exists, for people
  TimeMs created_at = 0;
  std::optional<TimeMs> fired_at;
  std::optional<TimeMs> cancelled_at;
};

struct DeliveryRecord {
  int64_t id = 0;
  std::optional<int64_t> incident_id;
  std::string target;        // configured target name ("pagerduty-primary")
  std::string channel;       // pagerduty, slack, webhook
  std::string action;        // trigger, acknowledge, resolve, notify, reminder, user-notice
  std::string dedup_key;     // unique: the same key is never queued twice
  std::string content_json = "{}";  // what to say; rendered for the channel when sent
  std::string status = "pending";   // pending, delivered, failed
  int attempts = 0;
  TimeMs next_attempt_at = 0;
  TimeMs lease_until = 0;    // a sender holds the row until then
  int last_http_status = 0;
  std::string last_error;
  TimeMs created_at = 0;
  std::optional<TimeMs> delivered_at;
};

struct DeliveryQuery {
  std::optional<int64_t> incident_id;
  std::string status;        // empty: any
  int64_t before_id = 0;
  int limit = 100;
};

class PagingRepo {
 public:
  virtual ~PagingRepo() = default;

  virtual StatusOr<int64_t> InsertTimer(const TimerRecord& t) = 0;
  // Returns up to `limit` timers due at `now` (not fired, not cancelled), oldest due first.
  virtual StatusOr<std::vector<TimerRecord>> DueTimers(TimeMs now, int limit) = 0;
  // Marks the timer fired when it is still pending; false when someone else fired or
  // cancelled it first (the claim).
  virtual StatusOr<bool> ClaimTimer(int64_t id, TimeMs now) = 0;
  // Cancels the pending timers of an incident of the given kinds (all kinds when empty);
  // returns how many.
  virtual StatusOr<int64_t> CancelTimers(int64_t incident_id, const std::vector<std::string>& kinds,
                                         TimeMs now) = 0;
  virtual StatusOr<std::vector<TimerRecord>> TimersOf(int64_t incident_id) = 0;
  // Returns the earliest due time of a pending timer, if any.
  virtual StatusOr<std::optional<TimeMs>> NextTimerDue() = 0;

  // Queues a delivery and returns its id; nullopt (and nothing changes) when its dedup key
  // exists.
  virtual StatusOr<std::optional<int64_t>> InsertDelivery(const DeliveryRecord& d) = 0;
  virtual StatusOr<DeliveryRecord> GetDelivery(int64_t id) = 0;
  // Takes up to `limit` pending deliveries due at `now` whose lease has expired, setting
  // their lease to `lease_until`; returns them.
  virtual StatusOr<std::vector<DeliveryRecord>> ClaimDeliveries(TimeMs now, TimeMs lease_until,
                                                                int limit) = 0;
  // Stores the outcome of an attempt (status, attempts, next_attempt_at, lease, errors).
  virtual Status UpdateDelivery(const DeliveryRecord& d) = 0;
  virtual StatusOr<std::vector<DeliveryRecord>> ListDeliveries(const DeliveryQuery& q) = 0;
  // Returns the earliest next attempt of a pending delivery, if any.
  virtual StatusOr<std::optional<TimeMs>> NextDeliveryDue() = 0;
  // Returns how many deliveries are in each status (pending, delivered, failed).
  virtual StatusOr<std::map<std::string, int64_t>> CountDeliveries() = 0;
};

}  // namespace firebreak
