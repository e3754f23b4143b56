// Incidents as stored: the record and the operations on it inside a transaction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

// One incident as stored. Severity 0 means unclassified; the domain gives meaning to the rest.
struct IncidentRecord {
  int64_t id = 0;  // shown as INC-<id>
  std::string title;
  std::string agent;
  int severity = 0;
  std::string state;
  TimeMs detected_at = 0;
  std::optional<TimeMs> classified_at;
  std::string classified_by;
  std::string classification_reason;
  std::optional<TimeMs> acked_at;
  std::string acked_by;
  std::string commander;
  std::optional<TimeMs> resolved_at;
  std::optional<TimeMs> closed_at;
  std::optional<TimeMs> contained_at;           // the last step of the isolation playbook
  std::optional<int64_t> time_to_contain_ms;    // contained_at - detected_at
  std::string signals_json = "[]";  // JSON array
  std::string links_json = "[]";    // JSON array
  std::string created_by;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
};

struct IncidentQuery {
  std::vector<std::string> states;  // empty: any
  std::string agent;                // empty: any
  int64_t before_id = 0;            // cursor: only ids below this; 0: from the newest
  int limit = 100;
};

class IncidentRepo {
 public:
  virtual ~IncidentRepo() = default;
  // Inserts a new incident and returns its id.
  virtual StatusOr<int64_t> Insert(const IncidentRecord& r) = 0;
  // Overwrites the stored incident with r.id; kNotFound when there is none.
  virtual Status Update(const IncidentRecord& r) = 0;
  virtual StatusOr<IncidentRecord> Get(int64_t id) = 0;
  // Returns the incidents matching q, newest first.
  virtual StatusOr<std::vector<IncidentRecord>> List(const IncidentQuery& q) = 0;
  // Returns the time to contain of every contained incident, in milliseconds (any order).
  virtual StatusOr<std::vector<int64_t>> TimesToContain() = 0;
};

}  // namespace firebreak
