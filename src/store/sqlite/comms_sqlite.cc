// SQLite implementation of CommsRepo.
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr const char* kNoticeColumns =
    "incident_id, status, message, eta, next_update_at, lint, override_reason, updated_by, "
    "created_at, updated_at";

NoticeRecord ReadNotice(const Query& q) {
  NoticeRecord n;
  n.incident_id = q.Int(0);
  n.status = q.Text(1);
  n.message = q.Text(2);
  n.eta = q.OptInt(3);
  n.next_update_at = q.OptInt(4);
  n.lint_json = q.Text(5);
  n.override_reason = q.Text(6);
  n.updated_by = q.Text(7);
  n.created_at = q.Int(8);
  n.updated_at = q.Int(9);
  return n;
}

constexpr const char* kUpdateColumns =
    "id, incident_id, audience, impact, actions, user_action, eta, next_update_at, lint, "
    "override_reason, created_by, created_at";

UpdateRecord ReadUpdate(const Query& q) {
  UpdateRecord u;
  u.id = q.Int(0);
  u.incident_id = q.Int(1);
  u.audience = q.Text(2);
  u.impact = q.Text(3);
  u.actions = q.Text(4);
  u.user_action = q.Text(5);
  u.eta = q.OptInt(6);
  u.next_update_at = q.OptInt(7);
  u.lint_json = q.Text(8);
  u.override_reason = q.Text(9);
  u.created_by = q.Text(10);
  u.created_at = q.Int(11);
  return u;
}

constexpr const char* kCommsColumns =
    "incident_id, owner, root_cause, root_cause_confirmed_at, next_update_at, reminded_for, "
    "updated_at";

CommsRecord ReadComms(const Query& q) {
  CommsRecord c;
  c.incident_id = q.Int(0);
  c.owner = q.Text(1);
  c.root_cause = q.Text(2);
  c.root_cause_confirmed_at = q.OptInt(3);
  c.next_update_at = q.OptInt(4);
  c.reminded_for = q.OptInt(5);
  c.updated_at = q.Int(6);
  return c;
}

}  // namespace

StatusOr<std::optional<NoticeRecord>> SqliteCommsRepo::GetNotice(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kNoticeColumns +
                                            " FROM notices WHERE incident_id=?"));
  q->Bind(incident_id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<NoticeRecord>();
  return std::optional<NoticeRecord>(ReadNotice(*q));
}

Status SqliteCommsRepo::PutNotice(const NoticeRecord& n) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("INSERT OR REPLACE INTO notices (") +
                                            kNoticeColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?)"));
  q->Bind(n.incident_id, n.status, n.message, n.eta, n.next_update_at, n.lint_json,
          n.override_reason, n.updated_by, n.created_at, n.updated_at);
  return q->Run();
}

StatusOr<bool> SqliteCommsRepo::DeleteNotice(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("DELETE FROM notices WHERE incident_id=?"));
  q->Bind(incident_id);
  FB_RETURN_IF_ERROR(q->Run());
  return sqlite3_changes(conn_.raw()) > 0;
}

StatusOr<std::vector<NoticeRecord>> SqliteCommsRepo::Notices() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kNoticeColumns +
                                            " FROM notices ORDER BY updated_at DESC, incident_id DESC"));
  return CollectRows<NoticeRecord>(*q, ReadNotice);
}

StatusOr<int64_t> SqliteCommsRepo::AddUpdate(const UpdateRecord& u) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("INSERT INTO incident_updates (incident_id, audience, impact, actions, "
                            "user_action, eta, next_update_at, lint, override_reason, created_by, "
                            "created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
  q->Bind(u.incident_id, u.audience, u.impact, u.actions, u.user_action, u.eta, u.next_update_at,
          u.lint_json, u.override_reason, u.created_by, u.created_at);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

StatusOr<std::vector<UpdateRecord>> SqliteCommsRepo::Updates(int64_t incident_id,
                                                             const std::string& audience) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kUpdateColumns +
                                            " FROM incident_updates WHERE incident_id=? AND "
                                            "(?='' OR audience=?) ORDER BY id"));
  q->Bind(incident_id, audience, audience);
  return CollectRows<UpdateRecord>(*q, ReadUpdate);
}

StatusOr<std::optional<UpdateRecord>> SqliteCommsRepo::GetUpdate(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kUpdateColumns +
                                            " FROM incident_updates WHERE id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<UpdateRecord>();
  return std::optional<UpdateRecord>(ReadUpdate(*q));
}

StatusOr<std::optional<CommsRecord>> SqliteCommsRepo::GetComms(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kCommsColumns +
                                            " FROM incident_comms WHERE incident_id=?"));
  q->Bind(incident_id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<CommsRecord>();
  return std::optional<CommsRecord>(ReadComms(*q));
}

Status SqliteCommsRepo::PutComms(const CommsRecord& c) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("INSERT OR REPLACE INTO incident_comms (") +
                                            kCommsColumns + ") VALUES (?,?,?,?,?,?,?)"));
  q->Bind(c.incident_id, c.owner, c.root_cause, c.root_cause_confirmed_at, c.next_update_at,
          c.reminded_for, c.updated_at);
  return q->Run();
}

StatusOr<std::vector<CommsRecord>> SqliteCommsRepo::Overdue(TimeMs now, int limit) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(std::string("SELECT ") + kCommsColumns +
                            " FROM incident_comms WHERE next_update_at < ? AND "
                            "(reminded_for IS NULL OR reminded_for <> next_update_at) "
                            "ORDER BY next_update_at LIMIT ?"));
  q->Bind(now, limit);
  return CollectRows<CommsRecord>(*q, ReadComms);
}

StatusOr<int64_t> SqliteCommsRepo::EvidenceCount(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT COUNT(DISTINCT trace_row) FROM trace_flags WHERE incident_id=?"));
  q->Bind(incident_id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  return row ? q->Int(0) : int64_t{0};
}

}  // namespace firebreak::sqlite
