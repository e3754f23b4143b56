// Incidents: declare, list, show, classify, acknowledge, move, timeline.
#include "api/routes.h"

#include "api/handler_util.h"
#include "api/json.h"
#include "incidents/severity.h"
#include "incidents/state.h"

namespace firebreak::api {

void RegisterIncidents(http::Router& r, const Deps& d) {
  IncidentService& inc = d.incidents;
  TokenService& tok = d.tokens;

  r.Add("GET", "/api/v1/severities", Guard(tok, Role::kViewer, [](const Request&, const Principal&) {
    Json list = Json::array();
    for (const SeverityInfo& s : SeverityTable()) {
      list.push_back({{"severity", s.name},
                      {"meaning", s.meaning},
                      {"response", s.response},
                      {"paging", PagingClassName(s.paging)},
                      {"escalates", s.escalates},
                      {"backlog_due_days", s.backlog_due_days}});
    }
    return http::Json(200, {{"severities", list}});
  }));

  r.Add("POST", "/api/v1/incidents", Guard(tok, Role::kResponder, Idempotent(d.store, d.clock, [&inc](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    DeclareRequest dr;
    auto title = StringField(*body, "title", true);
    auto agent = StringField(*body, "agent", true);
    auto severity = StringField(*body, "severity", false);
    auto reason = StringField(*body, "reason", false);
    auto commander = StringField(*body, "commander", false);
    for (const auto* f : {&title, &agent, &severity, &reason, &commander}) {
      if (!f->ok()) return http::Error(f->status());
    }
    dr.title = *title;
    dr.agent = *agent;
    dr.reason = *reason;
    dr.commander = *commander;
    if (!severity->empty()) {
      dr.severity = ParseSeverity(*severity);
      if (!dr.severity) return http::Error(InvalidArgument("'severity' must be SEV-1..SEV-4"));
    }
    return Respond(inc.Declare(p.name, dr), 201, IncidentJson);
  })));

  r.Add("GET", "/api/v1/incidents", Guard(tok, Role::kViewer, [&inc](const Request& req, const Principal&) {
    IncidentQuery q;
    q.agent = req.Query("agent");
    std::string states = req.Query("state");
    size_t start = 0;
    while (start < states.size()) {
      size_t comma = states.find(',', start);
      std::string s = states.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (s == "open") {
        for (auto st : {IncidentState::kDetected, IncidentState::kTriaged, IncidentState::kIsolated,
                        IncidentState::kInvestigating, IncidentState::kMitigated}) {
          q.states.emplace_back(StateName(st));
        }
      } else if (!s.empty()) {
        q.states.push_back(s);
      }
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    auto limit = IntParam(req, "limit", 50, 1, 1000);
    if (!limit.ok()) return http::Error(limit.status());
    q.limit = *limit;
    std::string cursor = req.Query("cursor");
    if (!cursor.empty()) {
      auto id = ParseIncidentId(cursor);
      if (!id) return http::Error(InvalidArgument("bad 'cursor'"));
      q.before_id = *id;
    }
    auto list = inc.List(q);
    if (!list.ok()) return http::Error(list.status());
    Json out = {{"incidents", Json::array()}};
    for (const auto& rec : *list) out["incidents"].push_back(IncidentJson(rec));
    if (static_cast<int>(list->size()) == q.limit) out["next_cursor"] = IncidentName(list->back().id);
    return http::Json(200, out);
  }));

  r.Add("GET", "/api/v1/incidents/{id}", Guard(tok, Role::kViewer, [&inc](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    return Respond(inc.Get(*id), 200, IncidentJson);
  }));

  r.Add("POST", "/api/v1/incidents/{id}/classify", Guard(tok, Role::kResponder, [&inc](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto severity = StringField(*body, "severity", true);
    if (!severity.ok()) return http::Error(severity.status());
    auto reason = StringField(*body, "reason", true);
    if (!reason.ok()) return http::Error(reason.status());
    auto sev = ParseSeverity(*severity);
    if (!sev) return http::Error(InvalidArgument("'severity' must be SEV-1..SEV-4"));
    return Respond(inc.Classify(p.name, *id, *sev, *reason), 200, IncidentJson);
  }));

  r.Add("POST", "/api/v1/incidents/{id}/ack", Guard(tok, Role::kResponder, [&inc](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    return Respond(inc.Acknowledge(p.name, *id), 200, IncidentJson);
  }));

  // Moves the incident along the state machine. `isolated` and `closed` have their own actions
  // (the isolation playbook; the regression and post-mortem gates), so they are refused here.
  auto transition = [&inc](const Request& req, const Principal& p, std::optional<IncidentState> fixed) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto parsed = OptionalBody(req);
    if (!parsed.ok()) return http::Error(parsed.status());
    const Json& body = *parsed;
    auto reason = StringField(body, "reason", false);
    if (!reason.ok()) return http::Error(reason.status());
    IncidentState to;
    if (fixed) {
      to = *fixed;
    } else {
      auto name = StringField(body, "state", true);
      if (!name.ok()) return http::Error(name.status());
      auto parsed = ParseState(*name);
      if (!parsed) return http::Error(InvalidArgument("unknown state '" + *name + "'"));
      to = *parsed;
      if (to == IncidentState::kIsolated) {
        return http::Error(Conflict("an incident becomes isolated through the isolation playbook "
                                    "(rollback, memory quarantine), not by setting its state"));
      }
      if (to == IncidentState::kClosed) {
        return http::Error(Conflict("closing needs a passing regression case and a post-mortem; "
                                    "use the close action (POST /api/v1/incidents/{id}/close)"));
      }
    }
    return Respond(inc.Transition(p.name, *id, to, *reason), 200, IncidentJson);
  };
  r.Add("POST", "/api/v1/incidents/{id}/resolve", Guard(tok, Role::kResponder, [transition](const Request& req, const Principal& p) {
    return transition(req, p, IncidentState::kResolved);
  }));
  r.Add("POST", "/api/v1/incidents/{id}/state", Guard(tok, Role::kResponder, [transition](const Request& req, const Principal& p) {
    return transition(req, p, std::nullopt);
  }));

  // Closing is final and gated (IncidentService::Close): 409 names what is still missing.
  r.Add("POST", "/api/v1/incidents/{id}/close", Guard(tok, Role::kResponder, [&inc](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = OptionalBody(req);
    if (!body.ok()) return http::Error(body.status());
    auto reason = StringField(*body, "reason", false);
    if (!reason.ok()) return http::Error(reason.status());
    return Respond(inc.Close(p.name, *id, *reason), 200, IncidentJson);
  }));

  // The isolation playbook: rollback, memory quarantine, trace flags, banner (isolation/).
  r.Add("POST", "/api/v1/incidents/{id}/isolate", Guard(tok, Role::kResponder, [&d](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = OptionalBody(req);
    if (!body.ok()) return http::Error(body.status());
    IsolationRequest ir;
    if (auto it = body->find("dry_run"); it != body->end() && !it->is_null()) {
      if (!it->is_boolean()) return http::Error(InvalidArgument("'dry_run' must be true or false"));
      ir.dry_run = it->get<bool>();
    }
    auto since = TimeField(*body, "since");
    if (!since.ok()) return http::Error(since.status());
    ir.since = *since;
    auto names = StringArray(*body, "steps");
    if (!names.ok()) return http::Error(names.status());
    if (names->size() > 16) return http::Error(InvalidArgument("'steps' lists more than 16 names"));
    auto steps = ParseIsolationSteps(*names);
    if (!steps.ok()) return http::Error(steps.status());
    ir.steps = *steps;
    return Respond(d.isolation.Isolate(p.name, *id, ir), 200, IsolationJson);
  }));

  r.Add("GET", "/api/v1/incidents/{id}/timeline", Guard(tok, Role::kViewer, [&inc](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto events = inc.Timeline(*id);
    if (!events.ok()) return http::Error(events.status());
    Json out = {{"incident", IncidentName(*id)}, {"events", Json::array()}};
    for (const auto& e : *events) out["events"].push_back(EventJson(e));
    return http::Json(200, out);
  }));

  r.Add("POST", "/api/v1/incidents/{id}/timeline", Guard(tok, Role::kResponder, Idempotent(d.store, d.clock, [&inc](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto text = StringField(*body, "text", true);
    if (!text.ok()) return http::Error(text.status());
    return Respond(inc.AddNote(p.name, *id, *text), 201, EventJson);
  })));
}

}  // namespace firebreak::api
