// Communication endpoints: the users an incident affected, and one notice per affected user.
#include "api/handler_util.h"
#include "api/routes.h"

namespace firebreak::api {

void RegisterComms(http::Router& r, const Deps& d) {
  TokenService& tok = d.tokens;
  traces::TraceService& traces = d.traces;
  notify::UserNotifier& notifier = d.notifier;

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
        Guard(tok, Role::kResponder, [&notifier](const Request& req, const Principal& p) {
          auto id = IncidentIdParam(req);
          if (!id.ok()) return http::Error(id.status());
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          auto update = IntField(*body, "update", 0, 1, std::numeric_limits<int64_t>::max());
          if (!update.ok()) return http::Error(update.status());
          if (*update == 0) return http::Error(InvalidArgument("'update' is required"));
          auto message = StringField(*body, "message", true);
          if (!message.ok()) return http::Error(message.status());
          notify::NotifyRequest n{*id, *update, *message};
          return Respond(notifier.Notify(p.name, n), 202, [&](const paging::NoticeResult& r) {
            return Json{{"incident", IncidentName(*id)},
                        {"update", *update},
                        {"queued", r.queued},
                        {"already_queued", r.already_queued}};
          });
        }));
}

}  // namespace firebreak::api
