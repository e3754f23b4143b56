// Post-mortems: generate, read, edit (versioned), export as Markdown, review and publish; the
// overdue ones; the actions, done or dropped.
#include "api/routes.h"

#include <limits>

#include "api/handler_util.h"
#include "api/json.h"
#include "postmortem/markdown.h"

namespace firebreak::api {
namespace {

Json PostmortemJson(const ReviewedPostmortem& r) {
  const postmortem::Postmortem& pm = r.pm;
  Json actions = Json::array();
  for (const auto& a : pm.actions) actions.push_back(postmortem::ActionJson(a));
  return {{"incident", IncidentName(pm.incident_id)},
          {"incident_title", pm.incident_title},
          {"severity", pm.severity > 0 ? Json("SEV-" + std::to_string(pm.severity)) : Json(nullptr)},
          {"incident_state", pm.incident_state},
          {"state", postmortem::StateName(pm.state)},
          {"version", pm.version},
          {"due_at", OptTime(pm.due_at)},
          {"overdue", pm.overdue},
          {"document", postmortem::DocumentJson(pm.doc)},
          {"actions", actions},
          {"generated", postmortem::GeneratedJson(pm.generated)},
          {"created_by", pm.created_by},
          {"created_at", FormatTime(pm.created_at)},
          {"updated_by", pm.updated_by},
          {"updated_at", FormatTime(pm.updated_at)},
          {"published_at", OptTime(pm.published_at)},
          {"findings", FindingsJson(r.findings)},
          {"blocking", r.blocking}};
}

Json ActionRecordJson(const ActionRecord& a) {
  Json j = postmortem::ActionJson({a.id, a.kind, a.description, a.owner, a.due_at, a.priority,
                                   a.status, a.drop_reason});
  j["incident"] = IncidentName(a.incident_id);
  j["updated_by"] = a.updated_by;
  j["updated_at"] = FormatTime(a.updated_at);
  j["finished_at"] = OptTime(a.finished_at);
  return j;
}

// Reads PUT's body: {version, document, actions?}.
StatusOr<PostmortemEdit> EditOf(const Json& body, const std::string& actor) {
  PostmortemEdit edit;
  FB_ASSIGN_OR_RETURN(edit.version, IntField(body, "version", 0, 1, std::numeric_limits<int64_t>::max()));
  if (edit.version == 0) {
    return InvalidArgument("'version' is required: the version the edit was made from (GET gives it)");
  }
  auto doc = body.find("document");
  if (doc == body.end()) return InvalidArgument("'document' is required");
  FB_ASSIGN_OR_RETURN(edit.doc, postmortem::DocumentFromJson(*doc, actor));
  if (auto it = body.find("actions"); it != body.end() && !it->is_null()) {
    FB_ASSIGN_OR_RETURN(edit.actions, postmortem::ActionsFromJson(*it));
  }
  return edit;
}

StatusOr<int64_t> ActionIdParam(const Request& req) {
  const std::string& raw = req.params.at("action");
  try {
    size_t used = 0;
    int64_t id = std::stoll(raw, &used);
    if (used == raw.size() && id > 0) return id;
  } catch (const std::exception&) {
  }
  return NotFound("no action '" + raw + "' (ids are numbers)");
}

}  // namespace

void RegisterPostmortem(http::Router& r, const Deps& d) {
  TokenService& tok = d.tokens;
  PostmortemService& pms = d.postmortems;

  r.Add("POST", "/api/v1/incidents/{id}/postmortem/generate",
        Guard(tok, Role::kResponder, Idempotent(d.store, d.clock, [&pms](const Request& req, const Principal& p) {
          auto id = IncidentIdParam(req);
          if (!id.ok()) return http::Error(id.status());
          bool created = false;
          auto generated = pms.Generate(p.name, *id, &created);
          return Respond(generated, created ? 201 : 200, PostmortemJson);
        })));

  r.Add("GET", "/api/v1/incidents/{id}/postmortem", Guard(tok, Role::kViewer, [&pms](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    return Respond(pms.Get(*id), 200, PostmortemJson);
  }));

  r.Add("PUT", "/api/v1/incidents/{id}/postmortem", Guard(tok, Role::kResponder, [&pms](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto edit = EditOf(*body, p.name);
    if (!edit.ok()) return http::Error(edit.status());
    return Respond(pms.Update(p.name, *id, *edit), 200, PostmortemJson);
  }));

  r.Add("GET", "/api/v1/incidents/{id}/postmortem.md", Guard(tok, Role::kViewer, [&pms](const Request& req, const Principal&) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto pm = pms.Get(*id);
    if (!pm.ok()) return http::Error(pm.status());
    Response res;
    res.content_type = "text/markdown; charset=utf-8";
    res.body = postmortem::RenderMarkdown(pm->pm);
    return res;
  }));

