// TimelineFeed: the incidents' timelines as they grow, for live readers (GET /api/v1/stream).
//
// One thread reads the events committed since its last look, every `poll` (at once when woken),
// and hands each event that belongs on an incident's timeline to every subscriber, in sequence
// order. Reading the store rather than hooking appends means a reader sees only what
// committed, and also what other servers on the same store wrote. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "store/store.h"

namespace firebreak {

class TimelineFeed {
 public:
  using Listener = std::function<void(const EventRecord&)>;

  TimelineFeed(Store& store, std::chrono::milliseconds poll) : store_(store), poll_(poll) {}
  ~TimelineFeed() { Stop(); }
  TimelineFeed(const TimelineFeed&) = delete;
  TimelineFeed& operator=(const TimelineFeed&) = delete;

  // Starts from the current head of the log: subscribers get the events committed after it.
  Status Start();
  void Stop();
  // Looks now instead of at the next poll.
  void Wake();

  // `listener` is called on the feed's thread, in order, for every timeline event the feed
  // reads from now on; it must not block. Returns the subscription id.
  uint64_t Subscribe(Listener listener);
  void Unsubscribe(uint64_t id);

 private:
  void Run();

  Store& store_;
  const std::chrono::milliseconds poll_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;   // GUARDED_BY(mu_)
  bool woken_ = false;  // GUARDED_BY(mu_)
  int64_t head_ = 0;    // the last sequence number read; only the feed's thread writes it
  std::thread thread_;
  std::mutex listeners_mu_;
  uint64_t next_id_ = 1;                       // GUARDED_BY(listeners_mu_)
  std::map<uint64_t, Listener> listeners_;     // GUARDED_BY(listeners_mu_)
};

}  // namespace firebreak
