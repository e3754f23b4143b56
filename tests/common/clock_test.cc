#include "common/clock.h"

#include <gtest/gtest.h>

namespace firebreak {
namespace {

TEST(Clock, FormatsAndParsesRfc3339) {
  EXPECT_EQ(FormatTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatTime(1795962245123), "2026-11-29T14:24:05.123Z");
  EXPECT_EQ(ParseTime("2026-11-29T14:24:05.123Z"), 1795962245123);
  EXPECT_EQ(ParseTime("2026-11-29T15:24:05.123+01:00"), 1795962245123);
  EXPECT_EQ(ParseTime("2026-11-29T14:24:05Z"), 1795962245000);
  EXPECT_EQ(ParseTime("2024-02-29T00:00:00Z"), 1709164800000);
  EXPECT_TRUE(ParseTime("2000-02-29T00:00:00Z").has_value());
  EXPECT_TRUE(ParseTime("2026-11-29T14:24:05+23:59").has_value());
}

TEST(Clock, RejectsWhatIsNotATime) {
  for (const char* bad : {"", "2026-11-29", "2026-13-01T00:00:00Z", "2026-11-29T14:24:05",
                          "2026-11-29T14:24:05.Z", "yesterday", "2026-11-29T14:24:05Zjunk",
                          // Days a month does not have, and offsets no zone has.
                          "2024-02-31T00:00:00Z", "2023-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
                          "2100-02-29T00:00:00Z", "2026-11-29T14:24:05+99:99",
                          "2026-11-29T14:24:05-24:00", "2026-11-29T14:24:05+01:60"}) {
    EXPECT_FALSE(ParseTime(bad).has_value()) << bad;
  }
}

TEST(Clock, FakeClockMovesOnlyWhenTold) {
  FakeClock clock(1000);
  EXPECT_EQ(clock.NowMs(), 1000);
  clock.Advance(48LL * 3600 * 1000);
  EXPECT_EQ(clock.NowMs(), 1000 + 48LL * 3600 * 1000);
}

TEST(Clock, FormatsDurationsForPeople) {
  EXPECT_EQ(FormatDuration(850), "850ms");
  EXPECT_EQ(FormatDuration(42'000), "42.0s");
  EXPECT_EQ(FormatDuration(192'000), "3m12s");
  EXPECT_EQ(FormatDuration(7'500'000), "2h05m");
}

}  // namespace
}  // namespace firebreak
