// Communication: the public banner (GET /api/v1/status, no token), an incident's notice,
// its structured updates by audience, its comms facts, the message lint, the timeline stream,
// the users an incident affected, and one notice per affected user.
#include "api/routes.h"

#include "api/handler_util.h"
#include "api/json.h"
#include "comms/comms_service.h"
#include "common/crypto.h"

namespace firebreak::api {
namespace {

Json NoticeJson(const NoticeRecord& n) {
  return {{"incident", IncidentName(n.incident_id)},
          {"status", n.status},
          {"message", n.message},
          {"eta", OptTime(n.eta)},
          {"next_update_at", OptTime(n.next_update_at)},
          {"updated_at", FormatTime(n.updated_at)},
          {"updated_by", n.updated_by},
          {"created_at", FormatTime(n.created_at)},
          {"lint", Json::parse(n.lint_json, nullptr, false)},
          {"override_reason", n.override_reason}};
}

Json UpdateJson(const UpdateRecord& u) {
  return {{"id", u.id},
          {"incident", IncidentName(u.incident_id)},
          {"audience", u.audience},
          {"impact", u.impact},
          {"actions", u.actions},
          {"user_action", u.user_action},
          {"eta", OptTime(u.eta)},
          {"next_update_at", OptTime(u.next_update_at)},
          {"created_by", u.created_by},
          {"created_at", FormatTime(u.created_at)},
          {"lint", Json::parse(u.lint_json, nullptr, false)},
          {"override_reason", u.override_reason}};
}

Json FactsJson(const CommsRecord& c) {
  return {{"incident", IncidentName(c.incident_id)},
          {"owner", c.owner},
          {"root_cause", c.root_cause},
          {"root_cause_confirmed_at", OptTime(c.root_cause_confirmed_at)},
          {"next_update_at", OptTime(c.next_update_at)}};
}

// A refusal by the lint: the usual error body, with the findings.
Response Refused(const LintRefusal& refusal) {
  return ErrorWithFindings(refusal.status, FindingsJson(refusal.findings));
}

// One client of GET /api/v1/stream: the events it missed (Last-Event-ID) first, then live ones;
// sequence numbers never go backwards on the wire.
struct TimelineStream {
  std::mutex mu;
  std::shared_ptr<http::EventStream> stream;  // GUARDED_BY(mu); null until the backlog is sent
  std::vector<EventRecord> pending;           // GUARDED_BY(mu): live events during the backlog
  int64_t last_sent = 0;                      // GUARDED_BY(mu)
  std::optional<int64_t> incident;            // only this incident's events

