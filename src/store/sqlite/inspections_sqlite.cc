// SQLite implementation of InspectionRepo (the detectors' queue).
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {

Status SqliteInspectionRepo::Enqueue(const std::string& trace_id, bool first_time, TimeMs now) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO inspection_queue (trace_id, first_time, next_at, enqueued_at) VALUES (?,?,?,?) "
      "ON CONFLICT (trace_id) DO UPDATE SET first_time = max(first_time, excluded.first_time), "
      "next_at = min(next_at, excluded.next_at), enqueued_at = excluded.enqueued_at"));
  q->Bind(trace_id, static_cast<int64_t>(first_time ? 1 : 0), now, now);
  return q->Run();
}

StatusOr<std::vector<InspectionItem>> SqliteInspectionRepo::Due(TimeMs due_by, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT trace_id, first_time, attempts, next_at, last_error, enqueued_at FROM "
      "inspection_queue WHERE next_at <= ? ORDER BY next_at LIMIT ?"));
  q->Bind(due_by, limit);
  return CollectRows<InspectionItem>(*q, [](const Query& r) {
    return InspectionItem{r.Text(0), r.Int(1) != 0, static_cast<int>(r.Int(2)), r.Int(3),
                          r.Text(4), r.Int(5)};
  });
}

Status SqliteInspectionRepo::Retry(const InspectionItem& item) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "UPDATE inspection_queue SET attempts=?, next_at=?, last_error=? WHERE trace_id=?"));
  q->Bind(static_cast<int64_t>(item.attempts), item.next_at, item.last_error, item.trace_id);
  return q->Run();
}

Status SqliteInspectionRepo::Done(const std::string& trace_id, TimeMs enqueued_at) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "DELETE FROM inspection_queue WHERE trace_id=? AND enqueued_at <= ?"));
  q->Bind(trace_id, enqueued_at);
  return q->Run();
}

StatusOr<int64_t> SqliteInspectionRepo::Count() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT count(*) FROM inspection_queue"));
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  return row ? q->Int(0) : 0;
}

}  // namespace firebreak::sqlite
