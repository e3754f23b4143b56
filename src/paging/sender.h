// HttpSender: one outbound HTTP POST (a page, a webhook), its answer classified for the outbox.
//
// Each call uses its own libcurl easy handle, so one sender may be shared by any number of
// threads. Only http and https URLs are accepted, redirects are not followed (a 3xx is a
// permanent failure: the configured URL is wrong), the response body is read up to 64 KiB and
// every call is bounded by its timeout. The classification is what the outbox retries on:
// 2xx delivered; 408, 429, 5xx, timeouts and network errors retry; any other answer is
// permanent. BackoffMs computes the wait before the next attempt. docs/paging.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace firebreak::paging {

struct HttpPost {
  std::string url;
  std::vector<std::pair<std::string, std::string>>
      headers;  // Content-Type: application/json added if absent
  std::string body;
  int timeout_ms = 10'000;
};

enum class Outcome { kDelivered, kRetry, kPermanent };

// Returns "delivered", "retry" or "permanent".
const char* OutcomeName(Outcome outcome);

struct SendResult {
  Outcome outcome = Outcome::kRetry;
  int http_status = 0;  // 0: no answer (connect error, timeout)
  std::string error;    // short, for the delivery row: "HTTP 503", "timeout after 10000 ms", ...
  std::optional<int64_t> retry_after_ms;  // from a Retry-After header on 429/503
  int64_t elapsed_ms = 0;
  std::string response_body;  // at most kMaxResponseBytes
};

class HttpSender {
 public:
  // How much of a response body is read; the rest is not.
  static constexpr size_t kMaxResponseBytes = size_t{64} * 1024;

  virtual ~HttpSender() = default;

  // Sends `post` and classifies the answer: 2xx kDelivered; 408, 429, 5xx, timeout, connect
  // and other network errors kRetry; other statuses, a malformed URL or a scheme other than
  // http/https kPermanent. Never throws. Thread-safe.
  virtual SendResult Post(const HttpPost& post);
};

// Returns the wait before attempt `attempt + 1` after attempt `attempt` (counted from 1)
// failed: exponential backoff with full jitter, floor(rand01 * min(max_ms, base_ms *
// 2^(attempt-1))). `rand01` in [0, 1) supplies the randomness so tests are deterministic.
int64_t BackoffMs(int attempt, int64_t base_ms, int64_t max_ms, double rand01);

// Default backoff: 2 s doubling per attempt, capped at 10 minutes.
inline constexpr int64_t kBackoffBaseMs = 2'000;
inline constexpr int64_t kBackoffMaxMs = int64_t{10} * 60'000;

// Parses a Retry-After value (RFC 9110: delay-seconds, or an HTTP-date taken relative to
// `now`) into milliseconds from now, at least 0; nullopt when it is neither.
std::optional<int64_t> ParseRetryAfter(std::string_view value, TimeMs now);

}  // namespace firebreak::paging
