#include "traces/retention.h"

#include <spdlog/spdlog.h>

namespace firebreak::traces {

void PeriodicWorker::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      chore_();
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
  });
}

void PeriodicWorker::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

RetentionSweeper::RetentionSweeper(TraceService& service, std::chrono::milliseconds interval)
    : PeriodicWorker(
          [&service] {
            auto swept = service.SweepExpired();
            if (!swept.ok()) {
              spdlog::warn("retention sweep failed: {}", swept.status().message());
            } else if (*swept > 0) {
              spdlog::info("retention sweep deleted {} trace(s)", *swept);
            }
          },
          interval) {}

QuietAssembler::QuietAssembler(TraceService& service, std::chrono::milliseconds interval)
    : PeriodicWorker(
          [&service] {
            auto assembled = service.AssembleQuiet();
            if (!assembled.ok()) {
              spdlog::warn("quiet trace assembly failed: {}", assembled.status().message());
            } else if (*assembled > 0) {
              spdlog::info("assembled {} trace(s) whose root span has a parent elsewhere",
                           *assembled);
            }
          },
          interval) {}

}  // namespace firebreak::traces
