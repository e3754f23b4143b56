// Clock: the only way Firebreak code reads the time.
//
// Production uses SystemClock; tests use FakeClock to jump 48 hours or to Saturday 03:00
// without sleeping. Times are UTC milliseconds since the Unix epoch everywhere in the code and
// in the store; they are formatted as RFC 3339 only at the edges (JSON, CLI tables).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace firebreak {

using TimeMs = int64_t;  // UTC milliseconds since the Unix epoch

class Clock {
 public:
  virtual ~Clock() = default;
  // Returns the current UTC time in milliseconds. Thread-safe.
  virtual TimeMs NowMs() const = 0;
};

// Reads the system's real-time clock.
class SystemClock final : public Clock {
 public:
  TimeMs NowMs() const override;
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(TimeMs start) : now_(start) {}
  TimeMs NowMs() const override { return now_.load(); }
  void Set(TimeMs t) { now_.store(t); }
  void Advance(TimeMs delta) { now_.fetch_add(delta); }

 private:
  std::atomic<TimeMs> now_;
};

// Formats a time as RFC 3339 UTC with milliseconds, e.g. "2026-11-29T15:04:05.123Z".
std::string FormatTime(TimeMs t);

// The times FormatTime and ParseTime agree on: 0001-01-01T00:00:00.000Z to
// 9999-12-31T23:59:59.999Z. A time from outside (epoch milliseconds) is checked against them.
inline constexpr TimeMs kMinTimeMs = -62'135'596'800'000;
inline constexpr TimeMs kMaxTimeMs = 253'402'300'799'999;

// Parses RFC 3339 ("2026-11-29T15:04:05Z", optional fraction, "Z" or "+hh:mm" offset) into UTC
// milliseconds; returns nullopt when the text is not such a time.
std::optional<TimeMs> ParseTime(std::string_view text);

// Formats a duration in milliseconds for people: "850ms", "42s", "3m12s", "2h05m".
std::string FormatDuration(int64_t ms);

}  // namespace firebreak
