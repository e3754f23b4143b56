// Communication records: the public notice (banner) of an incident, its structured updates by
// audience, and its comms facts (owner, confirmed root cause, the next update promised).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

// The one public notice of an incident, shown by GET /api/v1/status while it exists.
struct NoticeRecord {
  int64_t incident_id = 0;
  std::string status;  // investigating | identified | monitoring | resolved
  std::string message;
  std::optional<TimeMs> eta;
  std::optional<TimeMs> next_update_at;  // at least one of eta and next_update_at
  std::string lint_json = "[]";          // findings of the lint when it was set
  std::string override_reason;           // why a blocking finding was overridden
  std::string updated_by;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
};

// A structured update, for one audience: internal | affected | public.
struct UpdateRecord {
  int64_t id = 0;
  int64_t incident_id = 0;
  std::string audience;
  std::string impact;
  std::string actions;
  std::string user_action;
  std::optional<TimeMs> eta;
  std::optional<TimeMs> next_update_at;
  std::string lint_json = "[]";
  std::string override_reason;
  std::string created_by;
  TimeMs created_at = 0;
};

// What communication knows of an incident.
struct CommsRecord {
  int64_t incident_id = 0;
  std::string owner;                         // the comms owner; empty: the acknowledger
  std::string root_cause;                    // as confirmed by a person
  std::optional<TimeMs> root_cause_confirmed_at;
  std::optional<TimeMs> next_update_at;      // the latest promise of a next update
  std::optional<TimeMs> reminded_for;        // the promise whose lateness was chased already
  TimeMs updated_at = 0;
};

class CommsRepo {
 public:
  virtual ~CommsRepo() = default;
  virtual StatusOr<std::optional<NoticeRecord>> GetNotice(int64_t incident_id) = 0;
  // Inserts or replaces the notice of n.incident_id.
  virtual Status PutNotice(const NoticeRecord& n) = 0;
  // Returns whether there was a notice to delete.
  virtual StatusOr<bool> DeleteNotice(int64_t incident_id) = 0;
  // Every notice, newest change first.
  virtual StatusOr<std::vector<NoticeRecord>> Notices() = 0;

  // Stores an update and returns its id.
  virtual StatusOr<int64_t> AddUpdate(const UpdateRecord& u) = 0;
  // The incident's updates, oldest first; `audience` empty: all.
  virtual StatusOr<std::vector<UpdateRecord>> Updates(int64_t incident_id,
                                                      const std::string& audience) = 0;
  virtual StatusOr<std::optional<UpdateRecord>> GetUpdate(int64_t id) = 0;

  virtual StatusOr<std::optional<CommsRecord>> GetComms(int64_t incident_id) = 0;
  virtual Status PutComms(const CommsRecord& c) = 0;
  // Incidents whose promised next update is before `now` and not chased yet.
  virtual StatusOr<std::vector<CommsRecord>> Overdue(TimeMs now, int limit) = 0;
  // How many traces were flagged with the incident (its evidence).
  virtual StatusOr<int64_t> EvidenceCount(int64_t incident_id) = 0;
};

}  // namespace firebreak
