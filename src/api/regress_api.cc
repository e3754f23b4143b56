// The regression battery: cases (made from a trace), runs of the battery on a version and their
// results per case and attempt, and the results a CLI run reports (docs/regress.md).
#include <charconv>
#include <limits>

#include "api/handler_util.h"
#include "api/json.h"
#include "api/routes.h"
#include "common/text.h"

namespace firebreak::api {
namespace {

using regress::CaseView;
using regress::RunView;

Json CaseJson(const CaseView& v) {
  const RegressionCaseRecord& r = v.record;
  Json j = regress::SpecToJson(v.spec);
  j["id"] = r.id;
  j["agent"] = r.agent;
  j["name"] = r.name;
  j["incident"] = r.incident_id ? Json(IncidentName(*r.incident_id)) : Json(nullptr);
  j["source"] = {{"trace", r.source_hash},
                 {"trace_id", r.source_trace_id},
                 {"span", r.source_span},
                 {"version", r.source_version}};
  j["required"] = r.required;
  j["created_by"] = r.created_by;
  j["created_at"] = FormatTime(r.created_at);
  j["updated_at"] = FormatTime(r.updated_at);
  return j;
}

Json ResultJson(const RegressionResultRecord& r, const std::string& name) {
  Json attempts = Json::parse(r.attempts_json, nullptr, /*allow_exceptions=*/false);
  return {{"run", r.run_id},
          {"case", r.case_id},
          {"name", name},
          {"status", r.status},
          {"summary", r.summary},
          {"attempts", attempts.is_discarded() ? Json::array() : attempts},
          {"finished_at", FormatTime(r.finished_at)}};
}

Json RunJson(const RegressionRunRecord& r) {
  Json provider = Json::parse(r.provider, nullptr, /*allow_exceptions=*/false);
  return {{"id", r.id},
          {"agent", r.agent},
          {"version", r.version},
          {"whole_battery", r.whole_battery},
          {"parallel", r.parallel},
          {"executed_by", r.executed_by},
          {"provider", provider.is_discarded() ? Json(nullptr) : provider},
          {"status", r.status},
          {"progress",
           {{"total", r.total},
            {"done", r.passed + r.failed + r.errored},
            {"passed", r.passed},
            {"failed", r.failed},
            {"errored", r.errored}}},
          {"error", r.error},
          {"started_by", r.started_by},
          {"started_at", FormatTime(r.started_at)},
          {"finished_at", OptTime(r.finished_at)}};
}

Json RunViewJson(const RunView& v) {
  Json j = RunJson(v.run);
  j["cases"] = v.case_ids;
  Json results = Json::array();
  for (const auto& r : v.results) {
    auto name = v.names.find(r.case_id);
    results.push_back(ResultJson(r, name == v.names.end() ? "" : name->second));
  }
  j["results"] = results;
  return j;
}

// Parses a positive whole number path parameter; kNotFound naming `what` otherwise.
StatusOr<int64_t> IdParam(const Request& req, const char* what) {
  const std::string& raw = req.params.at("id");
  int64_t v = 0;
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc() || end != raw.data() + raw.size() || v <= 0) {
    return NotFound(std::string("no ") + what + " '" + raw + "'");
  }
  return v;
}

// Reads the editable fields of a case: assertions, repeat, pass_at_least, required.
struct CaseEdits {
  std::optional<Json> assertions;
  std::optional<int64_t> repeat, pass_at_least;
  std::optional<bool> required;
};
StatusOr<CaseEdits> CaseEditsFrom(const Json& body) {
  CaseEdits e;
  if (auto a = body.find("assertions"); a != body.end() && !a->is_null()) e.assertions = *a;
  if (body.contains("repeat") && !body["repeat"].is_null()) {
    FB_ASSIGN_OR_RETURN(e.repeat, IntField(body, "repeat", 1, 1, regress::kMaxRepeat));
  }
  if (body.contains("pass_at_least") && !body["pass_at_least"].is_null()) {
    FB_ASSIGN_OR_RETURN(e.pass_at_least, IntField(body, "pass_at_least", 1, 1, regress::kMaxRepeat));
  }
  FB_ASSIGN_OR_RETURN(e.required, BoolField(body, "required"));
  return e;
}

// Reads one reported attempt: {answer: {output, tool_calls}, duration_ms} or {error, duration_ms}.
StatusOr<regress::RawAttempt> AttemptFrom(const Json& j, size_t i) {
  std::string where = "'attempts[" + std::to_string(i) + "]";
  if (!j.is_object()) return InvalidArgument(where + "' must be an object {answer | error, duration_ms}");
  regress::RawAttempt a;
  FB_ASSIGN_OR_RETURN(a.duration_ms, IntField(j, "duration_ms", 0, 0, 86'400'000));
  FB_ASSIGN_OR_RETURN(std::string error, StringField(j, "error", false));
  auto answer = j.find("answer");
  bool has_answer = answer != j.end() && !answer->is_null();
  if (has_answer == !error.empty()) {
    return InvalidArgument(where + "' must have either 'answer' or 'error'");
  }
  if (has_answer) {
    a.answer = *answer;
  } else {
    a.answer = Unavailable(TruncateUtf8(error, 2000, "..."));
  }
  return a;
}

}  // namespace

