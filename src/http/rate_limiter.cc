#include "http/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace firebreak::http {

RateLimiter::RateLimiter(const Clock& clock, double per_second, double burst, size_t max_keys)
    : clock_(clock), per_second_(per_second), burst_(std::max(1.0, burst)),
      max_keys_(std::max<size_t>(1, max_keys)),
      refill_ms_(per_second > 0 ? std::max(1.0, burst) / per_second * 1000.0 : 0) {}

int64_t RateLimiter::Acquire(std::string_view key) {
  if (per_second_ <= 0) return 0;
  TimeMs now = clock_.NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  DropIdle(now);
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (lru_.size() >= max_keys_) {
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
    lru_.push_front(Bucket{std::string(key), burst_, now});
    index_.emplace(lru_.front().key, lru_.begin());
  } else {
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  Bucket& b = lru_.front();
  // A clock that steps back refills nothing rather than draining the bucket.
  double elapsed_ms = static_cast<double>(std::max<TimeMs>(0, now - b.updated));
  b.tokens = std::min(burst_, b.tokens + elapsed_ms * per_second_ / 1000.0);
  b.updated = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return 0;
  }
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((1.0 - b.tokens) * 1000.0 / per_second_)));
}

size_t RateLimiter::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return lru_.size();
}

void RateLimiter::DropIdle(TimeMs now) {
  while (!lru_.empty() && static_cast<double>(now - lru_.back().updated) >= refill_ms_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

}  // namespace firebreak::http
