// Memory: write and search an agent's memory; quarantine, restore, purge and wipe it.
#include <cmath>

#include "api/handler_util.h"
#include "api/json.h"
#include "api/routes.h"
#include "memory/memory_service.h"

namespace firebreak::api {
namespace {

// Reads an optional array of numbers as float32; kInvalidArgument otherwise.
StatusOr<std::vector<float>> FloatArray(const Json& body, const char* name) {
  std::vector<float> out;
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) return InvalidArgument(std::string("'") + name + "' must be an array of numbers");
  out.reserve(it->size());
  for (const auto& v : *it) {
    if (!v.is_number()) return InvalidArgument(std::string("'") + name + "' must be an array of numbers");
    double d = v.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > 3.0e38) {
      return InvalidArgument(std::string("'") + name + "' holds a number out of float range");
    }
    out.push_back(static_cast<float>(d));
  }
  return out;
}

StatusOr<std::vector<int64_t>> IdArray(const Json& body, const char* name) {
  std::vector<int64_t> out;
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) return InvalidArgument(std::string("'") + name + "' must be an array of record ids");
  for (const auto& v : *it) {
    if (!v.is_number_integer()) return InvalidArgument(std::string("'") + name + "' must be an array of record ids");
    out.push_back(v.get<int64_t>());
  }
  return out;
}

StatusOr<MemoryWrite> ParseWrite(const Json& j, const Json& request) {
  if (!j.is_object()) return InvalidArgument("each record must be an object");
  MemoryWrite w;
  FB_ASSIGN_OR_RETURN(std::string ns, StringField(j, "namespace", false));
  if (!ns.empty()) w.ns = ns;
  FB_ASSIGN_OR_RETURN(w.text, StringField(j, "text", true));
  FB_ASSIGN_OR_RETURN(w.embedding, FloatArray(j, "embedding"));
  if (j.contains("metadata") && !j["metadata"].is_null()) w.metadata = j["metadata"];
  FB_ASSIGN_OR_RETURN(w.derived_from, IdArray(j, "derived_from"));
  // The trace and agent version of the request, for every record of a batch.
  FB_ASSIGN_OR_RETURN(w.trace_id, StringField(request, "trace_id", false));
  FB_ASSIGN_OR_RETURN(w.agent_version, StringField(request, "agent_version", false));
  return w;
}

Json RecordJson(const MemoryRecord& r) {
  Json j = {
      {"id", r.id},
      {"agent", r.agent},
      {"namespace", r.ns},
      {"text", r.text},
      {"metadata", Json::parse(r.metadata_json, nullptr, false)},
      {"dim", r.embedding.size() / sizeof(float)},
      {"state", r.state},
      {"written_at", FormatTime(r.written_at)},
      {"written_by", r.written_by},
      {"trace_id", r.trace_id},
      {"agent_version", r.agent_version},
      {"derived_from", r.derived_from},
  };
  if (r.purged_at) j["purged_at"] = FormatTime(*r.purged_at);
  return j;
}

Json QuarantineJson(const QuarantineRecord& q) {
  return {
      {"id", q.id},
      {"agent", q.agent},
      {"created_at", FormatTime(q.created_at)},
      {"created_by", q.created_by},
      {"reason", q.reason},
      {"incident", q.incident_id ? Json(IncidentName(*q.incident_id)) : Json(nullptr)},
      {"criteria", Json::parse(q.criteria_json, nullptr, false)},
      {"direct", q.direct},
      {"tainted", q.tainted},
      {"restored_at", q.restored_at ? Json(FormatTime(*q.restored_at)) : Json(nullptr)},
      {"restored_by", q.restored_by},
  };
}

Json MembersJson(const std::vector<QuarantineMember>& members) {
  Json out = Json::array();
  for (const auto& m : members) out.push_back({{"id", m.record_id}, {"cause", m.cause}});
  return out;
}

// The agent of the path, checked against the caller: its own agent token, or responder+.
StatusOr<std::string> AgentFor(const Request& req, const Principal& p) {
  const std::string& agent = req.params.at("agent");
  FB_RETURN_IF_ERROR(AuthorizeForAgent(p, agent));
  return agent;
}

StatusOr<int64_t> IdParam(const Request& req, const char* name) {
  const std::string& raw = req.params.at(name);
  try {
    size_t used = 0;
    long long id = std::stoll(raw, &used);
    if (used == raw.size() && id > 0) return static_cast<int64_t>(id);
  } catch (const std::exception&) {
  }
  return NotFound("no record '" + raw + "'");
}

}  // namespace

