// UserNotifier: tells each user an incident affected about one update, once. The users are
// derived from traces (traces::AffectedScopeOf: traces flagged with the incident or in its
// window); each gets a signed webhook delivery through the pager's durable outbox, keyed by
// (incident, update, user) so that no call, retry or restart sends a user the same update twice.
#pragma once

#include <cstdint>
#include <string>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "paging/pager.h"
#include "store/store.h"

namespace firebreak::notify {

// The longest message a notice may carry, in bytes.
inline constexpr size_t kMaxNoticeBytes = 4096;

struct NotifyRequest {
  int64_t incident_id = 0;
  int64_t update_id = 0;  // the incident update the notice belongs to; > 0
  std::string message;
};

class UserNotifier {
 public:
  // Holds references; all must outlive it.
  UserNotifier(Store& store, const EventLog& log, paging::Pager& pager, const Clock& clock)
      : store_(store), log_(log), pager_(pager), clock_(clock) {}

  // Queues one notice per affected user and appends a "comms.notify" event to the incident's
  // timeline, in one transaction; wakes the pager. kInvalidArgument for an empty message, one
  // that is not UTF-8 or an update id < 1; kTooLarge past kMaxNoticeBytes; kNotFound for an
  // unknown incident; kConflict when no notice target is configured. Nothing is written on
  // an error. Thread-safe.
  StatusOr<paging::NoticeResult> Notify(const std::string& actor, const NotifyRequest& req);
  // The checks of `req` that need no store (message, update id, a configured target): what
  // Notify refuses before it writes.
  Status Check(const NotifyRequest& req) const;

 private:
  Store& store_;
  const EventLog& log_;
  paging::Pager& pager_;
  const Clock& clock_;
};

}  // namespace firebreak::notify
