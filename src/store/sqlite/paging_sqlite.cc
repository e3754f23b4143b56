// SQLite implementation of PagingRepo (timers and the delivery outbox).
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kTimerColumns[] =
    "id, incident_id, kind, step, due_at, note, created_at, fired_at, cancelled_at";
constexpr char kDeliveryColumns[] =
    "id, incident_id, target, channel, action, dedup_key, content, status, attempts, "
    "next_attempt_at, lease_until, last_http_status, last_error, created_at, delivered_at";

TimerRecord ReadTimer(const Query& q) {
  TimerRecord t;
  t.id = q.Int(0);
  t.incident_id = q.Int(1);
  t.kind = q.Text(2);
  t.step = static_cast<int>(q.Int(3));
  t.due_at = q.Int(4);
  t.note = q.Text(5);
  t.created_at = q.Int(6);
  t.fired_at = q.OptInt(7);
  t.cancelled_at = q.OptInt(8);
  return t;
}

DeliveryRecord ReadDelivery(const Query& q) {
  DeliveryRecord d;
  d.id = q.Int(0);
  d.incident_id = q.OptInt(1);
  d.target = q.Text(2);
  d.channel = q.Text(3);
  d.action = q.Text(4);
  d.dedup_key = q.Text(5);
  d.content_json = q.Text(6);
  d.status = q.Text(7);
  d.attempts = static_cast<int>(q.Int(8));
  d.next_attempt_at = q.Int(9);
  d.lease_until = q.Int(10);
  d.last_http_status = static_cast<int>(q.Int(11));
  d.last_error = q.Text(12);
  d.created_at = q.Int(13);
  d.delivered_at = q.OptInt(14);
  return d;
}

StatusOr<std::optional<TimeMs>> OptionalMin(Query& q) {
  FB_ASSIGN_OR_RETURN(bool row, q.Step());
  if (!row) return std::optional<TimeMs>();
  return q.OptInt(0);
}

}  // namespace

StatusOr<int64_t> SqlitePagingRepo::InsertTimer(const TimerRecord& t) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO timers (incident_id, kind, step, due_at, note, created_at) VALUES (?,?,?,?,?,?)"));
  q->Bind(t.incident_id, t.kind, t.step, t.due_at, t.note, t.created_at);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

StatusOr<std::vector<TimerRecord>> SqlitePagingRepo::DueTimers(TimeMs now, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      std::string("SELECT ") + kTimerColumns +
      " FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= ?"
      " ORDER BY due_at, id LIMIT ?"));
  q->Bind(now, limit);
  return CollectRows<TimerRecord>(*q, ReadTimer);
}

StatusOr<bool> SqlitePagingRepo::ClaimTimer(int64_t id, TimeMs now) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "UPDATE timers SET fired_at=? WHERE id=? AND fired_at IS NULL AND cancelled_at IS NULL"));
  q->Bind(now, id);
  FB_RETURN_IF_ERROR(q->Run());
  return sqlite3_changes(conn_.raw()) == 1;
}

StatusOr<int64_t> SqlitePagingRepo::CancelTimers(int64_t incident_id,
                                                 const std::vector<std::string>& kinds,
                                                 TimeMs now) {
  std::string list = ",";
  for (const auto& k : kinds) list += k + ",";
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "UPDATE timers SET cancelled_at=?1 WHERE incident_id=?2 AND fired_at IS NULL"
      " AND cancelled_at IS NULL AND (?3 = ',' OR instr(?3, ',' || kind || ',') > 0)"));
  q->Bind(now, incident_id, list);
  FB_RETURN_IF_ERROR(q->Run());
  return static_cast<int64_t>(sqlite3_changes(conn_.raw()));
}

StatusOr<std::vector<TimerRecord>> SqlitePagingRepo::TimersOf(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kTimerColumns +
                                            " FROM timers WHERE incident_id=? ORDER BY id"));
  q->Bind(incident_id);
  return CollectRows<TimerRecord>(*q, ReadTimer);
}

