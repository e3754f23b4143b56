// SQLite implementation of ReleaseRepo (agent versions, pointers and their history).
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kAgentColumns[] =
    "agent, current_version, stable_version, enabled, revision, created_at, updated_at";
constexpr char kVersionColumns[] =
    "agent, version, manifest, pulled, pulled_at, pulled_by, created_by, created_at";
constexpr char kChangeColumns[] =
    "id, agent, revision, at, actor, action, from_version, to_version, reason, incident_id";

AgentRecord ReadAgent(const Query& q) {
  AgentRecord r;
  r.agent = q.Text(0);
  r.current_version = q.Text(1);
  r.stable_version = q.Text(2);
  r.enabled = q.Int(3) != 0;
  r.revision = q.Int(4);
  r.created_at = q.Int(5);
  r.updated_at = q.Int(6);
  return r;
}

AgentVersionRecord ReadVersion(const Query& q) {
  AgentVersionRecord r;
  r.agent = q.Text(0);
  r.version = q.Text(1);
  r.manifest_json = q.Text(2);
  r.pulled = q.Int(3) != 0;
  r.pulled_at = q.OptInt(4);
  r.pulled_by = q.Text(5);
  r.created_by = q.Text(6);
  r.created_at = q.Int(7);
  return r;
}

PointerChangeRecord ReadChange(const Query& q) {
  PointerChangeRecord r;
  r.id = q.Int(0);
  r.agent = q.Text(1);
  r.revision = q.Int(2);
  r.at = q.Int(3);
  r.actor = q.Text(4);
  r.action = q.Text(5);
  r.from_version = q.Text(6);
  r.to_version = q.Text(7);
  r.reason = q.Text(8);
  r.incident_id = q.OptInt(9);
  return r;
}

}  // namespace

StatusOr<AgentRecord> SqliteReleaseRepo::GetAgent(const std::string& agent) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(std::string("SELECT ") + kAgentColumns + " FROM agents WHERE agent=?"));
  q->Bind(agent);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no agent '" + agent + "'");
  return ReadAgent(*q);
}

StatusOr<std::vector<AgentRecord>> SqliteReleaseRepo::ListAgents() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kAgentColumns +
                                            " FROM agents ORDER BY agent"));
  return CollectRows<AgentRecord>(*q, ReadAgent);
}

Status SqliteReleaseRepo::InsertAgent(const AgentRecord& r) {
  FB_ASSIGN_OR_RETURN(
      auto q, conn_.Prepare(
                  "INSERT INTO agents (agent, current_version, stable_version, enabled, revision, "
                  "created_at, updated_at) VALUES (?,?,?,?,?,?,?)"));
  q->Bind(r.agent, r.current_version, r.stable_version, r.enabled ? 1 : 0, r.revision, r.created_at,
          r.updated_at);
  return q->Run();
}

Status SqliteReleaseRepo::UpdateAgent(const AgentRecord& r) {
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare("UPDATE agents SET current_version=?, stable_version=?, enabled=?, revision=?, "
                    "updated_at=? WHERE agent=?"));
  q->Bind(r.current_version, r.stable_version, r.enabled ? 1 : 0, r.revision, r.updated_at,
          r.agent);
  FB_RETURN_IF_ERROR(q->Run());
  if (sqlite3_changes(conn_.raw()) == 0) return NotFound("no agent '" + r.agent + "'");
  return Status::Ok();
}

Status SqliteReleaseRepo::InsertVersion(const AgentVersionRecord& r) {
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare(
          "INSERT INTO agent_versions (agent, version, manifest, pulled, pulled_at, pulled_by, "
          "created_by, created_at) VALUES (?,?,?,?,?,?,?,?)"));
  q->Bind(r.agent, r.version, r.manifest_json, r.pulled ? 1 : 0, r.pulled_at, r.pulled_by,
          r.created_by, r.created_at);
  Status s = q->Run();
  if (s.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("agent '" + r.agent + "' already has a version '" + r.version +
                         "'; versions are immutable, register a new one");
  }
  return s;
}

StatusOr<AgentVersionRecord> SqliteReleaseRepo::GetVersion(const std::string& agent,
                                                           const std::string& version) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kVersionColumns +
                                            " FROM agent_versions WHERE agent=? AND version=?"));
  q->Bind(agent, version);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("agent '" + agent + "' has no version '" + version + "'");
  return ReadVersion(*q);
}

StatusOr<std::vector<AgentVersionRecord>> SqliteReleaseRepo::ListVersions(
    const std::string& agent) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kVersionColumns +
                                            " FROM agent_versions WHERE agent=? ORDER BY seq"));
  q->Bind(agent);
  return CollectRows<AgentVersionRecord>(*q, ReadVersion);
}

Status SqliteReleaseRepo::SetPulled(const std::string& agent, const std::string& version,
                                    bool pulled, std::optional<TimeMs> at, const std::string& by) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("UPDATE agent_versions SET pulled=?, pulled_at=?, "
                                            "pulled_by=? WHERE agent=? AND version=?"));
  q->Bind(pulled ? 1 : 0, at, by, agent, version);
  FB_RETURN_IF_ERROR(q->Run());
  if (sqlite3_changes(conn_.raw()) == 0) {
    return NotFound("agent '" + agent + "' has no version '" + version + "'");
  }
  return Status::Ok();
}

StatusOr<int64_t> SqliteReleaseRepo::AppendChange(const PointerChangeRecord& r) {
  FB_ASSIGN_OR_RETURN(
      auto q,
      conn_.Prepare(
          "INSERT INTO agent_pointer_changes (agent, revision, at, actor, action, from_version, "
          "to_version, reason, incident_id) VALUES (?,?,?,?,?,?,?,?,?)"));
  q->Bind(r.agent, r.revision, r.at, r.actor, r.action, r.from_version, r.to_version, r.reason,
          r.incident_id);
  FB_RETURN_IF_ERROR(q->Run());
  return conn_.LastInsertId();
}

StatusOr<std::vector<PointerChangeRecord>> SqliteReleaseRepo::Changes(const std::string& agent,
                                                                      int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kChangeColumns +
                                            " FROM agent_pointer_changes WHERE agent=? "
                                            "ORDER BY id DESC LIMIT ?"));
  q->Bind(agent, limit);
  return CollectRows<PointerChangeRecord>(*q, ReadChange);
}

}  // namespace firebreak::sqlite
