// Agent releases as stored: versions (immutable manifests), the per-agent pointers (current,
// last known stable, enabled, revision) and the history of every pointer change.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

// One registered version of an agent. Immutable except for the `pulled` mark.
struct AgentVersionRecord {
  std::string agent;
  std::string version;        // the name people use: "v2"
  std::string manifest_json;  // the validated manifest, canonical JSON
  bool pulled = false;        // taken out by a rollback; never stable again unless forced
  std::optional<TimeMs> pulled_at;
  std::string pulled_by;
  std::string created_by;
  TimeMs created_at = 0;
};

// The pointers of one agent. Empty version strings mean "none yet".
struct AgentRecord {
  std::string agent;
  std::string current_version;
  std::string stable_version;
  bool enabled = true;
  int64_t revision = 0;  // moves by one on every pointer change
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
};

// One pointer change: who, when, what, from, to, why.
struct PointerChangeRecord {
  int64_t id = 0;
  std::string agent;
  int64_t revision = 0;  // the agent's revision after the change
  TimeMs at = 0;
  std::string actor;
  std::string action;  // deploy, promote, rollback, kill, resume
  std::string from_version;
  std::string to_version;
  std::string reason;
  std::optional<int64_t> incident_id;
};

class ReleaseRepo {
 public:
  virtual ~ReleaseRepo() = default;
  // Returns the agent's pointers; kNotFound for an unknown agent.
  virtual StatusOr<AgentRecord> GetAgent(const std::string& agent) = 0;
  // Returns every agent, by name.
  virtual StatusOr<std::vector<AgentRecord>> ListAgents() = 0;
  // Inserts a new agent; kAlreadyExists when it exists.
  virtual Status InsertAgent(const AgentRecord& r) = 0;
  // Overwrites the pointers of r.agent; kNotFound when there is none.
  virtual Status UpdateAgent(const AgentRecord& r) = 0;
  // Inserts a version; kAlreadyExists when the agent already has it.
  virtual Status InsertVersion(const AgentVersionRecord& r) = 0;
  // Returns one version; kNotFound when unknown.
  virtual StatusOr<AgentVersionRecord> GetVersion(const std::string& agent,
                                                  const std::string& version) = 0;
  // Returns the agent's versions, oldest first.
  virtual StatusOr<std::vector<AgentVersionRecord>> ListVersions(const std::string& agent) = 0;
  // Sets or clears the pulled mark of a version (the only mutable part of a version).
  virtual Status SetPulled(const std::string& agent, const std::string& version, bool pulled,
                           std::optional<TimeMs> at, const std::string& by) = 0;
  // Appends one pointer change and returns its id.
  virtual StatusOr<int64_t> AppendChange(const PointerChangeRecord& r) = 0;
  // Returns the newest `limit` pointer changes of an agent, newest first.
  virtual StatusOr<std::vector<PointerChangeRecord>> Changes(const std::string& agent,
                                                             int limit) = 0;
};

}  // namespace firebreak
