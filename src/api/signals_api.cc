// Signals, scores and paging: POST/GET /api/v1/signals, the Alertmanager webhook, evaluation
// scores, manual pages, and the delivery outbox.
#include <algorithm>
#include <cctype>

#include "api/alertmanager.h"
#include "api/handler_util.h"
#include "api/json.h"
#include "api/routes.h"
#include "common/text.h"
#include "incidents/severity.h"

namespace firebreak::api {
namespace {

constexpr size_t kMaxSignalsPerPost = 500;

// Severity as "SEV-2", "sev2", "2" or 2; alerting words map onto the taxonomy (AlertSeverity).
// The signal API's own field: a word it does not know is the poster's mistake, told as a 400.
StatusOr<int> SeverityValue(const Json& v, const char* field) {
  if (v.is_null()) return 0;
  if (v.is_number_integer()) {
    int64_t n = v.get<int64_t>();
    if (n >= 1 && n <= 4) return static_cast<int>(n);
  } else if (v.is_string()) {
    if (auto sev = AlertSeverity(v.get<std::string>())) return *sev;
  }
  return InvalidArgument(std::string("'") + field +
                         "' must be SEV-1..SEV-4 (or critical, major, warning, info, P1..P4)");
}

StatusOr<NewSignal> SignalFromJson(const Json& body) {
  if (!body.is_object()) return InvalidArgument("a signal must be a JSON object");
  NewSignal s;
  FB_ASSIGN_OR_RETURN(s.kind, StringField(body, "kind", true));
  FB_ASSIGN_OR_RETURN(s.agent, StringField(body, "agent", true));
  FB_ASSIGN_OR_RETURN(s.version, StringField(body, "version", false));
  FB_ASSIGN_OR_RETURN(s.category, StringField(body, "category", false));
  FB_ASSIGN_OR_RETURN(s.reason, StringField(body, "reason", true));
  FB_ASSIGN_OR_RETURN(s.fingerprint, StringField(body, "fingerprint", false));
  FB_ASSIGN_OR_RETURN(std::string status, StringField(body, "status", false));
  if (!status.empty()) s.status = status;
  FB_ASSIGN_OR_RETURN(s.evidence, StringArray(body, "evidence"));
  if (auto it = body.find("measured"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("'measured' must be an object");
    s.measured = *it;
  }
  FB_ASSIGN_OR_RETURN(s.suggested_severity,
                      SeverityValue(body.contains("severity") ? body["severity"] : Json(), "severity"));
  FB_ASSIGN_OR_RETURN(s.detected_at, TimeField(body, "detected_at"));
  return s;
}

std::string Label(const Json& labels, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = labels.find(k);
    if (it != labels.end() && it->is_string() && !it->get<std::string>().empty()) {
      return it->get<std::string>();
    }
  }
  return "";
}

}  // namespace

// The Prometheus Alertmanager webhook (payload version 4): one signal per alert. The envelope's
// shape is checked (400); label values never refuse the notification, since Alertmanager would
// retry it forever and every alert grouped with the odd one would be lost.
StatusOr<std::vector<NewSignal>> AlertmanagerSignals(const Json& body,
                                                     const AlertmanagerPolicy& policy) {
  if (!body.is_object()) return InvalidArgument("the body must be an Alertmanager webhook payload");
  if (auto v = body.find("version"); v != body.end() && !(v->is_string() && v->get<std::string>() == "4")) {
    return InvalidArgument("only Alertmanager webhook payload version \"4\" is understood");
  }
  auto alerts = body.find("alerts");
  if (alerts == body.end() || !alerts->is_array()) return InvalidArgument("'alerts' must be an array");
  if (alerts->size() > kMaxSignalsPerPost) return InvalidArgument("more than 500 alerts in one payload");
  FB_ASSIGN_OR_RETURN(std::string group_status, StringField(body, "status", false));
  Json common_labels = body.value("commonLabels", Json::object());
  if (common_labels.is_null()) common_labels = Json::object();
  if (!common_labels.is_object()) return InvalidArgument("'commonLabels' must be an object");
  const char* agent_label = policy.agent_label.c_str();
  std::vector<NewSignal> out;
  for (size_t i = 0; i < alerts->size(); ++i) {
    const Json& a = (*alerts)[i];
    std::string where = "alerts[" + std::to_string(i) + "]";
    if (!a.is_object()) return InvalidArgument(where + " must be an object");
    Json labels = a.value("labels", Json::object());
    Json annotations = a.value("annotations", Json::object());
    if (!labels.is_object() || !annotations.is_object()) {
      return InvalidArgument(where + ".labels and .annotations must be objects");
    }
    NewSignal s;
    std::string name = Label(labels, {"alertname"});
    if (name.empty()) name = "unnamed";
    s.kind = "alert." + SignalName(name);
    s.source = "alertmanager";
    s.agent = SignalName(Label(labels, {agent_label}));
    if (s.agent.empty()) s.agent = SignalName(Label(common_labels, {agent_label}));
    if (s.agent.empty()) s.agent = "unassigned";
    s.version = SignalName(Label(labels, {"version"}));
    s.category = SignalName(Label(labels, {"category"}));
    FB_ASSIGN_OR_RETURN(std::string status, StringField(a, "status", false));
    if (status.empty()) status = group_status.empty() ? "firing" : group_status;
    if (status != "firing" && status != "resolved") {
      return InvalidArgument(where + ".status must be firing or resolved");
    }
    s.status = status;
    // The severity label as the alert rule wrote it stays in the signal (measured.labels).
    std::optional<int> severity = AlertSeverity(Label(labels, {"severity"}));
    s.suggested_severity = severity.value_or(policy.default_severity);
    s.reason = Label(annotations, {"summary", "description", "message"});
    if (s.reason.empty()) s.reason = "Alertmanager alert " + name;
    s.reason = TruncateUtf8(s.reason, 2000, "...");
    FB_ASSIGN_OR_RETURN(std::string starts, StringField(a, "startsAt", false));
    if (!starts.empty()) {
      auto t = ParseTime(starts);
      if (!t) return InvalidArgument(where + ".startsAt must be an RFC 3339 time");
      s.detected_at = *t;
    }
    FB_ASSIGN_OR_RETURN(std::string fp, StringField(a, "fingerprint", false));
    FB_ASSIGN_OR_RETURN(std::string generator_url, StringField(a, "generatorURL", false));
    // One signal per alert episode: the same fingerprint and start time is the same alert.
    s.fingerprint = "alertmanager:" + (fp.empty() ? name + ":" + s.agent : fp) + ":" + starts;
    s.measured = {{"labels", labels}, {"annotations", annotations},
                  {"generator_url", generator_url},
                  {"severity", {{"label", labels.value("severity", Json())},
                                {"suggested", std::string(SeverityName(static_cast<Severity>(s.suggested_severity)))},
                                {"from", severity ? "label" : "default"}}}};
    out.push_back(std::move(s));
  }
  return out;
}

namespace {

Json OutcomesJson(const std::vector<SignalOutcome>& outcomes) {
  Json list = Json::array();
  for (const auto& o : outcomes) {
    Json j = SignalToJson(o.signal);
    j["duplicate"] = o.duplicate;
    j["opened_incident"] = o.opened;
    if (o.incident) j["incident_detail"] = IncidentJson(*o.incident);
    list.push_back(std::move(j));
  }
  return {{"signals", list}};
}

}  // namespace

void RegisterSignals(http::Router& r, const Deps& d) {
  TokenService& tok = d.tokens;
  SignalService& sig = d.signals;
  DetectionPipeline& det = d.detection;
  paging::Pager& pager = d.pager;
  traces::TraceService& traces = d.traces;

  // One signal ({...}) or a batch ({"signals": [...]}); an agent token posts for its agent only.
  r.Add("POST", "/api/v1/signals", Guard(tok, Role::kAgent, Idempotent(d.store, d.clock, [&sig](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    std::vector<NewSignal> batch;
    if (auto it = body->find("signals"); it != body->end()) {
      if (!it->is_array() || it->empty() || it->size() > kMaxSignalsPerPost) {
        return http::Error(InvalidArgument("'signals' must be an array of 1..500 signals"));
      }
      for (size_t i = 0; i < it->size(); ++i) {
        auto s = SignalFromJson((*it)[i]);
        if (!s.ok()) {
          return http::Error(InvalidArgument("signals[" + std::to_string(i) + "]: " + s.status().message()));
        }
        batch.push_back(std::move(*s));
      }
    } else {
      auto s = SignalFromJson(*body);
      if (!s.ok()) return http::Error(s.status());
      batch.push_back(std::move(*s));
    }
    for (const auto& s : batch) {
      if (Status a = AuthorizeForAgent(p, s.agent); !a.ok()) return http::Error(a);
    }
    return Respond(sig.Record(p.name, batch, p.role == Role::kAgent), 201, OutcomesJson);
  })));

  r.Add("GET", "/api/v1/signals", Guard(tok, Role::kViewer, [&sig](const Request& req, const Principal&) {
    SignalQuery q;
    q.agent = req.Query("agent");
    q.kind = req.Query("kind");
    q.status = req.Query("status");
    if (std::string inc = req.Query("incident"); !inc.empty()) {
      q.incident_id = ParseIncidentId(inc);
      if (!q.incident_id) return http::Error(InvalidArgument("'incident' must be an incident id such as INC-42"));
    }
    auto page = PageParamsOf(req, 100);
    if (!page.ok()) return http::Error(page.status());
    q.limit = page->limit;
    q.before_id = page->before;
    return Respond(sig.List(q), 200, [](const std::vector<SignalRecord>& list) {
      Json out = Json::array();
      for (const auto& s : list) out.push_back(SignalToJson(s));
      return Json{{"signals", out}};
    });
  }));

  const AlertmanagerPolicy& alertmanager = d.alertmanager;
  r.Add("POST", "/api/v1/alerts/alertmanager", Guard(tok, Role::kResponder, [&sig, &alertmanager](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto batch = AlertmanagerSignals(*body, alertmanager);
    if (!batch.ok()) return http::Error(batch.status());
    if (batch->empty()) return http::Json(200, {{"signals", Json::array()}});
    return Respond(sig.Record(p.name, *batch), 200, OutcomesJson);
  }));

  // A score or a user's feedback on a stored trace: {trace, name, value?, feedback?}.
  r.Add("POST", "/api/v1/scores", Guard(tok, Role::kAgent, [&sig, &det, &traces](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto trace = StringField(*body, "trace", true);
    auto name = StringField(*body, "name", false);
    auto feedback = StringField(*body, "feedback", false);
    for (const auto* f : {&trace, &name, &feedback}) {
      if (!f->ok()) return http::Error(f->status());
    }
    auto view = traces.Get(*trace);
    if (!view.ok()) return http::Error(view.status());
    // Another agent's trace answers exactly like an unknown one: a 403 would tell it exists.
    if (p.role == Role::kAgent && p.agent != view->row.agent) {
      std::string name = *trace;
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      return http::Error(NotFound("no trace matches '" + name + "'"));
    }
    if (Status a = AuthorizeForAgent(p, view->row.agent); !a.ok()) return http::Error(a);
    ScoreRecord s;
    s.trace_id = view->row.trace_id;
    s.agent = view->row.agent;
    s.category = view->row.category;
    s.name = name->empty() ? (feedback->empty() ? "score" : "feedback") : *name;
    s.actor = p.name;
    if (auto v = body->find("value"); v != body->end() && !v->is_null()) {
      if (!v->is_number()) return http::Error(InvalidArgument("'value' must be a number in 0..1"));
      s.value = v->get<double>();
    }
    if (*feedback == "negative") s.negative_feedback = true;
    else if (*feedback == "positive") s.negative_feedback = false;
    else if (!feedback->empty()) return http::Error(InvalidArgument("'feedback' must be positive or negative"));
    auto stored = sig.RecordScore(s);
    if (!stored.ok()) return http::Error(stored.status());
    auto started = det.OnScore(*stored);
    Json out = {{"id", stored->id}, {"trace_id", stored->trace_id}, {"agent", stored->agent},
                {"name", stored->name}, {"at", FormatTime(stored->at)}};
    if (started.ok()) out["signals"] = OutcomesJson(*started)["signals"];
    return http::Json(201, out);
  }));

  r.Add("POST", "/api/v1/incidents/{id}/page", Guard(tok, Role::kResponder, [&pager](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = OptionalBody(req);
    if (!body.ok()) return http::Error(body.status());
    auto targets = StringArray(*body, "targets");
    auto message = StringField(*body, "message", false);
    if (!targets.ok()) return http::Error(targets.status());
    if (!message.ok()) return http::Error(message.status());
    return Respond(pager.PageNow(p.name, *id, *targets, *message), 202,
                   [](const std::vector<DeliveryRecord>& list) {
                     Json out = Json::array();
                     for (const auto& dl : list) out.push_back(paging::DeliveryToJson(dl));
                     return Json{{"deliveries", out}};
                   });
  }));

  r.Add("GET", "/api/v1/incidents/{id}/pages", Guard(tok, Role::kViewer, [&pager](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto timers = pager.Timers(*id);
    if (!timers.ok()) return http::Error(timers.status());
    DeliveryQuery q;
    q.incident_id = *id;
    q.limit = 1000;
    auto deliveries = pager.Deliveries(q);
    if (!deliveries.ok()) return http::Error(deliveries.status());
    Json t = Json::array(), dl = Json::array();
    for (const auto& x : *timers) t.push_back(paging::TimerToJson(x));
    for (const auto& x : *deliveries) dl.push_back(paging::DeliveryToJson(x));
    return http::Json(200, {{"incident", IncidentName(*id)}, {"timers", t}, {"deliveries", dl}});
  }));

  r.Add("GET", "/api/v1/deliveries", Guard(tok, Role::kViewer, [&pager](const Request& req, const Principal&) {
    DeliveryQuery q;
    if (std::string inc = req.Query("incident"); !inc.empty()) {
      q.incident_id = ParseIncidentId(inc);
      if (!q.incident_id) return http::Error(InvalidArgument("'incident' must be an incident id such as INC-42"));
    }
    q.status = req.Query("status");
    if (!q.status.empty() && q.status != "pending" && q.status != "delivered" && q.status != "failed") {
      return http::Error(InvalidArgument("'status' must be pending, delivered or failed"));
    }
    auto page = PageParamsOf(req, 100);
    if (!page.ok()) return http::Error(page.status());
    q.limit = page->limit;
    q.before_id = page->before;
    return Respond(pager.Deliveries(q), 200, [](const std::vector<DeliveryRecord>& list) {
      Json out = Json::array();
      for (const auto& dl : list) out.push_back(paging::DeliveryToJson(dl));
      return Json{{"deliveries", out}};
    });
  }));
}

}  // namespace firebreak::api
