// SQLite implementation of RegressionRepo (cases, runs and their results).
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kCaseColumns[] =
    "id, agent, name, incident_id, source_hash, source_trace_id, source_span, source_version, "
    "spec, required, created_by, created_at, updated_at";
constexpr char kRunColumns[] =
    "id, agent, version, whole_battery, cases, parallel, executed_by, provider, status, total, "
    "passed, failed, errored, error, started_by, started_at, finished_at";
constexpr char kResultColumns[] = "run_id, case_id, status, summary, attempts, finished_at";

RegressionCaseRecord ReadCase(const Query& q) {
  RegressionCaseRecord r;
  r.id = q.Int(0);
  r.agent = q.Text(1);
  r.name = q.Text(2);
  r.incident_id = q.OptInt(3);
  r.source_hash = q.Text(4);
  r.source_trace_id = q.Text(5);
  r.source_span = q.Text(6);
  r.source_version = q.Text(7);
  r.spec_json = q.Text(8);
  r.required = q.Int(9) != 0;
  r.created_by = q.Text(10);
  r.created_at = q.Int(11);
  r.updated_at = q.Int(12);
  return r;
}

RegressionRunRecord ReadRun(const Query& q) {
  RegressionRunRecord r;
  r.id = q.Int(0);
  r.agent = q.Text(1);
  r.version = q.Text(2);
  r.whole_battery = q.Int(3) != 0;
  r.cases_json = q.Text(4);
  r.parallel = static_cast<int>(q.Int(5));
  r.executed_by = q.Text(6);
  r.provider = q.Text(7);
  r.status = q.Text(8);
  r.total = q.Int(9);
  r.passed = q.Int(10);
  r.failed = q.Int(11);
  r.errored = q.Int(12);
  r.error = q.Text(13);
  r.started_by = q.Text(14);
  r.started_at = q.Int(15);
  r.finished_at = q.OptInt(16);
  return r;
}

RegressionResultRecord ReadResult(const Query& q) {
  RegressionResultRecord r;
  r.run_id = q.Int(0);
  r.case_id = q.Int(1);
  r.status = q.Text(2);
  r.summary = q.Text(3);
  r.attempts_json = q.Text(4);
  r.finished_at = q.Int(5);
  return r;
}

Status ChangedOne(Connection& conn, const std::string& what) {
  if (sqlite3_changes(conn.raw()) == 0) return NotFound(what);
  return Status::Ok();
}

}  // namespace

StatusOr<int64_t> SqliteRegressionRepo::InsertCase(const RegressionCaseRecord& r) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("INSERT INTO regression_cases (agent, name, incident_id, source_hash, "
                            "source_trace_id, source_span, source_version, spec, required, "
                            "created_by, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"));
  q->Bind(r.agent, r.name, r.incident_id, r.source_hash, r.source_trace_id, r.source_span,
          r.source_version, r.spec_json, r.required ? 1 : 0, r.created_by, r.created_at,
          r.updated_at);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

Status SqliteRegressionRepo::UpdateCase(const RegressionCaseRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("UPDATE regression_cases SET name=?, spec=?, "
                                            "required=?, updated_at=? WHERE id=?"));
  q->Bind(r.name, r.spec_json, r.required ? 1 : 0, r.updated_at, r.id);
  FB_RETURN_IF_ERROR(q->Run());
  return ChangedOne(conn_, "no regression case #" + std::to_string(r.id));
}

Status SqliteRegressionRepo::DeleteCase(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("DELETE FROM regression_cases WHERE id=?"));
  q->Bind(id);
  FB_RETURN_IF_ERROR(q->Run());
  return ChangedOne(conn_, "no regression case #" + std::to_string(id));
}

StatusOr<RegressionCaseRecord> SqliteRegressionRepo::GetCase(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kCaseColumns +
                                            " FROM regression_cases WHERE id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no regression case #" + std::to_string(id));
  return ReadCase(*q);
}

StatusOr<std::vector<RegressionCaseRecord>> SqliteRegressionRepo::ListCases(
    const RegressionCaseQuery& f) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kCaseColumns +
                                            " FROM regression_cases WHERE (?='' OR agent=?) AND "
                                            "(? IS NULL OR incident_id=?) AND id>? "
                                            "ORDER BY id LIMIT ?"));
  q->Bind(f.agent, f.agent, f.incident_id, f.incident_id, f.after_id, f.limit);
  return CollectRows<RegressionCaseRecord>(*q, ReadCase);
}

