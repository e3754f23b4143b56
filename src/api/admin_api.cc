// Admin: tokens and the audit chain.
#include "api/routes.h"

#include "api/handler_util.h"
#include "api/json.h"

namespace firebreak::api {

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
    Json out = {{"intact", report->intact}, {"events_checked", report->events_checked},
                {"anchors_checked", report->anchors_checked}, {"last_anchor", nullptr}};
    if (const auto& a = report->last_anchor) {
      out["last_anchor"] = {{"seq", a->seq}, {"hash", a->hash}, {"at", FormatTime(a->at)}};
    }
    if (!report->intact) out["problem"] = report->problem;
    if (report->first_broken) out["first_broken"] = EventJson(*report->first_broken);
    return http::Json(200, out);
  }));
}

}  // namespace firebreak::api
