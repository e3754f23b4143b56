#include "traces/retention.h"

#include <spdlog/spdlog.h>

namespace firebreak::traces {

void RetentionSweeper::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      auto swept = service_.SweepExpired();
      if (!swept.ok()) {
        spdlog::warn("retention sweep failed: {}", swept.status().message());
      } else if (*swept > 0) {
        spdlog::info("retention sweep deleted {} trace(s)", *swept);
      }
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
  });
}

void RetentionSweeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace firebreak::traces
