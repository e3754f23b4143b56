// Agents: versions, deploy / promote / rollback / kill / resume, and the runtime endpoints
// (plain, long-poll and server-sent events) that agents read.
#include <atomic>
#include <charconv>
#include <mutex>

#include "api/handler_util.h"
#include "api/json.h"
#include "api/routes.h"

namespace firebreak::api {
namespace {

constexpr int kMaxWaitSeconds = 120;

// Parses a whole decimal integer; nullopt for anything else.
std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// Reads the optional body of a pointer action: reason, incident, force.
StatusOr<ChangeRequest> ChangeRequestFrom(const Json& body) {
  ChangeRequest req;
  FB_ASSIGN_OR_RETURN(req.reason, StringField(body, "reason", false));
  FB_ASSIGN_OR_RETURN(req.incident_id, IncidentField(body));
  FB_ASSIGN_OR_RETURN(auto force, BoolField(body, "force"));
  req.force = force.value_or(false);
  return req;
}

Json ChangeJson(const ChangeResult& r) {
  Json j = {{"changed", r.changed}, {"runtime", RuntimeJson(r.runtime)}};
  if (r.change) j["change"] = PointerChangeJson(*r.change);
  if (!r.pulled_version.empty()) j["pulled"] = r.pulled_version;
  if (!r.gate_skipped.empty()) j["gate_skipped"] = r.gate_skipped;
  return j;
}

// The runtime endpoints accept an agent token of that agent, or viewer and above.
StatusOr<Principal> AuthenticateForRuntime(TokenService& tokens, const Request& req) {
  FB_ASSIGN_OR_RETURN(Principal p, tokens.Authenticate(req.Header("authorization")));
  const std::string& agent = req.params.at("agent");
  FB_RETURN_IF_ERROR(p.role == Role::kAgent ? AuthorizeForAgent(p, agent)
                                            : Authorize(p, Role::kViewer));
  return p;
}

// Returns the JSON text of a runtime state. One publish calls every listener of an agent on
// one thread with the same state, so the text is encoded once per thread and (agent, revision)
// (which names one state) instead of once per listener.
const std::string& RuntimeText(const RuntimeState& s) {
  thread_local std::string agent;
  thread_local int64_t revision = -1;
  thread_local std::string text;
  if (revision != s.revision || agent != s.agent) {
    text = http::Json(200, RuntimeJson(s)).body;
    agent = s.agent;
    revision = s.revision;
  }
  return text;
}

http::SseEvent RuntimeEvent(const RuntimeState& s) {
  std::string data = RuntimeText(s);
  if (!data.empty() && data.back() == '\n') data.pop_back();
  return {std::to_string(s.revision), "runtime", std::move(data)};
}

http::Response RuntimeResponse(const RuntimeState& s) {
  http::Response r;
  r.body = RuntimeText(s);
  return r;
}

// Shared by an event stream's hub listener and the handler that opens the stream: events that
// arrive before the stream is open are held (the newest only), and revisions only move forward.
struct StreamState {
  std::mutex mu;
  std::shared_ptr<http::EventStream> stream;    // GUARDED_BY(mu); null until open
  std::shared_ptr<const RuntimeState> pending;  // GUARDED_BY(mu)
  int64_t last_sent = -1;                       // GUARDED_BY(mu)

