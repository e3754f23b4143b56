// SQLite implementation of SignalRepo (signals and scores).
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kSignalColumns[] =
    "id, kind, source, agent, version, category, evidence, measured, suggested_severity, "
    "severity, reason, rule, rule_reason, status, fingerprint, incident_id, detected_at, "
    "received_at, updated_at";

SignalRecord ReadSignal(const Query& q) {
  SignalRecord r;
  r.id = q.Int(0);
  r.kind = q.Text(1);
  r.source = q.Text(2);
  r.agent = q.Text(3);
  r.version = q.Text(4);
  r.category = q.Text(5);
  r.evidence_json = q.Text(6);
  r.measured_json = q.Text(7);
  r.suggested_severity = static_cast<int>(q.Int(8));
  r.severity = static_cast<int>(q.Int(9));
  r.reason = q.Text(10);
  r.rule = q.Text(11);
  r.rule_reason = q.Text(12);
  r.status = q.Text(13);
  r.fingerprint = q.Text(14);
  r.incident_id = q.OptInt(15);
  r.detected_at = q.Int(16);
  r.received_at = q.Int(17);
  r.updated_at = q.Int(18);
  return r;
}

ScoreRecord ReadScore(const Query& q) {
  ScoreRecord s;
  s.id = q.Int(0);
  s.trace_id = q.Text(1);
  s.agent = q.Text(2);
  s.category = q.Text(3);
  s.name = q.Text(4);
  s.value = q.OptDouble(5);
  if (auto n = q.OptInt(6)) s.negative_feedback = *n != 0;
  s.actor = q.Text(7);
  s.at = q.Int(8);
  return s;
}

}  // namespace

StatusOr<int64_t> SqliteSignalRepo::Insert(const SignalRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO signals (kind, source, agent, version, category, evidence, measured, "
      "suggested_severity, severity, reason, rule, rule_reason, status, fingerprint, "
      "incident_id, detected_at, received_at, updated_at) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  q->Bind(r.kind, r.source, r.agent, r.version, r.category, r.evidence_json, r.measured_json,
          r.suggested_severity, r.severity, r.reason, r.rule, r.rule_reason, r.status,
          r.fingerprint, r.incident_id, r.detected_at, r.received_at, r.updated_at);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

Status SqliteSignalRepo::Update(const SignalRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "UPDATE signals SET severity=?, rule=?, rule_reason=?, status=?, incident_id=?, "
      "measured=?, evidence=?, updated_at=? WHERE id=?"));
  q->Bind(r.severity, r.rule, r.rule_reason, r.status, r.incident_id, r.measured_json,
          r.evidence_json, r.updated_at, r.id);
  FB_RETURN_IF_ERROR(q->Run());
  if (sqlite3_changes(conn_.raw()) == 0) return NotFound("no signal " + std::to_string(r.id));
  return Status::Ok();
}

StatusOr<SignalRecord> SqliteSignalRepo::Get(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kSignalColumns +
                                            " FROM signals WHERE id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no signal " + std::to_string(id));
  return ReadSignal(*q);
}

StatusOr<std::optional<SignalRecord>> SqliteSignalRepo::GetByFingerprint(const std::string& fp) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kSignalColumns +
                                            " FROM signals WHERE fingerprint=? AND fingerprint!=''"));
  q->Bind(fp);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<SignalRecord>();
  return std::optional<SignalRecord>(ReadSignal(*q));
}

StatusOr<std::vector<SignalRecord>> SqliteSignalRepo::List(const SignalQuery& f) {
  // One statement for every filter combination: an empty filter matches everything.
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      std::string("SELECT ") + kSignalColumns +
      " FROM signals WHERE (?1 = '' OR agent = ?1) AND (?2 = '' OR substr(kind, 1, length(?2)) = ?2)"
      " AND (?3 = '' OR status = ?3) AND (?4 IS NULL OR incident_id = ?4)"
      " AND (?5 = 0 OR id < ?5) ORDER BY id DESC LIMIT ?6"));
  q->Bind(f.agent, f.kind, f.status, f.incident_id, f.before_id, f.limit);
  return CollectRows<SignalRecord>(*q, ReadSignal);
}

StatusOr<int64_t> SqliteSignalRepo::InsertScore(const ScoreRecord& s) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO scores (trace_id, agent, category, name, value, negative_feedback, actor, at) "
      "VALUES (?,?,?,?,?,?,?,?)"));
  std::optional<int64_t> negative;
  if (s.negative_feedback) negative = *s.negative_feedback ? 1 : 0;
  q->Bind(s.trace_id, s.agent, s.category, s.name, s.value, negative, s.actor, s.at);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

StatusOr<std::vector<ScoreRecord>> SqliteSignalRepo::ScoresSince(TimeMs from, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT id, trace_id, agent, category, name, value, negative_feedback, actor, at "
      "FROM scores WHERE at >= ? ORDER BY at, id LIMIT ?"));
  q->Bind(from, limit);
  return CollectRows<ScoreRecord>(*q, ReadScore);
}

}  // namespace firebreak::sqlite
