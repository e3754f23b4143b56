#include "releases/release_service.h"

#include "common/text.h"
#include "releases/manifest.h"

namespace firebreak {
namespace {

constexpr size_t kMaxAgent = 128;
constexpr size_t kMaxVersion = 64;
constexpr size_t kMaxReason = 2000;

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

std::string EventKind(const std::string& action) {
  if (action == "deploy") return "agent.deployed";
  if (action == "promote") return "agent.promoted";
  if (action == "rollback") return "agent.rolled_back";
  if (action == "kill") return "agent.killed";
  if (action == "resume") return "agent.resumed";
  return "agent." + action;
}

std::string KillHint(const std::string& agent) {
  return "switch it off with `firebreak agent kill " + agent + "` (POST /api/v1/agents/" + agent +
         "/kill)";
}

}  // namespace

StatusOr<RuntimeState> LoadRuntimeState(Txn& txn, const AgentRecord& a) {
  RuntimeState st;
  st.agent = a.agent;
  st.enabled = a.enabled;
  st.version = a.current_version;
  st.stable_version = a.stable_version;
  st.revision = a.revision;
  st.updated_at = a.updated_at;
  if (!a.current_version.empty()) {
    FB_ASSIGN_OR_RETURN(AgentVersionRecord v,
                        txn.releases().GetVersion(a.agent, a.current_version));
    st.manifest = nlohmann::json::parse(v.manifest_json, nullptr, /*allow_exceptions=*/false);
    if (st.manifest.is_discarded()) {
      return Internal("stored manifest of " + a.agent + "/" + v.version + " is not JSON");
    }
  }
  return st;
}

StatusOr<AgentVersionRecord> ReleaseService::Register(const std::string& actor,
                                                      const std::string& agent,
                                                      const std::string& version,
                                                      const nlohmann::json& manifest) {
  FB_RETURN_IF_ERROR(CheckName("agent", agent, kMaxAgent));
  FB_RETURN_IF_ERROR(CheckName("version", version, kMaxVersion));
  FB_ASSIGN_OR_RETURN(nlohmann::json canonical, ValidateManifest(manifest));
  AgentVersionRecord rec;
  rec.agent = agent;
  rec.version = version;
  rec.manifest_json = canonical.dump();
  rec.created_by = actor;
  Status s = store_.Write([&](Txn& txn) -> Status {
    TimeMs now = clock_.NowMs();
    rec.created_at = now;
    auto existing = txn.releases().GetAgent(agent);
    bool first = false;
    if (existing.status().code() == StatusCode::kNotFound) {
      AgentRecord a;
      a.agent = agent;
      a.created_at = a.updated_at = now;
      FB_RETURN_IF_ERROR(txn.releases().InsertAgent(a));
      first = true;
    } else if (!existing.ok()) {
      return existing.status();
    }
    FB_RETURN_IF_ERROR(txn.releases().InsertVersion(rec));
    nlohmann::json details = {{"agent", agent},
                              {"version", version},
                              {"model", canonical["model"]},
                              {"prompt_hash", canonical["prompt_hash"]},
                              {"first_version", first}};
    return log_.Append(txn, {std::nullopt, actor, "agent.version_registered", details}).status();
  });
  if (!s.ok()) return s;
  return rec;
}

StatusOr<AgentView> ReleaseService::Get(const std::string& agent, int history_limit) {
  FB_RETURN_IF_ERROR(CheckName("agent", agent, kMaxAgent));
  AgentView view;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(view.agent, txn.releases().GetAgent(agent));
    FB_ASSIGN_OR_RETURN(view.versions, txn.releases().ListVersions(agent));
    FB_ASSIGN_OR_RETURN(view.history, txn.releases().Changes(agent, history_limit));
    return Status::Ok();
  }));
  return view;
}

StatusOr<std::vector<AgentRecord>> ReleaseService::List() {
  std::vector<AgentRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(out, txn.releases().ListAgents());
    return Status::Ok();
  }));
  return out;
}

