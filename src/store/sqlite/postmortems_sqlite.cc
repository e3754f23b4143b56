// SQLite implementation of PostmortemRepo.
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr const char* kPostmortemColumns =
    "incident_id, state, version, doc, generated, created_by, created_at, updated_by, "
    "updated_at, published_at";

PostmortemRecord ReadPostmortem(const Query& q) {
  PostmortemRecord r;
  r.incident_id = q.Int(0);
  r.state = q.Text(1);
  r.version = q.Int(2);
  r.doc_json = q.Text(3);
  r.generated_json = q.Text(4);
  r.created_by = q.Text(5);
  r.created_at = q.Int(6);
  r.updated_by = q.Text(7);
  r.updated_at = q.Int(8);
  r.published_at = q.OptInt(9);
  return r;
}

constexpr const char* kActionColumns =
    "id, incident_id, kind, description, owner, due_at, priority, status, drop_reason, "
    "reminded_week, updated_by, created_at, updated_at, finished_at";

ActionRecord ReadAction(const Query& q) {
  ActionRecord a;
  a.id = q.Int(0);
  a.incident_id = q.Int(1);
  a.kind = q.Text(2);
  a.description = q.Text(3);
  a.owner = q.Text(4);
  a.due_at = q.OptInt(5);
  a.priority = q.Text(6);
  a.status = q.Text(7);
  a.drop_reason = q.Text(8);
  a.reminded_week = q.OptInt(9);
  a.updated_by = q.Text(10);
  a.created_at = q.Int(11);
  a.updated_at = q.Int(12);
  a.finished_at = q.OptInt(13);
  return a;
}

// Incidents resolved (or closed after it) with no published post-mortem, and their chase.
constexpr const char* kOwedSelect =
    "SELECT i.id, i.resolved_at, COALESCE(p.state, ''), c.soon_reminded_for, "
    "c.overdue_flagged_for FROM incidents i "
    "LEFT JOIN postmortems p ON p.incident_id = i.id "
    "LEFT JOIN postmortem_clock c ON c.incident_id = i.id "
    "WHERE i.state IN ('resolved', 'closed') AND i.resolved_at IS NOT NULL "
    "AND (p.state IS NULL OR p.state <> 'published') ";

OwedPostmortem ReadOwed(const Query& q) {
  OwedPostmortem o;
  o.incident_id = q.Int(0);
  o.resolved_at = q.Int(1);
  o.state = q.Text(2);
  o.soon_reminded_for = q.OptInt(3);
  o.overdue_flagged_for = q.OptInt(4);
  return o;
}

}  // namespace

StatusOr<std::optional<PostmortemRecord>> SqlitePostmortemRepo::Get(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kPostmortemColumns +
                                            " FROM postmortems WHERE incident_id=?"));
  q->Bind(incident_id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<PostmortemRecord>();
  return std::optional<PostmortemRecord>(ReadPostmortem(*q));
}

Status SqlitePostmortemRepo::Put(const PostmortemRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("INSERT OR REPLACE INTO postmortems (") +
                                            kPostmortemColumns + ") VALUES (?,?,?,?,?,?,?,?,?,?)"));
  q->Bind(r.incident_id, r.state, r.version, r.doc_json, r.generated_json, r.created_by,
          r.created_at, r.updated_by, r.updated_at, r.published_at);
  return q->Run();
}

StatusOr<std::vector<ActionRecord>> SqlitePostmortemRepo::Actions(int64_t incident_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kActionColumns +
                                            " FROM postmortem_actions WHERE incident_id=? ORDER BY id"));
  q->Bind(incident_id);
  return CollectRows<ActionRecord>(*q, ReadAction);
}

StatusOr<ActionRecord> SqlitePostmortemRepo::GetAction(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kActionColumns +
                                            " FROM postmortem_actions WHERE id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no action " + std::to_string(id));
  return ReadAction(*q);
}

StatusOr<int64_t> SqlitePostmortemRepo::InsertAction(const ActionRecord& a) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("INSERT INTO postmortem_actions (incident_id, kind, description, owner, "
                            "due_at, priority, status, drop_reason, reminded_week, updated_by, "
                            "created_at, updated_at, finished_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  q->Bind(a.incident_id, a.kind, a.description, a.owner, a.due_at, a.priority, a.status,
          a.drop_reason, a.reminded_week, a.updated_by, a.created_at, a.updated_at, a.finished_at);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