StatusOr<std::vector<int64_t>> SqliteRegressionRepo::CaseIds(const std::string& agent) {
  FB_ASSIGN_OR_RETURN(auto q,
                      conn_.Prepare("SELECT id FROM regression_cases WHERE agent=? ORDER BY id"));
  q->Bind(agent);
  return CollectRows<int64_t>(*q, [](const Query& r) { return r.Int(0); });
}

StatusOr<int64_t> SqliteRegressionRepo::InsertRun(const RegressionRunRecord& r) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("INSERT INTO regression_runs (agent, version, whole_battery, cases, "
                            "parallel, executed_by, provider, status, total, passed, failed, "
                            "errored, error, started_by, started_at, finished_at) "
                            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  q->Bind(r.agent, r.version, r.whole_battery ? 1 : 0, r.cases_json, r.parallel, r.executed_by,
          r.provider, r.status, r.total, r.passed, r.failed, r.errored, r.error, r.started_by,
          r.started_at, r.finished_at);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

Status SqliteRegressionRepo::UpdateRun(const RegressionRunRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("UPDATE regression_runs SET status=?, passed=?, "
                                            "failed=?, errored=?, error=?, finished_at=? "
                                            "WHERE id=?"));
  q->Bind(r.status, r.passed, r.failed, r.errored, r.error, r.finished_at, r.id);
  FB_RETURN_IF_ERROR(q->Run());
  return ChangedOne(conn_, "no regression run #" + std::to_string(r.id));
}

StatusOr<RegressionRunRecord> SqliteRegressionRepo::GetRun(int64_t id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kRunColumns +
                                            " FROM regression_runs WHERE id=?"));
  q->Bind(id);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no regression run #" + std::to_string(id));
  return ReadRun(*q);
}

StatusOr<std::vector<RegressionRunRecord>> SqliteRegressionRepo::ListRuns(
    const std::string& agent, const std::string& version, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kRunColumns +
                                            " FROM regression_runs WHERE (?='' OR agent=?) AND "
                                            "(?='' OR version=?) ORDER BY id DESC LIMIT ?"));
  q->Bind(agent, agent, version, version, limit);
  return CollectRows<RegressionRunRecord>(*q, ReadRun);
}

StatusOr<std::optional<RegressionRunRecord>> SqliteRegressionRepo::LatestWholeRun(
    const std::string& agent, const std::string& version) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kRunColumns +
                                            " FROM regression_runs WHERE agent=? AND version=? "
                                            "AND whole_battery=1 AND finished_at IS NOT NULL "
                                            "ORDER BY id DESC LIMIT 1"));
  q->Bind(agent, version);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<RegressionRunRecord>();
  return std::optional<RegressionRunRecord>(ReadRun(*q));
}

StatusOr<std::vector<int64_t>> SqliteRegressionRepo::RunningRuns() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT id FROM regression_runs WHERE "
                                            "status='running' ORDER BY id"));
  return CollectRows<int64_t>(*q, [](const Query& r) { return r.Int(0); });
}

Status SqliteRegressionRepo::InsertResult(const RegressionResultRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("INSERT INTO regression_results (") +
                                            kResultColumns + ") VALUES (?,?,?,?,?,?)"));
  q->Bind(r.run_id, r.case_id, r.status, r.summary, r.attempts_json, r.finished_at);
  return q->Run();
}

StatusOr<std::vector<RegressionResultRecord>> SqliteRegressionRepo::Results(int64_t run_id) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kResultColumns +
                                            " FROM regression_results WHERE run_id=? "
                                            "ORDER BY case_id"));
  q->Bind(run_id);
  return CollectRows<RegressionResultRecord>(*q, ReadResult);
}

StatusOr<std::optional<RegressionResultRecord>> SqliteRegressionRepo::LatestResult(
    int64_t case_id, const std::string& agent, const std::string& version) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare("SELECT r.run_id, r.case_id, r.status, r.summary, r.attempts, "
                            "r.finished_at FROM regression_results r JOIN regression_runs u ON "
                            "u.id = r.run_id WHERE r.case_id=? AND u.agent=? AND u.version=? "
                            "ORDER BY r.run_id DESC LIMIT 1"));
  q->Bind(case_id, agent, version);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<RegressionResultRecord>();
  return std::optional<RegressionResultRecord>(ReadResult(*q));
}

}  // namespace firebreak::sqlite