  // Sends `s` when it is newer than what the client has. Call with mu held.
  void SendLocked(const RuntimeState& s) {
    if (s.revision <= last_sent) return;
    if (stream->Send(RuntimeEvent(s))) last_sent = s.revision;
  }
};

}  // namespace

void RegisterAgents(http::Router& r, const Deps& d) {
  ReleaseService& rel = d.releases;
  TokenService& tok = d.tokens;
  RuntimeHub& hub = d.releases.hub();

  r.Add("GET", "/api/v1/agents",
        Guard(tok, Role::kViewer, [&rel](const Request&, const Principal&) {
          auto list = rel.List();
          if (!list.ok()) return http::Error(list.status());
          Json out = {{"agents", Json::array()}};
          for (const auto& a : *list) out["agents"].push_back(AgentJson(a));
          return http::Json(200, out);
        }));

  r.Add("POST", "/api/v1/agents/{agent}/versions",
        Guard(tok, Role::kResponder, [&rel](const Request& req, const Principal& p) {
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          auto version = StringField(*body, "version", true);
          if (!version.ok()) return http::Error(version.status());
          auto manifest = body->find("manifest");
          if (manifest == body->end() || manifest->is_null()) {
            return http::Error(InvalidArgument("'manifest' is required"));
          }
          return Respond(rel.Register(p.name, req.params.at("agent"), *version, *manifest), 201,
                         AgentVersionJson);
        }));

  r.Add("GET", "/api/v1/agents/{agent}/versions",
        Guard(tok, Role::kViewer, [&rel](const Request& req, const Principal&) {
          auto view = rel.Get(req.params.at("agent"));
          if (!view.ok()) return http::Error(view.status());
          Json out = AgentJson(view->agent);
          out["versions"] = Json::array();
          for (const auto& v : view->versions) out["versions"].push_back(AgentVersionJson(v));
          out["history"] = Json::array();
          for (const auto& c : view->history) out["history"].push_back(PointerChangeJson(c));
          return http::Json(200, out);
        }));

  r.Add("POST", "/api/v1/agents/{agent}/versions/{version}/promote",
        Guard(tok, Role::kResponder, [&rel](const Request& req, const Principal& p) {
          auto body = OptionalBody(req);
          if (!body.ok()) return http::Error(body.status());
          auto change = ChangeRequestFrom(*body);
          if (!change.ok()) return http::Error(change.status());
          // Skipping the regression battery's gate is an admin's call, with a reason (audited).
          auto skip = BoolField(*body, "skip_gate");
          if (!skip.ok()) return http::Error(skip.status());
          change->skip_gate = skip->value_or(false);
          if (change->skip_gate) {
            Status admin = Authorize(p, Role::kAdmin);
            if (!admin.ok()) {
              return http::Error(PermissionDenied("skipping the promotion gate needs an admin token"));
            }
          }
          return Respond(
              rel.Promote(p.name, req.params.at("agent"), req.params.at("version"), *change), 200,
              ChangeJson);
        }));

  r.Add("POST", "/api/v1/agents/{agent}/deploy",
        Guard(tok, Role::kResponder, [&rel](const Request& req, const Principal& p) {
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          auto version = StringField(*body, "version", true);
          if (!version.ok()) return http::Error(version.status());
          auto change = ChangeRequestFrom(*body);
          if (!change.ok()) return http::Error(change.status());
          return Respond(rel.Deploy(p.name, req.params.at("agent"), *version, *change), 200,
                         ChangeJson);
        }));

  r.Add("POST", "/api/v1/agents/{agent}/rollback",
        Guard(tok, Role::kResponder, [&rel](const Request& req, const Principal& p) {
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          auto to = StringField(*body, "to", false);
          if (!to.ok()) return http::Error(to.status());
          auto change = ChangeRequestFrom(*body);
          if (!change.ok()) return http::Error(change.status());
          if (change->force)
            return http::Error(InvalidArgument("'force' does not apply to rollback"));
          return Respond(rel.Rollback(p.name, req.params.at("agent"), *to, *change), 200,
                         ChangeJson);
        }));

  r.Add("POST", "/api/v1/agents/{agent}/kill",
        Guard(tok, Role::kResponder, [&rel](const Request& req, const Principal& p) {
          auto body = OptionalBody(req);
          if (!body.ok()) return http::Error(body.status());
          auto change = ChangeRequestFrom(*body);
          if (!change.ok()) return http::Error(change.status());
          return Respond(rel.Kill(p.name, req.params.at("agent"), *change), 200, ChangeJson);
        }));

  r.Add("POST", "/api/v1/agents/{agent}/resume",
        Guard(tok, Role::kResponder, [&rel](const Request& req, const Principal& p) {
          auto body = OptionalBody(req);
          if (!body.ok()) return http::Error(body.status());
          auto change = ChangeRequestFrom(*body);
          if (!change.ok()) return http::Error(change.status());
          return Respond(rel.Resume(p.name, req.params.at("agent"), *change), 200, ChangeJson);
        }));

  // GET .../runtime answers at once; with ?wait=S&revision=N it waits (holding no thread) until
  // the revision differs from N, or S seconds pass, and then answers the state as it is.
  r.AddAsync(
      "GET", "/api/v1/agents/{agent}/runtime",
      [&rel, &tok, &hub](const Request& req, std::shared_ptr<http::Completion> done) {
        auto p = AuthenticateForRuntime(tok, req);
        if (!p.ok()) return done->Respond(http::Error(p.status()));
        const std::string agent = req.params.at("agent");
        std::string wait_text = req.Query("wait"), revision_text = req.Query("revision");
        std::optional<int64_t> wait =
            wait_text.empty() ? std::optional<int64_t>(0) : ParseInt(wait_text);
        if (!wait || *wait < 0 || *wait > kMaxWaitSeconds) {
          return done->Respond(http::Error(InvalidArgument(
              "'wait' must be a number of seconds from 0 to " + std::to_string(kMaxWaitSeconds))));
        }
        std::optional<int64_t> known;
        if (!revision_text.empty()) {
          known = ParseInt(revision_text);
          if (!known)
            return done->Respond(http::Error(InvalidArgument("'revision' must be a number")));
        }
        if (*wait == 0 || !known) {
          return done->Respond(Respond(rel.Runtime(agent), 200, RuntimeJson));
        }
        // Subscribe before reading, so that a change committed in between is not missed.
        auto id_holder = std::make_shared<std::atomic<uint64_t>>(0);
        uint64_t id = hub.Subscribe(
            agent, [done, known, id_holder, &hub](const std::shared_ptr<const RuntimeState>& s) {
              if (s->revision == *known) return;
              done->Respond(RuntimeResponse(*s));
              hub.Unsubscribe(id_holder->load());
            });
        id_holder->store(id);
        auto now = rel.Runtime(agent);
        if (!now.ok() || now->revision != *known) {
          hub.Unsubscribe(id);
          return done->Respond(Respond(std::move(now), 200, RuntimeJson));
        }
        done->SetDeadline(std::chrono::seconds(*wait), [&rel, &hub, id, agent] {
          hub.Unsubscribe(id);
          return Respond(rel.Runtime(agent), 200, RuntimeJson);
        });
      });

  // Server-sent events: the current state at connect (unless Last-Event-ID already has it),
  // then every new revision. Event ids are revisions.
  r.AddAsync(
      "GET", "/api/v1/agents/{agent}/runtime/stream",
      [&rel, &tok, &hub](const Request& req, std::shared_ptr<http::Completion> done) {
        auto p = AuthenticateForRuntime(tok, req);
        if (!p.ok()) return done->Respond(http::Error(p.status()));
        const std::string agent = req.params.at("agent");
        std::string last_text(req.Header("last-event-id"));
        if (last_text.empty()) last_text = req.Query("last_event_id");
        auto state = std::make_shared<StreamState>();
        if (!last_text.empty()) {
          auto last = ParseInt(last_text);
          if (!last)
            return done->Respond(
                http::Error(InvalidArgument("'Last-Event-ID' must be a revision number")));
          state->last_sent = *last;
        }
        uint64_t id = hub.Subscribe(agent, [state](const std::shared_ptr<const RuntimeState>& s) {
          std::lock_guard<std::mutex> lock(state->mu);
          if (!state->stream) {
            state->pending = s;
            return;
          }
          state->SendLocked(*s);
        });
        auto now = rel.Runtime(agent);
        if (!now.ok()) {
          hub.Unsubscribe(id);
          return done->Respond(http::Error(now.status()));
        }
        auto stream = done->OpenStream();
        if (!stream) {
          hub.Unsubscribe(id);
          return;
        }
        stream->OnClose([&hub, id] { hub.Unsubscribe(id); });
        std::lock_guard<std::mutex> lock(state->mu);
        state->stream = stream;
        // An id from the future (a store restored from a backup) must not silence the stream.
        if (state->last_sent > now->revision) state->last_sent = -1;
        const RuntimeState& newest =
            state->pending && state->pending->revision > now->revision ? *state->pending : *now;
        state->SendLocked(newest);
        state->pending.reset();
      });
}

}  // namespace firebreak::api
