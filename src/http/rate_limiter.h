// RateLimiter: a token bucket per key (an API token's hash, or a client address), so that one
// caller cannot take the whole server.
//
// Each key may make `burst` requests at once and `per_second` requests a second after that.
// Time comes from the injected Clock. Memory is bounded: a bucket that has been idle long
// enough to be full again is the same as no bucket and is dropped, and past `max_keys` the
// least recently used bucket goes first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"

namespace firebreak::http {

class RateLimiter {
 public:
  // `per_second` <= 0 turns the limiter off (every request passes). Borrows `clock`, which must
  // outlive the limiter.
  RateLimiter(const Clock& clock, double per_second, double burst, size_t max_keys = 100'000);

  // Takes one request from `key`'s bucket. Returns 0 when the request may run, otherwise the
  // milliseconds until it would (at least 1). Thread-safe.
  int64_t Acquire(std::string_view key);

  // Returns how many buckets are held (for tests of the memory bound). Thread-safe.
  size_t size() const;

 private:
  struct Bucket {
    std::string key;
    double tokens = 0;
    TimeMs updated = 0;
  };
  void DropIdle(TimeMs now);  // REQUIRES(mu_)

  const Clock& clock_;
  const double per_second_;
  const double burst_;
  const size_t max_keys_;
  // Milliseconds an untouched bucket needs to fill up again.
  const double refill_ms_;
  mutable std::mutex mu_;
  std::list<Bucket> lru_;  // GUARDED_BY(mu_); most recently used first
  std::unordered_map<std::string_view, std::list<Bucket>::iterator> index_;  // GUARDED_BY(mu_)
};

}  // namespace firebreak::http