void RegisterRegressions(http::Router& r, const Deps& d) {
  regress::RegressionService& reg = d.regressions;
  TokenService& tok = d.tokens;

  r.Add("POST", "/api/v1/regressions",
        Guard(tok, Role::kResponder,
              Idempotent(d.store, d.clock, [&reg](const Request& req, const Principal& p) {
                auto body = http::ParseJsonObject(req.body);
                if (!body.ok()) return http::Error(body.status());
                regress::AddCaseRequest add;
                auto trace = StringField(*body, "from_trace", true);
                if (!trace.ok()) return http::Error(trace.status());
                add.from_trace = *trace;
                auto incident = IncidentField(*body);
                if (!incident.ok()) return http::Error(incident.status());
                add.incident_id = *incident;
                auto name = StringField(*body, "name", false);
                if (!name.ok()) return http::Error(name.status());
                add.name = *name;
                auto edits = CaseEditsFrom(*body);
                if (!edits.ok()) return http::Error(edits.status());
                add.assertions = edits->assertions;
                add.repeat = edits->repeat;
                add.pass_at_least = edits->pass_at_least;
                add.required = edits->required;
                return Respond(reg.AddCase(p.name, add), 201, CaseJson);
              })));

  r.Add("GET", "/api/v1/regressions",
        Guard(tok, Role::kViewer, [&reg](const Request& req, const Principal&) {
          RegressionCaseQuery q;
          q.agent = req.Query("agent");
          std::string incident = req.Query("incident");
          if (!incident.empty()) {
            q.incident_id = ParseIncidentId(incident);
            if (!q.incident_id) {
              return http::Error(InvalidArgument("'incident' must be an incident id such as INC-42"));
            }
          }
          auto limit = IntParam(req, "limit", 100, 1, 1000);
          auto after = IntParam(req, "after", 0, 0, std::numeric_limits<int>::max());
          if (!limit.ok()) return http::Error(limit.status());
          if (!after.ok()) return http::Error(after.status());
          q.limit = *limit;
          q.after_id = *after;
          auto cases = reg.ListCases(q);
          if (!cases.ok()) return http::Error(cases.status());
          Json out = {{"cases", Json::array()}};
          for (const auto& c : *cases) out["cases"].push_back(CaseJson(c));
          // A full page may have more after it: ?after= the last id.
          out["next_after"] = static_cast<int>(cases->size()) == q.limit && !cases->empty()
                                  ? Json(cases->back().record.id)
                                  : Json(nullptr);
          return http::Json(200, out);
        }));

  // The runs routes come before /regressions/{id}: the router takes the first match.
  r.Add("POST", "/api/v1/regressions/runs",
        Guard(tok, Role::kResponder,
              Idempotent(d.store, d.clock, [&reg](const Request& req, const Principal& p) {
                auto body = http::ParseJsonObject(req.body);
                if (!body.ok()) return http::Error(body.status());
                regress::RunRequest run;
                auto agent = StringField(*body, "agent", true);
                auto version = StringField(*body, "version", true);
                if (!agent.ok()) return http::Error(agent.status());
                if (!version.ok()) return http::Error(version.status());
                run.agent = *agent;
                run.version = *version;
                if (auto c = body->find("cases"); c != body->end() && !c->is_null()) {
                  if (!c->is_array()) {
                    return http::Error(InvalidArgument("'cases' must be an array of case ids"));
                  }
                  for (const auto& id : *c) {
                    if (!id.is_number_integer() || id.get<int64_t>() <= 0) {
                      return http::Error(InvalidArgument("'cases' must be an array of case ids"));
                    }
                    run.cases.push_back(id.get<int64_t>());
                  }
                }
                auto parallel = IntField(*body, "parallel", 1, 1, 64);
                if (!parallel.ok()) return http::Error(parallel.status());
                run.parallel = *parallel;
                if (auto pr = body->find("provider"); pr != body->end() && !pr->is_null()) {
                  run.provider = *pr;
                }
                auto report = BoolField(*body, "report");
                if (!report.ok()) return http::Error(report.status());
                run.report = report->value_or(false);
                // Accepted: the results come later (the worker, or the reporting client).
                return Respond(reg.StartRun(p.name, run), 202, RunViewJson);
              })));

  r.Add("GET", "/api/v1/regressions/runs",
        Guard(tok, Role::kViewer, [&reg](const Request& req, const Principal&) {
          auto limit = IntParam(req, "limit", 50, 1, 1000);
          if (!limit.ok()) return http::Error(limit.status());
          auto runs = reg.ListRuns(req.Query("agent"), req.Query("version"), *limit);
          if (!runs.ok()) return http::Error(runs.status());
          Json out = {{"runs", Json::array()}};
          for (const auto& run : *runs) out["runs"].push_back(RunJson(run));
          return http::Json(200, out);
        }));

  r.Add("GET", "/api/v1/regressions/runs/{id}",
        Guard(tok, Role::kViewer, [&reg](const Request& req, const Principal&) {
          auto id = IdParam(req, "regression run");
          if (!id.ok()) return http::Error(id.status());
          return Respond(reg.GetRun(*id), 200, RunViewJson);
        }));

  r.Add("POST", "/api/v1/regressions/runs/{id}/results",
        Guard(tok, Role::kResponder, [&reg](const Request& req, const Principal& p) {
          auto id = IdParam(req, "regression run");
          if (!id.ok()) return http::Error(id.status());
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          auto case_id = IntField(*body, "case", 0, 1, std::numeric_limits<int64_t>::max());
          if (!case_id.ok()) return http::Error(case_id.status());
          auto list = body->find("attempts");
          if (list == body->end() || !list->is_array() || list->empty() ||
              list->size() > static_cast<size_t>(regress::kMaxRepeat)) {
            return http::Error(InvalidArgument("'attempts' must be an array of 1 to " +
                                               std::to_string(regress::kMaxRepeat) + " attempts"));
          }
          std::vector<regress::RawAttempt> attempts;
          for (size_t i = 0; i < list->size(); ++i) {
            auto a = AttemptFrom((*list)[i], i);
            if (!a.ok()) return http::Error(a.status());
            attempts.push_back(std::move(*a));
          }
          auto stored = reg.ReportResult(p.name, *id, *case_id, attempts);
          if (!stored.ok()) return http::Error(stored.status());
          auto c = reg.GetCase(*case_id);
          return http::Json(201, ResultJson(*stored, c.ok() ? c->record.name : ""));
        }));

  r.Add("GET", "/api/v1/regressions/{id}",
        Guard(tok, Role::kViewer, [&reg](const Request& req, const Principal&) {
          auto id = IdParam(req, "regression case");
          if (!id.ok()) return http::Error(id.status());
          return Respond(reg.GetCase(*id), 200, CaseJson);
        }));

  r.Add("PUT", "/api/v1/regressions/{id}",
        Guard(tok, Role::kResponder, [&reg](const Request& req, const Principal& p) {
          auto id = IdParam(req, "regression case");
          if (!id.ok()) return http::Error(id.status());
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          regress::UpdateCaseRequest u;
          if (body->contains("name") && !(*body)["name"].is_null()) {
            auto name = StringField(*body, "name", true);
            if (!name.ok()) return http::Error(name.status());
            u.name = *name;
          }
          auto edits = CaseEditsFrom(*body);
          if (!edits.ok()) return http::Error(edits.status());
          u.assertions = edits->assertions;
          u.repeat = edits->repeat;
          u.pass_at_least = edits->pass_at_least;
          u.required = edits->required;
          return Respond(reg.UpdateCase(p.name, *id, u), 200, CaseJson);
        }));

  // Deleting a case lowers the bar a version must pass: an admin's call, with a reason.
  r.Add("DELETE", "/api/v1/regressions/{id}",
        Guard(tok, Role::kAdmin, [&reg](const Request& req, const Principal& p) {
          auto id = IdParam(req, "regression case");
          if (!id.ok()) return http::Error(id.status());
          auto body = OptionalBody(req);
          if (!body.ok()) return http::Error(body.status());
          auto reason = StringField(*body, "reason", true);
          if (!reason.ok()) return http::Error(reason.status());
          Status s = reg.DeleteCase(p.name, *id, *reason);
          if (!s.ok()) return http::Error(s);
          return http::Json(200, {{"deleted", *id}});
        }));
}

}  // namespace firebreak::api
