// RetentionSweeper: the background worker that runs TraceService::SweepExpired periodically
// (the retention rule itself lives in the service, where tests drive it with a FakeClock).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "traces/trace_service.h"

namespace firebreak::traces {

class RetentionSweeper {
 public:
  // Borrows `service`, which must outlive the sweeper.
  RetentionSweeper(TraceService& service, std::chrono::milliseconds interval)
      : service_(service), interval_(interval) {}
  ~RetentionSweeper() { Stop(); }

  // Starts the worker thread; the first sweep runs at once.
  void Start();
  // Stops the worker and waits for it; safe to call more than once.
  void Stop();

 private:
  TraceService& service_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace firebreak::traces