  // draft -> in_review -> published (and in_review -> draft); publishing refused with the
  // blocking findings.
  r.Add("POST", "/api/v1/incidents/{id}/postmortem/state", Guard(tok, Role::kResponder, [&pms](const Request& req, const Principal& p) {
    auto id = IncidentIdParam(req);
    if (!id.ok()) return http::Error(id.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto name = StringField(*body, "state", true);
    if (!name.ok()) return http::Error(name.status());
    auto to = postmortem::ParseState(*name);
    if (!to) return http::Error(InvalidArgument("'state' must be draft, in_review or published"));
    std::vector<postmortem::LintFinding> refusal;
    auto moved = pms.Move(p.name, *id, *to, &refusal);
    if (!moved.ok() && !refusal.empty()) return ErrorWithFindings(moved.status(), FindingsJson(refusal));
    return Respond(moved, 200, PostmortemJson);
  }));

  r.Add("GET", "/api/v1/postmortems/overdue", Guard(tok, Role::kViewer, [&pms](const Request& req, const Principal&) {
    auto limit = IntParam(req, "limit", 100, 1, 1000);
    if (!limit.ok()) return http::Error(limit.status());
    int64_t after = 0;
    if (std::string cursor = req.Query("cursor"); !cursor.empty()) {
      auto parsed = ParseIncidentId(cursor);
      if (!parsed) return http::Error(InvalidArgument("'cursor' must be an incident id such as INC-42"));
      after = *parsed;
    }
    auto list = pms.Overdue(after, *limit);
    return Respond(list, 200, [&](const std::vector<OverduePostmortem>& owed) {
      Json out = {{"postmortems", Json::array()}};
      for (const auto& o : owed) {
        out["postmortems"].push_back({{"incident", IncidentName(o.incident_id)},
                                      {"title", o.title},
                                      {"resolved_at", FormatTime(o.resolved_at)},
                                      {"due_at", FormatTime(o.due_at)},
                                      {"state", o.state.empty() ? Json(nullptr) : Json(o.state)}});
      }
      if (static_cast<int>(owed.size()) == *limit) out["next_cursor"] = IncidentName(owed.back().incident_id);
      return out;
    });
  }));

  r.Add("GET", "/api/v1/postmortems/actions", Guard(tok, Role::kViewer, [&pms, &d](const Request& req, const Principal&) {
    ActionQuery q;
    auto limit = IntParam(req, "limit", 100, 1, 1000);
    auto after = IntParam(req, "cursor", 0, 0, std::numeric_limits<int>::max());
    for (const Status* s : {&limit.status(), &after.status()}) {
      if (!s->ok()) return http::Error(*s);
    }
    q.limit = *limit;
    q.after_id = *after;
    q.owner = req.Query("owner");
    q.status = req.Query("status");
    if (!q.status.empty() && q.status != "open" && q.status != "done" && q.status != "dropped") {
      return http::Error(InvalidArgument("'status' must be open, done or dropped"));
    }
    if (std::string overdue = req.Query("overdue"); !overdue.empty()) {
      if (overdue != "true" && overdue != "false") {
        return http::Error(InvalidArgument("'overdue' must be true or false"));
      }
      if (overdue == "true") q.overdue_at = d.clock.NowMs();
    }
    if (std::string inc = req.Query("incident"); !inc.empty()) {
      q.incident_id = ParseIncidentId(inc);
      if (!q.incident_id) return http::Error(InvalidArgument("'incident' must be an incident id such as INC-42"));
    }
    return Respond(pms.Actions(q), 200, [&](const std::vector<ActionRecord>& list) {
      Json out = {{"actions", Json::array()}};
      for (const auto& a : list) out["actions"].push_back(ActionRecordJson(a));
      if (static_cast<int>(list.size()) == q.limit) out["next_cursor"] = list.back().id;
      return out;
    });
  }));

  for (const bool done : {true, false}) {
    r.Add("POST", std::string("/api/v1/postmortems/actions/{action}/") + (done ? "done" : "drop"),
          Guard(tok, Role::kResponder, [&pms, done](const Request& req, const Principal& p) {
            auto id = ActionIdParam(req);
            if (!id.ok()) return http::Error(id.status());
            auto body = OptionalBody(req);
            if (!body.ok()) return http::Error(body.status());
            auto reason = StringField(*body, "reason", !done);
            if (!reason.ok()) return http::Error(reason.status());
            return Respond(pms.FinishAction(p.name, *id, done, *reason), 200, ActionRecordJson);
          }));
  }
}

}  // namespace firebreak::api
