// RuntimeHub: wakes the waiters and streams of an agent when its runtime state moves.
//
// ReleaseService publishes an agent's new RuntimeState after the write transaction that made
// it has committed; long-poll waiters and event streams subscribed to that agent receive it at
// once. In-process only: with several server processes on one PostgreSQL, publishing will go
// through LISTEN/NOTIFY (docs/releases.md). Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_map>

#include "common/clock.h"

namespace firebreak {

// What an agent runtime needs to know: whether it is on, which version to run, and the
// revision that orders these states.
struct RuntimeState {
  std::string agent;
  bool enabled = true;
  std::string version;         // "" when nothing is deployed yet
  nlohmann::json manifest;     // null when nothing is deployed yet
  std::string stable_version;  // "" when none
  int64_t revision = 0;
  TimeMs updated_at = 0;
};

class RuntimeHub {
 public:
  using Listener = std::function<void(const std::shared_ptr<const RuntimeState>&)>;

  // Calls `listener` with every state of `agent` published from now on, in revision order,
  // until Unsubscribe. The listener runs on the publishing thread and must not block; it may
  // call Unsubscribe (also its own). Returns the subscription id.
  uint64_t Subscribe(const std::string& agent, Listener listener);

  // Ends a subscription; unknown ids are ignored. After it returns the listener is not called
  // again (unless a delivery to it is running on another thread at this moment).
  void Unsubscribe(uint64_t id);

  // Delivers `state` to the agent's listeners. A state older than (or equal to) one already
  // published for the agent is dropped, so listeners see revisions only move forward.
  void Publish(RuntimeState state);

  // Returns the number of live subscriptions.
  size_t size() const;
  // Returns the number of live subscriptions to `agent` (its waiters and streams here).
  size_t SubscribersOf(const std::string& agent) const;

 private:
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::map<uint64_t, std::shared_ptr<Listener>>>
      by_agent_;                                        // GUARDED_BY(mu_)
  std::unordered_map<uint64_t, std::string> agent_of_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, int64_t> published_;  // GUARDED_BY(mu_)
  // Serialises deliveries so that every listener sees one agent's revisions in order.
  std::mutex publish_mu_;
};

}  // namespace firebreak