Status SqlitePostmortemRepo::UpdateAction(const ActionRecord& a) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("UPDATE postmortem_actions SET kind=?, description=?, owner=?, due_at=?, "
                            "priority=?, status=?, drop_reason=?, reminded_week=?, updated_by=?, "
                            "updated_at=?, finished_at=? WHERE id=?"));
  q->Bind(a.kind, a.description, a.owner, a.due_at, a.priority, a.status, a.drop_reason,
          a.reminded_week, a.updated_by, a.updated_at, a.finished_at, a.id);
  FB_RETURN_IF_ERROR(q->Run());
  if (sqlite3_changes(conn_.raw()) == 0) return NotFound("no action " + std::to_string(a.id));
  return Status::Ok();
}

StatusOr<std::vector<ActionRecord>> SqlitePostmortemRepo::ListActions(const ActionQuery& aq) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(std::string("SELECT ") + kActionColumns +
                            " FROM postmortem_actions WHERE id > ? AND (? IS NULL OR incident_id=?) "
                            "AND (?='' OR owner=?) AND (?='' OR status=?) "
                            "AND (? IS NULL OR (status='open' AND due_at < ?)) ORDER BY id LIMIT ?"));
  q->Bind(aq.after_id, aq.incident_id, aq.incident_id, aq.owner, aq.owner, aq.status, aq.status,
          aq.overdue_at, aq.overdue_at, aq.limit);
  return CollectRows<ActionRecord>(*q, ReadAction);
}

StatusOr<std::vector<ActionRecord>> SqlitePostmortemRepo::ActionsToRemind(TimeMs now,
                                                                          int64_t week_ms,
                                                                          int limit) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(std::string("SELECT ") + kActionColumns +
                            " FROM postmortem_actions WHERE status='open' AND due_at < ? AND "
                            "(reminded_week IS NULL OR reminded_week < (? - due_at) / ?) "
                            "ORDER BY id LIMIT ?"));
  q->Bind(now, now, week_ms, limit);
  return CollectRows<ActionRecord>(*q, ReadAction);
}

StatusOr<std::vector<OwedPostmortem>> SqlitePostmortemRepo::Owed(TimeMs resolved_by,
                                                                 int64_t after_id, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string(kOwedSelect) +
                                            "AND i.resolved_at <= ? AND i.id > ? ORDER BY i.id LIMIT ?"));
  q->Bind(resolved_by, after_id, limit);
  return CollectRows<OwedPostmortem>(*q, ReadOwed);
}

StatusOr<int64_t> SqlitePostmortemRepo::CountOwed(TimeMs resolved_by) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("SELECT COUNT(*) FROM incidents i "
                            "LEFT JOIN postmortems p ON p.incident_id = i.id "
                            "WHERE i.state IN ('resolved', 'closed') AND i.resolved_at IS NOT NULL "
                            "AND (p.state IS NULL OR p.state <> 'published') AND i.resolved_at <= ?"));
  q->Bind(resolved_by);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  return row ? q->Int(0) : int64_t{0};
}

StatusOr<std::vector<OwedPostmortem>> SqlitePostmortemRepo::Unchased(TimeMs soon_by,
                                                                     TimeMs overdue_by, int limit) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(std::string(kOwedSelect) +
                            "AND ((i.resolved_at <= ? AND c.soon_reminded_for IS NOT i.resolved_at) "
                            "OR (i.resolved_at <= ? AND c.overdue_flagged_for IS NOT i.resolved_at)) "
                            "ORDER BY i.id LIMIT ?"));
  q->Bind(soon_by, overdue_by, limit);
  return CollectRows<OwedPostmortem>(*q, ReadOwed);
}

Status SqlitePostmortemRepo::PutChase(const OwedPostmortem& o) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("INSERT OR REPLACE INTO postmortem_clock (incident_id, "
                                            "soon_reminded_for, overdue_flagged_for) VALUES (?,?,?)"));
  q->Bind(o.incident_id, o.soon_reminded_for, o.overdue_flagged_for);
  return q->Run();
}

}  // namespace firebreak::sqlite
