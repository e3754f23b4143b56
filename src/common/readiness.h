// Readiness: which areas of the server are still warming up after the start (the memory
// vector index, a compaction a crash interrupted). `GET /readyz` reports it; liveness
// (`/healthz`) does not depend on it. Thread-safe.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace firebreak {

class Readiness {
 public:
  // Marks `area` as warming (idempotent).
  void Warming(const std::string& area) {
    std::lock_guard<std::mutex> lock(mu_);
    warming_.insert(area);
  }
  // Marks `area` as ready (idempotent).
  void Ready(const std::string& area) {
    std::lock_guard<std::mutex> lock(mu_);
    warming_.erase(area);
  }
  // Returns the areas still warming, sorted; empty when the server is ready.
  std::vector<std::string> WarmingAreas() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {warming_.begin(), warming_.end()};
  }

 private:
  mutable std::mutex mu_;
  std::set<std::string> warming_;  // GUARDED_BY(mu_)
};

}  // namespace firebreak