void RegisterMemory(http::Router& r, const Deps& d) {
  MemoryService& mem = d.memory;
  TokenService& tok = d.tokens;

  r.Add("POST", "/api/v1/memory/{agent}/records", Guard(tok, Role::kAgent, Idempotent(d.store, d.clock, [&mem](const Request& req, const Principal& p) {
    auto agent = AgentFor(req, p);
    if (!agent.ok()) return http::Error(agent.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    std::vector<MemoryWrite> writes;
    bool batch = body->contains("records");
    if (batch) {
      const Json& list = (*body)["records"];
      if (!list.is_array()) return http::Error(InvalidArgument("'records' must be an array"));
      for (const auto& item : list) {
        auto w = ParseWrite(item, *body);
        if (!w.ok()) return http::Error(w.status());
        writes.push_back(std::move(*w));
      }
    } else {
      auto w = ParseWrite(*body, *body);
      if (!w.ok()) return http::Error(w.status());
      writes.push_back(std::move(*w));
    }
    auto written = mem.Write(p.name, *agent, writes);
    if (!written.ok()) return http::Error(written.status());
    if (!batch) return http::Json(201, RecordJson(written->front()));
    Json out = {{"records", Json::array()}};
    for (const auto& rec : *written) out["records"].push_back(RecordJson(rec));
    return http::Json(201, out);
  })));

  r.Add("POST", "/api/v1/memory/{agent}/search", Guard(tok, Role::kAgent, [&mem](const Request& req, const Principal& p) {
    auto agent = AgentFor(req, p);
    if (!agent.ok()) return http::Error(agent.status());
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    MemorySearch s;
    auto ns = StringField(*body, "namespace", false);
    auto text = StringField(*body, "text", false);
    auto trace = StringField(*body, "trace_id", false);
    auto embedding = FloatArray(*body, "embedding");
    for (const auto* f : {&ns, &text, &trace}) {
      if (!f->ok()) return http::Error(f->status());
    }
    if (!embedding.ok()) return http::Error(embedding.status());
    if (!ns->empty()) s.ns = *ns;
    s.text = *text;
    s.trace_id = *trace;
    s.embedding = std::move(*embedding);
    // The range is the service's to check; here only that the number fits an int.
    auto k = IntField(*body, "k", s.k, std::numeric_limits<int>::min(), std::numeric_limits<int>::max());
    if (!k.ok()) return http::Error(k.status());
    s.k = static_cast<int>(*k);
    if (body->contains("filter") && !(*body)["filter"].is_null()) s.filter = (*body)["filter"];
    auto hits = mem.Search(*agent, s);
    if (!hits.ok()) {
      Response res = http::Error(hits.status());
      if (hits.status().code() == StatusCode::kUnavailable) res.headers.emplace_back("Retry-After", "2");
      return res;
    }
    Json out = {{"results", Json::array()}};
    for (const auto& h : *hits) {
      Json j = RecordJson(h.record);
      j.erase("derived_from");
      j["score"] = h.score;
      j["match"] = h.match;
      out["results"].push_back(j);
    }
    return http::Json(200, out);
  }));

  r.Add("GET", "/api/v1/memory/{agent}/records/{id}", Guard(tok, Role::kAgent, [&mem](const Request& req, const Principal& p) {
    if (p.role != Role::kAgent || p.agent != req.params.at("agent")) {
      Status allowed = Authorize(p, Role::kViewer);
      if (!allowed.ok()) return http::Error(allowed);
    }
    auto id = IdParam(req, "id");
    if (!id.ok()) return http::Error(id.status());
    auto view = mem.Get(req.params.at("agent"), *id);
    if (!view.ok()) return http::Error(view.status());
    Json j = RecordJson(view->record);
    j["quarantines"] = view->quarantines;
    return http::Json(200, j);
  }));

  r.Add("GET", "/api/v1/memory/{agent}/quarantines", Guard(tok, Role::kViewer, [&mem](const Request& req, const Principal&) {
    auto list = mem.ListQuarantines(req.params.at("agent"));
    if (!list.ok()) return http::Error(list.status());
    Json out = {{"quarantines", Json::array()}};
    for (const auto& q : *list) out["quarantines"].push_back(QuarantineJson(q));
    return http::Json(200, out);
  }));

  r.Add("GET", "/api/v1/memory/{agent}/quarantines/{id}", Guard(tok, Role::kViewer, [&mem](const Request& req, const Principal&) {
    auto id = IdParam(req, "id");
    if (!id.ok()) return http::Error(id.status());
    auto q = mem.GetQuarantine(req.params.at("agent"), *id);
    if (!q.ok()) return http::Error(q.status());
    Json j = QuarantineJson(q->quarantine);
    j["members"] = MembersJson(q->members);
    return http::Json(200, j);
  }));

  r.Add("POST", "/api/v1/memory/{agent}/quarantine", Guard(tok, Role::kResponder, [&mem](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    QuarantineRequest q;
    auto from = TimeField(*body, "from");
    auto to = TimeField(*body, "to");
    auto version = StringField(*body, "version", false);
    auto ns = StringField(*body, "namespace", false);
    auto traces = StringArray(*body, "trace_ids");
    auto records = IdArray(*body, "record_ids");
    auto reason = StringField(*body, "reason", true);
    auto incident = IncidentField(*body);
    if (!from.ok()) return http::Error(from.status());
    if (!to.ok()) return http::Error(to.status());
    for (const auto* f : {&version, &ns, &reason}) {
      if (!f->ok()) return http::Error(f->status());
    }
    if (!traces.ok()) return http::Error(traces.status());
    if (!records.ok()) return http::Error(records.status());
    if (!incident.ok()) return http::Error(incident.status());
    if (body->contains("taint")) {
      if (!(*body)["taint"].is_boolean()) return http::Error(InvalidArgument("'taint' must be true or false"));
      q.taint = (*body)["taint"].get<bool>();
    }
    q.window.from = *from;
    q.window.to = *to;
    q.window.version = *version;
    q.window.ns = *ns;
    q.window.trace_ids = *traces;
    q.window.record_ids = *records;
    q.reason = *reason;
    q.incident_id = *incident;
    auto result = mem.Quarantine(p.name, req.params.at("agent"), q);
    if (!result.ok()) return http::Error(result.status());
    Json out = {{"quarantine_id", result->quarantine.id},
                {"direct", result->quarantine.direct},
                {"tainted", result->quarantine.tainted},
                {"quarantine", QuarantineJson(result->quarantine)},
                {"members", MembersJson(result->members)}};
    return http::Json(200, out);
  }));

  r.Add("POST", "/api/v1/memory/{agent}/restore", Guard(tok, Role::kResponder, [&mem](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto it = body->find("quarantine_id");
    if (it == body->end() || !it->is_number_integer()) {
      return http::Error(InvalidArgument("'quarantine_id' is required (an integer)"));
    }
    auto reason = StringField(*body, "reason", false);
    if (!reason.ok()) return http::Error(reason.status());
    auto incident = IncidentField(*body);
    if (!incident.ok()) return http::Error(incident.status());
    auto result = mem.Restore(p.name, req.params.at("agent"), it->get<int64_t>(), *reason, *incident);
    if (!result.ok()) return http::Error(result.status());
    return http::Json(200, {{"quarantine_id", result->quarantine.id},
                            {"restored", result->restored.size()},
                            {"record_ids", result->restored},
                            {"quarantine", QuarantineJson(result->quarantine)}});
  }));

  r.Add("POST", "/api/v1/memory/{agent}/purge", Guard(tok, Role::kAdmin, [&mem](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    PurgeRequest pr;
    if (body->contains("quarantine_id") && !(*body)["quarantine_id"].is_null()) {
      if (!(*body)["quarantine_id"].is_number_integer()) {
        return http::Error(InvalidArgument("'quarantine_id' must be an integer"));
      }
      pr.quarantine_id = (*body)["quarantine_id"].get<int64_t>();
    }
    auto records = IdArray(*body, "record_ids");
    auto reason = StringField(*body, "reason", false);
    auto incident = IncidentField(*body);
    if (!records.ok()) return http::Error(records.status());
    if (!reason.ok()) return http::Error(reason.status());
    if (!incident.ok()) return http::Error(incident.status());
    pr.record_ids = *records;
    pr.reason = *reason;
    pr.incident_id = *incident;
    auto purged = mem.Purge(p.name, req.params.at("agent"), pr);
    if (!purged.ok()) return http::Error(purged.status());
    return http::Json(200, {{"purged", purged->ids.size()},
                            {"record_ids", purged->ids},
                            {"compaction", purged->compacted ? "done" : "pending"}});
  }));

  r.Add("POST", "/api/v1/memory/{agent}/wipe", Guard(tok, Role::kAdmin, [&mem](const Request& req, const Principal& p) {
    auto body = http::ParseJsonObject(req.body);
    if (!body.ok()) return http::Error(body.status());
    auto confirm = StringField(*body, "confirm", true);
    if (!confirm.ok()) return http::Error(confirm.status());
    auto reason = StringField(*body, "reason", false);
    if (!reason.ok()) return http::Error(reason.status());
    auto wiped = mem.Wipe(p.name, req.params.at("agent"), *confirm, *reason);
    if (!wiped.ok()) return http::Error(wiped.status());
    return http::Json(200, {{"agent", req.params.at("agent")},
                            {"purged", wiped->purged},
                            {"compaction", wiped->compacted ? "done" : "pending"}});
  }));
}

}  // namespace firebreak::api
