#include "api/api.h"

#include "api/json.h"
#include "incidents/severity.h"
#include "incidents/state.h"

namespace firebreak::api {
namespace {

using http::Request;
using http::Response;
using Json = nlohmann::json;

using GuardedHandler = std::function<Response(const Request&, const Principal&)>;

// Wraps a handler with authentication and the role check.
http::Handler Guard(TokenService& tokens, Role role, GuardedHandler fn) {
  return [&tokens, role, fn = std::move(fn)](const Request& req) -> Response {
    auto principal = tokens.Authenticate(req.Header("authorization"));
    if (!principal.ok()) return http::Error(principal.status());
    Status allowed = Authorize(*principal, role);
    if (!allowed.ok()) return http::Error(allowed);
    return fn(req, *principal);
  };
}

// Reads an optional string field; kInvalidArgument when present with another type.
StatusOr<std::string> StringField(const Json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument(std::string("'") + name + "' is required");
    return std::string();
  }
  if (!it->is_string()) return InvalidArgument(std::string("'") + name + "' must be a string");
  return it->get<std::string>();
}

StatusOr<int64_t> IncidentIdParam(const Request& req) {
  const std::string& raw = req.params.at("id");
  auto id = ParseIncidentId(raw);
  if (!id) return NotFound("no incident '" + raw + "' (ids look like INC-42)");
  return *id;
}

template <typename T, typename Fn>
Response Respond(StatusOr<T> result, int status, Fn encode) {
  if (!result.ok()) return http::Error(result.status());
  return http::Json(status, encode(*result));
}

void RegisterHealth(http::Router& r, const Deps& d) {
  r.Add("GET", "/healthz", [&d](const Request&) {
    // A read transaction proves the store answers, not only that the process is up.
    Status s = d.store.Read([](Txn& txn) { return txn.tokens().Count().status(); });
    if (!s.ok()) return http::Error(Unavailable("store unavailable: " + s.message()));
    return http::Json(200, {{"status", "ok"}, {"version", d.version}});
  });
  r.Add("GET", "/metrics", Guard(d.tokens, Role::kViewer, [&d](const Request&, const Principal&) {
    Response res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    d.metrics.Render(res.body);
    StoreStats st = d.store.Stats();
    auto gauge = [&](const char* name, const char* help, const char* type, int64_t v) {
      res.body += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type +
                  "\n" + name + "{backend=\"" + st.backend + "\"} " + std::to_string(v) + "\n";
    };
    gauge("firebreak_store_schema_version", "Applied schema migrations.", "gauge", st.schema_version);
    gauge("firebreak_store_file_bytes", "Size of the store's main file.", "gauge", st.file_bytes);
    gauge("firebreak_store_wal_bytes", "Size of the store's write-ahead log.", "gauge", st.wal_bytes);
    gauge("firebreak_store_write_transactions_total", "Committed write transactions.", "counter",
          st.write_transactions);
    gauge("firebreak_store_failed_write_transactions_total", "Rolled back write transactions.",
          "counter", st.failed_write_transactions);
    gauge("firebreak_store_read_transactions_total", "Read transactions.", "counter",
          st.read_transactions);
    return res;
  }));
}

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

  r.Add("POST", "/api/v1/incidents", Guard(tok, Role::kResponder, [&inc](const Request& req, const Principal& p) {
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
  }));

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
    try {
      q.limit = std::stoi(req.Query("limit", "50"));
      std::string cursor = req.Query("cursor");
      if (!cursor.empty()) {
        auto id = ParseIncidentId(cursor);
        if (!id) return http::Error(InvalidArgument("bad 'cursor'"));
        q.before_id = *id;
      }
    } catch (const std::exception&) {
      return http::Error(InvalidArgument("'limit' must be a number"));
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
    Json body = Json::object();
    if (!req.body.empty()) {
      auto parsed = http::ParseJsonObject(req.body);
      if (!parsed.ok()) return http::Error(parsed.status());
      body = *parsed;
    }
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
                                    "use the close action"));
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

  r.Add("GET", "/api/v1/incidents/{id}/timeline", Guard(tok, Role::kViewer, [&inc](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto events = inc.Timeline(*id);
    if (!events.ok()) return http::Error(events.status());
    Json out = {{"incident", IncidentName(*id)}, {"events", Json::array()}};
    for (const auto& e : *events) out["events"].push_back(EventJson(e));
    return http::Json(200, out);
  }));

  r.Add("POST", "/api/v1/incidents/{id}/timeline", Guard(tok, Role::kResponder, [&inc](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto text = StringField(*body, "text", true);
    if (!text.ok()) return http::Error(text.status());
    return Respond(inc.AddNote(p.name, *id, *text), 201, EventJson);
  }));
}

void RegisterAdmin(http::Router& r, const Deps& d) {
  TokenService& tok = d.tokens;

  r.Add("POST", "/api/v1/tokens", Guard(tok, Role::kAdmin, [&tok](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto name = StringField(*body, "name", true);
    auto role = StringField(*body, "role", true);
    auto agent = StringField(*body, "agent", false);
    for (const auto* f : {&name, &role, &agent}) {
      if (!f->ok()) return http::Error(f->status());
    }
    auto parsed = ParseRole(*role);
    if (!parsed) {
      return http::Error(InvalidArgument("'role' must be agent, viewer, responder or admin"));
    }
    auto created = tok.Create(p.name, *name, *parsed, *agent);
    if (!created.ok()) return http::Error(created.status());
    Json out = TokenJson(created->record);
    out["token"] = created->secret;
    return http::Json(201, out);
  }));

  r.Add("GET", "/api/v1/tokens", Guard(tok, Role::kAdmin, [&tok](const Request&, const Principal&) {
    auto list = tok.List();
    if (!list.ok()) return http::Error(list.status());
    Json out = {{"tokens", Json::array()}};
    for (const auto& t : *list) out["tokens"].push_back(TokenJson(t));
    return http::Json(200, out);
  }));

  r.Add("DELETE", "/api/v1/tokens/{name}", Guard(tok, Role::kAdmin, [&tok](const Request& req, const Principal& p) {
    const std::string& name = req.params.at("name");
    Status s = tok.Revoke(p.name, name);
    if (!s.ok()) return http::Error(s);
    return http::Json(200, {{"revoked", name}});
  }));

  r.Add("GET", "/api/v1/audit/verify", Guard(tok, Role::kViewer, [&d](const Request&, const Principal&) {
    auto report = d.log.Verify(d.store);
    if (!report.ok()) return http::Error(report.status());
    Json out = {{"intact", report->intact}, {"events_checked", report->events_checked}};
    if (report->first_broken) {
      out["first_broken"] = EventJson(*report->first_broken);
      out["problem"] = report->problem;
    }
    return http::Json(200, out);
  }));
}

}  // namespace

void RegisterRoutes(http::Router& router, const Deps& deps) {
  RegisterHealth(router, deps);
  RegisterIncidents(router, deps);
  RegisterAdmin(router, deps);
}

}  // namespace firebreak::api
