// Post-mortems as stored: one document per incident (its fields as JSON, its state and
// version), its corrective and preventive actions, and what the chase of both has sent. The
// domain (src/postmortem/) gives the JSON its meaning; this is storage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

struct PostmortemRecord {
  int64_t incident_id = 0;
  std::string state;                  // draft | in_review | published
  int64_t version = 0;                // 1 when generated, +1 on every change
  std::string doc_json = "{}";        // what people write (postmortem/document.h)
  std::string generated_json = "{}";  // measured impact and the generated timeline
  std::string created_by;
  TimeMs created_at = 0;
  std::string updated_by;
  TimeMs updated_at = 0;
  std::optional<TimeMs> published_at;
};

// A corrective or preventive action of a post-mortem, tracked until done or dropped.
struct ActionRecord {
  int64_t id = 0;
  int64_t incident_id = 0;
  std::string kind;  // corrective | preventive
  std::string description;
  std::string owner;  // "" : nobody yet (the lint blocks publishing)
  std::optional<TimeMs> due_at;
  std::string priority;          // P1 | P2 | P3
  std::string status = "open";   // open | done | dropped
  std::string drop_reason;
  std::optional<int64_t> reminded_week;  // weeks since due_at of the last reminder queued
  std::string updated_by;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
  std::optional<TimeMs> finished_at;  // when it was done or dropped
};

struct ActionQuery {
  std::optional<int64_t> incident_id;
  std::string owner;                    // empty: any
  std::string status;                   // empty: any
  std::optional<TimeMs> overdue_at;     // set: only open actions due before this time
  int64_t after_id = 0;                 // cursor: only ids above this
  int limit = 100;
};

// An incident that owes its post-mortem: resolved (or closed), none published yet.
struct OwedPostmortem {
  int64_t incident_id = 0;
  TimeMs resolved_at = 0;
  std::string state;  // of its post-mortem; "" : none generated
  std::optional<TimeMs> soon_reminded_for;    // resolved_at of the 12-hour reminder sent
  std::optional<TimeMs> overdue_flagged_for;  // resolved_at of the overdue flag set
};

class PostmortemRepo {
 public:
  virtual ~PostmortemRepo() = default;
  virtual StatusOr<std::optional<PostmortemRecord>> Get(int64_t incident_id) = 0;
  // Inserts or replaces the post-mortem of r.incident_id.
  virtual Status Put(const PostmortemRecord& r) = 0;

  // The actions of one incident's post-mortem, by id.
  virtual StatusOr<std::vector<ActionRecord>> Actions(int64_t incident_id) = 0;
  virtual StatusOr<ActionRecord> GetAction(int64_t id) = 0;
  // Stores a new action and returns its id.
  virtual StatusOr<int64_t> InsertAction(const ActionRecord& a) = 0;
  // Overwrites the stored action with a.id; kNotFound when there is none.
  virtual Status UpdateAction(const ActionRecord& a) = 0;
  // Returns the actions matching q, by id.
  virtual StatusOr<std::vector<ActionRecord>> ListActions(const ActionQuery& q) = 0;
  // Returns up to `limit` open actions due before `now` whose reminder for the current week
  // since their due date (floor((now - due_at) / week_ms)) has not been queued, by id.
  virtual StatusOr<std::vector<ActionRecord>> ActionsToRemind(TimeMs now, int64_t week_ms,
                                                              int limit) = 0;

  // Returns up to `limit` incidents resolved at or before `resolved_by` that owe their
  // post-mortem, by id above `after_id`.
  virtual StatusOr<std::vector<OwedPostmortem>> Owed(TimeMs resolved_by, int64_t after_id,
                                                     int limit) = 0;
  // Returns how many incidents resolved at or before `resolved_by` owe their post-mortem.
  virtual StatusOr<int64_t> CountOwed(TimeMs resolved_by) = 0;
  // Returns up to `limit` owing incidents with a chase not yet sent for their resolution: the
  // reminder (resolved at or before `soon_by`) or the overdue flag (at or before `overdue_by`).
  virtual StatusOr<std::vector<OwedPostmortem>> Unchased(TimeMs soon_by, TimeMs overdue_by,
                                                         int limit) = 0;
  // Records what the chase sent for an incident (the two *_for fields of `o`).
  virtual Status PutChase(const OwedPostmortem& o) = 0;
};

}  // namespace firebreak