StatusOr<std::optional<TimeMs>> SqlitePagingRepo::NextTimerDue() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT min(due_at) FROM timers WHERE fired_at IS NULL AND cancelled_at IS NULL"));
  return OptionalMin(*q);
}

StatusOr<std::optional<int64_t>> SqlitePagingRepo::InsertDelivery(const DeliveryRecord& d) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO deliveries (incident_id, target, channel, action, dedup_key, content, status, "
      "attempts, next_attempt_at, lease_until, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?) "
      "ON CONFLICT (dedup_key) DO NOTHING"));
  q->Bind(d.incident_id, d.target, d.channel, d.action, d.dedup_key, d.content_json, d.status,
          d.attempts, d.next_attempt_at, d.lease_until, d.created_at);
  FB_RETURN_IF_ERROR(q->Run());
  if (sqlite3_changes(conn_.raw()) != 1) return std::optional<int64_t>();
  return std::optional<int64_t>(conn_.LastInsertId());
}

StatusOr<DeliveryRecord> SqlitePagingRepo::GetDelivery(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kDeliveryColumns +
                                            " FROM deliveries WHERE id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no delivery " + std::to_string(id));
  return ReadDelivery(*q);
}

StatusOr<std::vector<DeliveryRecord>> SqlitePagingRepo::ClaimDeliveries(TimeMs now,
                                                                        TimeMs lease_until,
                                                                        int limit) {
  std::vector<DeliveryRecord> claimed;
  {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
        std::string("SELECT ") + kDeliveryColumns +
        " FROM deliveries WHERE status='pending' AND next_attempt_at <= ?1 AND lease_until <= ?1"
        " ORDER BY next_attempt_at, id LIMIT ?2"));
    q->Bind(now, limit);
    FB_ASSIGN_OR_RETURN(claimed, CollectRows<DeliveryRecord>(*q, ReadDelivery));
  }
  for (auto& d : claimed) {
    FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("UPDATE deliveries SET lease_until=? WHERE id=?"));
    q->Bind(lease_until, d.id);
    FB_RETURN_IF_ERROR(q->Run());
    d.lease_until = lease_until;
  }
  return claimed;
}

Status SqlitePagingRepo::UpdateDelivery(const DeliveryRecord& d) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "UPDATE deliveries SET status=?, attempts=?, next_attempt_at=?, lease_until=?, "
      "last_http_status=?, last_error=?, delivered_at=? WHERE id=?"));
  q->Bind(d.status, d.attempts, d.next_attempt_at, d.lease_until, d.last_http_status,
          d.last_error, d.delivered_at, d.id);
  FB_RETURN_IF_ERROR(q->Run());
  if (sqlite3_changes(conn_.raw()) == 0) return NotFound("no delivery " + std::to_string(d.id));
  return Status::Ok();
}

StatusOr<std::vector<DeliveryRecord>> SqlitePagingRepo::ListDeliveries(const DeliveryQuery& f) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      std::string("SELECT ") + kDeliveryColumns +
      " FROM deliveries WHERE (?1 IS NULL OR incident_id = ?1) AND (?2 = '' OR status = ?2)"
      " AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4"));
  q->Bind(f.incident_id, f.status, f.before_id, f.limit);
  return CollectRows<DeliveryRecord>(*q, ReadDelivery);
}

StatusOr<std::optional<TimeMs>> SqlitePagingRepo::NextDeliveryDue() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT min(max(next_attempt_at, lease_until)) FROM deliveries WHERE status='pending'"));
  return OptionalMin(*q);
}

StatusOr<std::map<std::string, int64_t>> SqlitePagingRepo::CountDeliveries() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT status, count(*) FROM deliveries GROUP BY status"));
  std::map<std::string, int64_t> counts = {{"pending", 0}, {"delivered", 0}, {"failed", 0}};
  while (true) {
    FB_ASSIGN_OR_RETURN(bool row, q->Step());
    if (!row) break;
    counts[q->Text(0)] = q->Int(1);
  }
  return counts;
}

}  // namespace firebreak::sqlite
