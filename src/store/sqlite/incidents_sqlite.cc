// SQLite implementation of IncidentRepo (incidents).
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kIncidentColumns[] =
    "id, title, agent, severity, state, detected_at, classified_at, classified_by, "
    "classification_reason, acked_at, acked_by, commander, resolved_at, closed_at, signals, "
    "links, created_by, created_at, updated_at, contained_at, time_to_contain_ms";

IncidentRecord ReadIncident(const Query& q) {
  IncidentRecord r;
  r.id = q.Int(0);
  r.title = q.Text(1);
  r.agent = q.Text(2);
  r.severity = static_cast<int>(q.Int(3));
  r.state = q.Text(4);
  r.detected_at = q.Int(5);
  r.classified_at = q.OptInt(6);
  r.classified_by = q.Text(7);
  r.classification_reason = q.Text(8);
  r.acked_at = q.OptInt(9);
  r.acked_by = q.Text(10);
  r.commander = q.Text(11);
  r.resolved_at = q.OptInt(12);
  r.closed_at = q.OptInt(13);
  r.signals_json = q.Text(14);
  r.links_json = q.Text(15);
  r.created_by = q.Text(16);
  r.created_at = q.Int(17);
  r.updated_at = q.Int(18);
  r.contained_at = q.OptInt(19);
  r.time_to_contain_ms = q.OptInt(20);
  return r;
}

}  // namespace

StatusOr<int64_t> SqliteIncidentRepo::Insert(const IncidentRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO incidents (title, agent, severity, state, detected_at, classified_at, "
      "classified_by, classification_reason, acked_at, acked_by, commander, resolved_at, "
      "closed_at, signals, links, created_by, created_at, updated_at, contained_at, "
      "time_to_contain_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  q->Bind(r.title, r.agent, r.severity, r.state, r.detected_at, r.classified_at,
          r.classified_by, r.classification_reason, r.acked_at, r.acked_by, r.commander,
          r.resolved_at, r.closed_at, r.signals_json, r.links_json, r.created_by,
          r.created_at, r.updated_at, r.contained_at, r.time_to_contain_ms);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

Status SqliteIncidentRepo::Update(const IncidentRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "UPDATE incidents SET title=?, agent=?, severity=?, state=?, detected_at=?, "
      "classified_at=?, classified_by=?, classification_reason=?, acked_at=?, acked_by=?, "
      "commander=?, resolved_at=?, closed_at=?, signals=?, links=?, updated_at=?, contained_at=?, "
      "time_to_contain_ms=? WHERE id=?"));
  q->Bind(r.title, r.agent, r.severity, r.state, r.detected_at, r.classified_at,
          r.classified_by, r.classification_reason, r.acked_at, r.acked_by, r.commander,
          r.resolved_at, r.closed_at, r.signals_json, r.links_json, r.updated_at, r.contained_at,
          r.time_to_contain_ms, r.id);
  FB_RETURN_IF_ERROR(q->Run());
  if (sqlite3_changes(conn_.raw()) == 0) return NotFound("no incident INC-" + std::to_string(r.id));
  return Status::Ok();
}

StatusOr<IncidentRecord> SqliteIncidentRepo::Get(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kIncidentColumns +
                                            " FROM incidents WHERE id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no incident INC-" + std::to_string(id));
  return ReadIncident(*q);
}

StatusOr<std::vector<IncidentRecord>> SqliteIncidentRepo::List(const IncidentQuery& query) {
  // The filter is fixed-shape (NULL-able parameters) so one prepared statement serves all.
  std::string states;
  for (const auto& s : query.states) states += "," + s;
  if (!states.empty()) states += ",";
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      std::string("SELECT ") + kIncidentColumns +
      " FROM incidents WHERE (?1 = '' OR instr(?1, ',' || state || ',') > 0)"
      " AND (?2 = '' OR agent = ?2) AND (?3 = 0 OR id < ?3) ORDER BY id DESC LIMIT ?4"));
  q->Bind(states, query.agent, query.before_id, query.limit);
  return CollectRows<IncidentRecord>(*q, ReadIncident);
}

StatusOr<std::vector<int64_t>> SqliteIncidentRepo::TimesToContain() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT time_to_contain_ms FROM incidents WHERE time_to_contain_ms IS NOT NULL"));
  return CollectRows<int64_t>(*q, [](const Query& row) { return row.Int(0); });
}

}  // namespace firebreak::sqlite