  // Sends `e` when the client does not have it yet. Call with mu held.
  void SendLocked(const EventRecord& e) {
    if (e.seq <= last_sent || !e.incident_id) return;
    if (incident && *e.incident_id != *incident) return;
    if (stream->Send({std::to_string(e.seq), e.kind, EventJson(e).dump()})) last_sent = e.seq;
  }
};

// The most events a reconnecting client gets back at once; older ones are on the timeline.
constexpr int kStreamBacklog = 10'000;

}  // namespace

void RegisterComms(http::Router& r, const Deps& d) {
  TokenService& tok = d.tokens;
  CommsService& comms = d.comms;
  traces::TraceService& traces = d.traces;
  notify::UserNotifier& notifier = d.notifier;

  // The banner a product polls: no token, any origin, cacheable for 5 s. Only public notices
  // exist, so nothing internal can reach it.
  r.Add("GET", "/api/v1/status", [&comms](const Request& req) {
    auto notices = comms.PublicStatus();
    if (!notices.ok()) return http::Error(notices.status());
    Json out = {{"notices", Json::array()}};
    for (const auto& p : *notices) {
      const NoticeRecord& n = p.notice;
      out["notices"].push_back({{"incident", IncidentName(n.incident_id)},
                                {"severity", p.severity > 0 ? Json("SEV-" + std::to_string(p.severity)) : Json(nullptr)},
                                {"status", n.status},
                                {"message", n.message},
                                {"eta", OptTime(n.eta)},
                                {"next_update_at", OptTime(n.next_update_at)},
                                {"updated_at", FormatTime(n.updated_at)},
                                {"overdue", p.overdue}});
    }
    Response res = http::Json(200, out);
    std::string etag = "\"" + Sha256Hex(res.body).substr(0, 32) + "\"";
    res.headers.push_back({"Access-Control-Allow-Origin", "*"});
    res.headers.push_back({"Cache-Control", "public, max-age=5"});
    res.headers.push_back({"ETag", etag});
    if (req.Header("if-none-match") == etag) {
      res.status = 304;
      res.body.clear();
    }
    return res;
  });

  // The incidents' timelines live (updates of every audience included: viewers are staff).
  // Event ids are the audit log's sequence numbers; Last-Event-ID (or ?last_event_id=) resumes.
  r.AddAsync("GET", "/api/v1/stream", [&d](const Request& req, std::shared_ptr<http::Completion> done) {
    auto principal = d.tokens.Authenticate(req.Header("authorization"));
    if (!principal.ok()) return done->Respond(http::Error(principal.status()));
    if (Status allowed = Authorize(*principal, Role::kViewer); !allowed.ok()) {
      return done->Respond(http::Error(allowed));
    }
    auto state = std::make_shared<TimelineStream>();
    if (std::string inc = req.Query("incident"); !inc.empty()) {
      state->incident = ParseIncidentId(inc);
      if (!state->incident) {
        return done->Respond(http::Error(InvalidArgument("'incident' must be an incident id such as INC-42")));
      }
    }
    std::string last_text(req.Header("last-event-id"));
    if (last_text.empty()) last_text = req.Query("last_event_id");
    std::optional<int64_t> resume;
    if (!last_text.empty()) {
      try {
        size_t used = 0;
        resume = std::stoll(last_text, &used);
        if (used != last_text.size() || *resume < 0) throw std::invalid_argument("id");
      } catch (const std::exception&) {
        return done->Respond(http::Error(InvalidArgument("'Last-Event-ID' must be an event sequence number")));
      }
    }
    uint64_t id = d.timeline.Subscribe([state](const EventRecord& e) {
      std::lock_guard<std::mutex> lock(state->mu);
      if (!state->stream) {
        state->pending.push_back(e);
        return;
      }
      state->SendLocked(e);
    });
    std::vector<EventRecord> backlog;
    if (resume) {
      Status read = d.store.Read([&](Txn& txn) -> Status {
        int64_t after = *resume;
        while (static_cast<int>(backlog.size()) < kStreamBacklog) {
          FB_ASSIGN_OR_RETURN(auto batch, txn.events().After(after, 1000));
          if (batch.empty()) break;
          after = batch.back().seq;
          backlog.insert(backlog.end(), batch.begin(), batch.end());
        }
        return Status::Ok();
      });
      if (!read.ok()) {
        d.timeline.Unsubscribe(id);
        return done->Respond(http::Error(read));
      }
    }
    auto stream = done->OpenStream();
    if (!stream) {
      d.timeline.Unsubscribe(id);
      return;
    }
    TimelineFeed& feed = d.timeline;
    stream->OnClose([&feed, id] { feed.Unsubscribe(id); });
    std::lock_guard<std::mutex> lock(state->mu);
    state->stream = stream;
    state->last_sent = resume.value_or(0);
    for (const auto& e : backlog) state->SendLocked(e);
    for (const auto& e : state->pending) state->SendLocked(e);
    state->pending.clear();
  });

  r.Add("GET", "/api/v1/incidents/{id}/notice", Guard(tok, Role::kViewer, [&comms](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto notice = comms.Notice(*id);
    if (!notice.ok()) return http::Error(notice.status());
    if (!*notice) return http::Error(NotFound(IncidentName(*id) + " has no notice"));
    return http::Json(200, NoticeJson(**notice));
  }));

  r.Add("PUT", "/api/v1/incidents/{id}/notice", Guard(tok, Role::kResponder, [&comms](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    NoticeInput in;
    auto status = StringField(*body, "status", false);
    auto message = StringField(*body, "message", true);
    auto reason = StringField(*body, "override_reason", false);
    auto audience = StringField(*body, "audience", false);
    auto eta = TimeField(*body, "eta");
    auto next = TimeField(*body, "next_update_at");
    for (const Status* s : {&status.status(), &message.status(), &reason.status(), &audience.status(),
                            &eta.status(), &next.status()}) {
      if (!s->ok()) return http::Error(*s);
    }
    if (!status->empty()) in.status = *status;
    if (!audience->empty()) in.audience = *audience;
    in.message = *message;
    in.override_reason = *reason;
    in.eta = *eta;
    in.next_update_at = *next;
    LintRefusal refusal;
    auto set = comms.SetNotice(p.name, *id, in, &refusal);
    if (!set.ok()) return refusal.findings.empty() ? http::Error(set.status()) : Refused(refusal);
    return http::Json(200, {{"notice", NoticeJson(set->record)}, {"findings", FindingsJson(set->findings)}});
  }));

  r.Add("DELETE", "/api/v1/incidents/{id}/notice", Guard(tok, Role::kResponder, [&comms](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    Status s = comms.ClearNotice(p.name, *id);
    if (!s.ok()) return http::Error(s);
    return http::Json(200, {{"incident", IncidentName(*id)}, {"cleared", true}});
  }));

  r.Add("POST", "/api/v1/incidents/{id}/updates", Guard(tok, Role::kResponder, Idempotent(d.store, d.clock, [&comms](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    UpdateInput in;
    auto audience = StringField(*body, "audience", true);
    auto impact = StringField(*body, "impact", true);
    auto actions = StringField(*body, "actions", false);
    auto user_action = StringField(*body, "user_action", false);
    auto reason = StringField(*body, "override_reason", false);
    auto eta = TimeField(*body, "eta");
    auto next = TimeField(*body, "next_update_at");
    for (const Status* s : {&audience.status(), &impact.status(), &actions.status(), &user_action.status(),
                            &reason.status(), &eta.status(), &next.status()}) {
      if (!s->ok()) return http::Error(*s);
    }
    in.audience = *audience;
    in.impact = *impact;
    in.actions = *actions;
    in.user_action = *user_action;
    in.override_reason = *reason;
    in.eta = *eta;
    in.next_update_at = *next;
    LintRefusal refusal;
    auto posted = comms.PostUpdate(p.name, *id, in, &refusal);
    if (!posted.ok()) return refusal.findings.empty() ? http::Error(posted.status()) : Refused(refusal);
    return http::Json(201, {{"update", UpdateJson(posted->record)}, {"findings", FindingsJson(posted->findings)}});
  })));

  r.Add("GET", "/api/v1/incidents/{id}/updates", Guard(tok, Role::kViewer, [&comms](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    return Respond(comms.Updates(*id, req.Query("audience")), 200, [&](const std::vector<UpdateRecord>& list) {
      Json out = {{"incident", IncidentName(*id)}, {"updates", Json::array()}};
      for (const auto& u : list) out["updates"].push_back(UpdateJson(u));
      return out;
    });
  }));

  r.Add("GET", "/api/v1/incidents/{id}/comms", Guard(tok, Role::kViewer, [&comms](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    return Respond(comms.Facts(*id), 200, FactsJson);
  }));

  r.Add("PUT", "/api/v1/incidents/{id}/comms", Guard(tok, Role::kResponder, [&comms](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    std::optional<std::string> owner, root_cause;
    for (auto [name, slot] : {std::pair<const char*, std::optional<std::string>*>{"owner", &owner},
                              {"root_cause", &root_cause}}) {
      if (!body->contains(name)) continue;
      auto v = StringField(*body, name, true);
      if (!v.ok()) return http::Error(v.status());
      *slot = *v;
    }
    return Respond(comms.SetFacts(p.name, *id, owner, root_cause), 200, FactsJson);
  }));

  r.Add("POST", "/api/v1/incidents/{id}/lint", Guard(tok, Role::kViewer, [&comms](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto text = StringField(*body, "text", true);
    auto audience = StringField(*body, "audience", false);
    auto eta = TimeField(*body, "eta");
    auto next = TimeField(*body, "next_update_at");
    for (const Status* s : {&text.status(), &audience.status(), &eta.status(), &next.status()}) {
      if (!s->ok()) return http::Error(*s);
    }
    auto findings = comms.Lint(*id, *text, audience->empty() ? "public" : *audience,
                               eta->has_value() || next->has_value());
    if (!findings.ok()) return http::Error(findings.status());
    bool blocking = false;
    for (const auto& f : *findings) blocking = blocking || f.blocking;
    return http::Json(200, {{"findings", FindingsJson(*findings)}, {"blocking", blocking}});
  }));

  r.Add("GET", "/api/v1/incidents/{id}/affected-users",
        Guard(tok, Role::kViewer, [&traces](const Request& req, const Principal&) {
          auto id = IncidentIdParam(req);
          if (!id.ok()) return http::Error(id.status());
          auto from = TimeParam(req, "from");
          auto to = TimeParam(req, "to");
          auto limit = IntParam(req, "limit", 100, 1, 1000);
          for (const Status* s : {&from.status(), &to.status(), &limit.status()}) {
            if (!s->ok()) return http::Error(*s);
          }
          traces::AffectedQuery q;
          q.incident_id = *id;
          q.from = *from;
          q.to = *to;
          q.limit = *limit;
          q.after_user = req.Query("cursor");
          return Respond(traces.ListAffectedUsers(q), 200, [&](const traces::AffectedUsers& a) {
            Json users = Json::array();
            for (const auto& u : a.users) {
              users.push_back({{"user_id", u.user_id},
                               {"traces", u.traces},
                               {"evidence_traces", u.evidence_traces},
                               {"first_at", FormatTime(u.first_at)},
                               {"last_at", FormatTime(u.last_at)}});
            }
            Json out = {{"incident", IncidentName(*id)},
                        {"window", {{"agent", a.scope.agent},
                                    {"from", FormatTime(a.scope.from)},
                                    {"to", FormatTime(a.scope.to)}}},
                        {"total_users", a.totals.users},
                        {"traces", a.totals.traces},
                        {"evidence_traces", a.totals.evidence_traces},
                        {"unknown_user_traces", a.totals.unknown_user_traces},
                        {"users", users}};
            if (!a.next_cursor.empty()) out["next_cursor"] = a.next_cursor;
            return out;
          });
        }));

  r.Add("POST", "/api/v1/incidents/{id}/notify",
        Guard(tok, Role::kResponder, [&notifier, &comms](const Request& req, const Principal& p) {
          auto id = IncidentIdParam(req);
          if (!id.ok()) return http::Error(id.status());
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          auto update = IntField(*body, "update", 0, 1, std::numeric_limits<int64_t>::max());
          if (!update.ok()) return http::Error(update.status());
          if (*update == 0) return http::Error(InvalidArgument("'update' is required"));
          auto message = StringField(*body, "message", true);
          if (!message.ok()) return http::Error(message.status());
          auto reason = StringField(*body, "override_reason", false);
          if (!reason.ok()) return http::Error(reason.status());
          notify::NotifyRequest n{*id, *update, *message};
          if (Status checked = notifier.Check(n); !checked.ok()) return http::Error(checked);
          // The update must be one for users, and the message passes the lint.
          LintRefusal refusal;
          auto findings = comms.CheckNotification(p.name, *id, *update, *message, *reason, &refusal);
          if (!findings.ok()) {
            return refusal.findings.empty() ? http::Error(findings.status()) : Refused(refusal);
          }
          return Respond(notifier.Notify(p.name, n), 202, [&](const paging::NoticeResult& r) {
            return Json{{"incident", IncidentName(*id)},
                        {"update", *update},
                        {"queued", r.queued},
                        {"already_queued", r.already_queued},
                        {"findings", FindingsJson(*findings)}};
          });
        }));
}

}  // namespace firebreak::api