StatusOr<RuntimeState> ReleaseService::Runtime(const std::string& agent) {
  FB_RETURN_IF_ERROR(CheckName("agent", agent, kMaxAgent));
  RuntimeState st;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(AgentRecord a, txn.releases().GetAgent(agent));
    FB_ASSIGN_OR_RETURN(st, LoadRuntimeState(txn, a));
    return Status::Ok();
  }));
  return st;
}

StatusOr<ChangeResult> ReleaseService::Change(const std::string& actor, const std::string& agent,
                                              const std::string& action, const ChangeRequest& req,
                                              const Decide& decide) {
  FB_RETURN_IF_ERROR(CheckName("agent", agent, kMaxAgent));
  if (req.reason.size() > kMaxReason) {
    return InvalidArgument("'reason' is longer than " + std::to_string(kMaxReason) + " bytes");
  }
  ChangeResult out;
  Status s = store_.Write([&](Txn& txn) -> Status {
    out = ChangeResult{};
    FB_ASSIGN_OR_RETURN(AgentRecord a, txn.releases().GetAgent(agent));
    if (req.incident_id) FB_RETURN_IF_ERROR(txn.incidents().Get(*req.incident_id).status());
    FB_RETURN_IF_ERROR(decide(txn, a, out));
    if (out.changed) {
      TimeMs now = clock_.NowMs();
      a.revision++;
      a.updated_at = now;
      FB_RETURN_IF_ERROR(txn.releases().UpdateAgent(a));
      PointerChangeRecord& c = *out.change;
      c.agent = agent;
      c.revision = a.revision;
      c.at = now;
      c.actor = actor;
      c.action = action;
      c.reason = req.reason;
      c.incident_id = req.incident_id;
      FB_ASSIGN_OR_RETURN(c.id, txn.releases().AppendChange(c));
      nlohmann::json details = {{"agent", agent},
                                {"from", c.from_version},
                                {"to", c.to_version},
                                {"enabled", a.enabled},
                                {"revision", a.revision}};
      if (!req.reason.empty()) details["reason"] = req.reason;
      if (!out.pulled_version.empty()) details["pulled"] = out.pulled_version;
      if (req.force) details["forced"] = true;
      if (req.skip_gate) details["gate_skipped"] = out.gate_skipped;
      FB_RETURN_IF_ERROR(
          log_.Append(txn, {req.incident_id, actor, EventKind(action), details, now}).status());
    }
    FB_ASSIGN_OR_RETURN(out.runtime, LoadRuntimeState(txn, a));
    return Status::Ok();
  });
  if (!s.ok()) return s;
  // Published only after the commit: a woken agent never sees a state that could roll back.
  if (out.changed) hub_.Publish(out.runtime);
  return out;
}

StatusOr<ChangeResult> ReleaseService::Deploy(const std::string& actor, const std::string& agent,
                                              const std::string& version,
                                              const ChangeRequest& req) {
  FB_RETURN_IF_ERROR(CheckName("version", version, kMaxVersion));
  return Change(
      actor, agent, "deploy", req, [&](Txn& txn, AgentRecord& a, ChangeResult& out) -> Status {
        FB_ASSIGN_OR_RETURN(AgentVersionRecord v, txn.releases().GetVersion(agent, version));
        if (v.pulled && !req.force) {
          return Conflict("version " + Quoted(version) + " of agent " + Quoted(agent) +
                          " was pulled by a rollback; deploying it again needs force (--force)");
        }
        if (a.current_version == version) return Status::Ok();
        out.changed = true;
        out.change = PointerChangeRecord{};
        out.change->from_version = a.current_version;
        out.change->to_version = version;
        a.current_version = version;
        return Status::Ok();
      });
}

