// Anchoring the audit chain: the key that signs checkpoints of the chain's head, and the
// keeper that writes one periodically and at a clean stop (docs/audit.md).
//
// The key lives outside the store (a 0600 file in the data directory, made on first start),
// so whoever holds only the database can neither forge an anchor nor rewrite the chain
// without Verify noticing.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "audit/event_log.h"
#include "common/status.h"
#include "store/store.h"

namespace firebreak {

// Returns the anchor key kept in `path`, creating it (32 random bytes, hex, mode 0600) when
// the file does not exist. kUnavailable when it cannot be read or written, kInvalidArgument
// when it holds no key or others may read it.
StatusOr<std::string> LoadOrCreateAnchorKey(const std::string& path);

// Runs EventLog::Anchor every `period` on its own thread, and once more on Stop().
class AnchorKeeper {
 public:
  AnchorKeeper(const EventLog& log, Store& store, std::chrono::milliseconds period)
      : log_(log), store_(store), period_(period) {}
  ~AnchorKeeper() { Stop(); }

  // Starts the thread; the first anchor is written at once.
  void Start();
  // Stops the thread and writes a last anchor of the head. Idempotent.
  void Stop();

 private:
  void AnchorNow();

  const EventLog& log_;
  Store& store_;
  const std::chrono::milliseconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace firebreak
