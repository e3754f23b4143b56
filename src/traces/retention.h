// The trace archive's background workers: RetentionSweeper runs TraceService::SweepExpired
// and QuietAssembler runs TraceService::AssembleQuiet, each periodically on its own thread
// (the rules live in the service, where tests drive them with a FakeClock).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "traces/trace_service.h"

namespace firebreak::traces {

// Runs one chore at Start() and then every `interval` until Stop().
class PeriodicWorker {
 public:
  PeriodicWorker(std::function<void()> chore, std::chrono::milliseconds interval)
      : chore_(std::move(chore)), interval_(interval) {}
  ~PeriodicWorker() { Stop(); }
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  // Starts the worker thread; the first run is at once.
  void Start();
  // Stops the worker and waits for it; safe to call more than once.
  void Stop();

 private:
  const std::function<void()> chore_;
  const std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

// Deletes expired traces (TraceService::SweepExpired). Borrows `service`, which must outlive it.
class RetentionSweeper : public PeriodicWorker {
 public:
  RetentionSweeper(TraceService& service, std::chrono::milliseconds interval);
};

// Assembles traces whose root span never came (TraceService::AssembleQuiet). Borrows
// `service`, which must outlive it.
class QuietAssembler : public PeriodicWorker {
 public:
  QuietAssembler(TraceService& service, std::chrono::milliseconds interval);
};

}  // namespace firebreak::traces