StatusOr<ChangeResult> ReleaseService::Promote(const std::string& actor, const std::string& agent,
                                               const std::string& version,
                                               const ChangeRequest& req) {
  FB_RETURN_IF_ERROR(CheckName("version", version, kMaxVersion));
  if (req.skip_gate && req.reason.empty()) {
    return InvalidArgument("'reason' is required to skip the promotion gate: say why");
  }
  return Change(
      actor, agent, "promote", req, [&](Txn& txn, AgentRecord& a, ChangeResult& out) -> Status {
        FB_ASSIGN_OR_RETURN(AgentVersionRecord v, txn.releases().GetVersion(agent, version));
        if (v.pulled && !req.force) {
          return Conflict("version " + Quoted(version) + " of agent " + Quoted(agent) +
                          " was pulled by a rollback and is never stable again unless a person "
                          "forces it (--force)");
        }
        // The promotion gate (regression battery) decides before anything changes. Skipping it
        // still asks it, so the event says what was overridden.
        Status gate = gate_.Check(txn, v);
        if (req.skip_gate) {
          if (gate.code() != StatusCode::kOk && gate.code() != StatusCode::kConflict) return gate;
          out.gate_skipped = gate.ok() ? "the gate passed" : gate.message();
        } else {
          FB_RETURN_IF_ERROR(gate);
        }
        if (a.stable_version == version && !v.pulled) return Status::Ok();
        if (v.pulled)
          FB_RETURN_IF_ERROR(txn.releases().SetPulled(agent, version, false, std::nullopt, ""));
        out.changed = true;
        out.change = PointerChangeRecord{};
        out.change->from_version = a.stable_version;
        out.change->to_version = version;
        a.stable_version = version;
        return Status::Ok();
      });
}

StatusOr<ChangeResult> ReleaseService::Rollback(const std::string& actor, const std::string& agent,
                                                const std::string& to, const ChangeRequest& req) {
  if (!to.empty()) FB_RETURN_IF_ERROR(CheckName("to", to, kMaxVersion));
  if (req.reason.empty()) return InvalidArgument("'reason' is required: say why you roll back");
  return Change(
      actor, agent, "rollback", req, [&](Txn& txn, AgentRecord& a, ChangeResult& out) -> Status {
        if (a.current_version.empty()) {
          return Conflict("agent " + Quoted(agent) +
                          " has no version deployed, so nothing to roll "
                          "back; to stop it, " +
                          KillHint(agent));
        }
        std::string target = to.empty() ? a.stable_version : to;
        if (target.empty()) {
          return Conflict("agent " + Quoted(agent) +
                          " has no last known stable version to roll back "
                          "to; " +
                          KillHint(agent));
        }
        FB_ASSIGN_OR_RETURN(AgentVersionRecord v, txn.releases().GetVersion(agent, target));
        if (v.pulled) {
          return Conflict("version " + Quoted(target) + " of agent " + Quoted(agent) +
                          " was pulled by an earlier rollback; choose another with --to, or " +
                          KillHint(agent));
        }
        if (target == a.current_version) {
          return Conflict("agent " + Quoted(agent) + " already runs " + Quoted(target) +
                          (to.empty() ? ", its last known stable version" : "") +
                          "; there is nothing to roll back to. To stop it, " + KillHint(agent));
        }
        FB_RETURN_IF_ERROR(
            txn.releases().SetPulled(agent, a.current_version, true, clock_.NowMs(), actor));
        out.pulled_version = a.current_version;
        out.changed = true;
        out.change = PointerChangeRecord{};
        out.change->from_version = a.current_version;
        out.change->to_version = target;
        a.current_version = target;
        return Status::Ok();
      });
}

StatusOr<ChangeResult> ReleaseService::Kill(const std::string& actor, const std::string& agent,
                                            const ChangeRequest& req) {
  return Change(actor, agent, "kill", req, [&](Txn&, AgentRecord& a, ChangeResult& out) -> Status {
    if (!a.enabled) return Status::Ok();
    a.enabled = false;
    out.changed = true;
    out.change = PointerChangeRecord{};
    out.change->from_version = out.change->to_version = a.current_version;
    return Status::Ok();
  });
}

StatusOr<ChangeResult> ReleaseService::Resume(const std::string& actor, const std::string& agent,
                                              const ChangeRequest& req) {
  return Change(actor, agent, "resume", req,
                [&](Txn&, AgentRecord& a, ChangeResult& out) -> Status {
                  if (a.enabled) return Status::Ok();
                  a.enabled = true;
                  out.changed = true;
                  out.change = PointerChangeRecord{};
                  out.change->from_version = out.change->to_version = a.current_version;
                  return Status::Ok();
                });
}

}  // namespace firebreak
