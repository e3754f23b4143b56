// The inspection queue: traces committed but not yet inspected by the detectors. A row is
// written in the transaction that stores the trace and deleted once the detectors have
// inspected it, so a trace is inspected even when the process dies in between.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

struct InspectionItem {
  std::string trace_id;
  bool first_time = true;  // the trace was new (counts once in the quality windows)
  int attempts = 0;        // failed inspections so far
  TimeMs next_at = 0;      // due for (another) inspection at
  std::string last_error;
  TimeMs enqueued_at = 0;
};

class InspectionRepo {
 public:
  virtual ~InspectionRepo() = default;
  // Queues a trace for inspection, due `now`; a trace already queued keeps its row (and is
  // first_time if either was).
  virtual Status Enqueue(const std::string& trace_id, bool first_time, TimeMs now) = 0;
  // Returns up to `limit` items due at or before `due_by`, oldest due first.
  virtual StatusOr<std::vector<InspectionItem>> Due(TimeMs due_by, int limit) = 0;
  // Records a failed inspection: attempts, next_at and last_error of the row.
  virtual Status Retry(const InspectionItem& item) = 0;
  // Deletes the row of an inspected trace when it was not re-queued since `enqueued_at`.
  virtual Status Done(const std::string& trace_id, TimeMs enqueued_at) = 0;
  // Returns how many traces wait.
  virtual StatusOr<int64_t> Count() = 0;
};

}  // namespace firebreak
