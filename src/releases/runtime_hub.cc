#include "releases/runtime_hub.h"

#include <vector>

namespace firebreak {

uint64_t RuntimeHub::Subscribe(const std::string& agent, Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t id = next_id_++;
  by_agent_[agent].emplace(id, std::make_shared<Listener>(std::move(listener)));
  agent_of_.emplace(id, agent);
  return id;
}

void RuntimeHub::Unsubscribe(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = agent_of_.find(id);
  if (it == agent_of_.end()) return;
  auto agent = by_agent_.find(it->second);
  if (agent != by_agent_.end()) {
    agent->second.erase(id);
    if (agent->second.empty()) by_agent_.erase(agent);
  }
  agent_of_.erase(it);
}

void RuntimeHub::Publish(RuntimeState state) {
  std::lock_guard<std::mutex> order(publish_mu_);
  std::vector<std::pair<uint64_t, std::shared_ptr<Listener>>> targets;
  {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t& last = published_[state.agent];
    if (state.revision <= last) return;
    last = state.revision;
    auto it = by_agent_.find(state.agent);
    if (it != by_agent_.end()) targets.assign(it->second.begin(), it->second.end());
  }
  auto shared = std::make_shared<const RuntimeState>(std::move(state));
  for (auto& [id, listener] : targets) {
    {
      // Skip listeners unsubscribed by an earlier listener of this same delivery.
      std::lock_guard<std::mutex> lock(mu_);
      if (!agent_of_.count(id)) continue;
    }
    (*listener)(shared);
  }
}

size_t RuntimeHub::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return agent_of_.size();
}

size_t RuntimeHub::SubscribersOf(const std::string& agent) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_agent_.find(agent);
  return it == by_agent_.end() ? 0 : it->second.size();
}

}  // namespace firebreak
