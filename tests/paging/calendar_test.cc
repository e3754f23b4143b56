#include "paging/calendar.h"

#include <gtest/gtest.h>

namespace firebreak::paging {
namespace {

TimeMs At(const char* rfc3339) {
  auto t = ParseTime(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t.value_or(0);
}

BusinessCalendar Make(BusinessHoursConfig c) {
  auto cal = BusinessCalendar::Create(c);
  EXPECT_TRUE(cal.ok()) << cal.status().ToString();
  return std::move(cal).value();
}

// 2026-11-27 is a Friday, 2026-11-28 a Saturday, 2026-11-30 a Monday.
TEST(BusinessCalendar, SaturdayNightWaitsForMondayMorning) {
  BusinessHoursConfig c;
  c.time_zone = "Europe/Berlin";  // CET, UTC+1, in November
  BusinessCalendar cal = Make(c);
  TimeMs saturday_3am = At("2026-11-28T03:00:00+01:00");
  EXPECT_FALSE(cal.IsOpen(saturday_3am));
  EXPECT_EQ(cal.NextOpen(saturday_3am), At("2026-11-30T09:00:00+01:00"));
}

TEST(BusinessCalendar, WindowEndIsExclusive) {
  BusinessHoursConfig c;
  c.time_zone = "America/New_York";  // EST, UTC-5
  BusinessCalendar cal = Make(c);
  TimeMs friday_1659 = At("2026-11-27T16:59:00-05:00");
  EXPECT_TRUE(cal.IsOpen(friday_1659));
  EXPECT_EQ(cal.NextOpen(friday_1659), friday_1659);
  TimeMs friday_1700 = At("2026-11-27T17:00:00-05:00");
  EXPECT_FALSE(cal.IsOpen(friday_1700));
  EXPECT_EQ(cal.NextOpen(friday_1700), At("2026-11-30T09:00:00-05:00"));
  EXPECT_TRUE(cal.IsOpen(At("2026-11-30T09:00:00-05:00")));
  EXPECT_FALSE(cal.IsOpen(At("2026-11-30T08:59:59.999-05:00")));
}

TEST(BusinessCalendar, EarlyOnAWorkingDayOpensTheSameDay) {
  BusinessCalendar cal = Make({});
  EXPECT_EQ(cal.NextOpen(At("2026-11-30T07:15:00Z")), At("2026-11-30T09:00:00Z"));
}

TEST(BusinessCalendar, HolidayMondayMovesToTuesday) {
  BusinessHoursConfig c;
  c.holidays = {"2026-11-30"};
  BusinessCalendar cal = Make(c);
  EXPECT_FALSE(cal.IsOpen(At("2026-11-30T10:00:00Z")));
  EXPECT_EQ(cal.NextOpen(At("2026-11-28T03:00:00Z")), At("2026-12-01T09:00:00Z"));
  EXPECT_EQ(cal.NextOpen(At("2026-11-30T10:00:00Z")), At("2026-12-01T09:00:00Z"));
}

TEST(BusinessCalendar, ChristmasAndNewYear) {
  BusinessHoursConfig c;
  c.time_zone = "Europe/Berlin";
  c.holidays = {"2026-12-24", "2026-12-25", "2026-12-31", "2027-01-01"};
  BusinessCalendar cal = Make(c);
  // Wednesday 23 Dec, after hours -> Monday 28 Dec (24, 25 holidays; 26, 27 weekend).
  EXPECT_EQ(cal.NextOpen(At("2026-12-23T18:00:00+01:00")), At("2026-12-28T09:00:00+01:00"));
  // Wednesday 30 Dec, after hours -> Monday 4 Jan.
  EXPECT_EQ(cal.NextOpen(At("2026-12-30T18:00:00+01:00")), At("2027-01-04T09:00:00+01:00"));
}

// Berlin moves to summer time on the last Sunday of March (2026-03-29) and back on the last
// Sunday of October (2026-10-25): 09:00 local is 08:00Z in winter and 07:00Z in summer.
TEST(BusinessCalendar, DaylightSavingChangesKeepLocalWallTime) {
  BusinessHoursConfig c;
  c.time_zone = "Europe/Berlin";
  BusinessCalendar cal = Make(c);
  EXPECT_EQ(cal.NextOpen(At("2026-03-28T03:00:00+01:00")), At("2026-03-30T07:00:00Z"));
  EXPECT_EQ(cal.NextOpen(At("2026-10-24T03:00:00+02:00")), At("2026-10-26T08:00:00Z"));
  // Friday before the spring change: 17:00 CET closes at 16:00Z.
  EXPECT_TRUE(cal.IsOpen(At("2026-03-27T15:59:00Z")));
  EXPECT_FALSE(cal.IsOpen(At("2026-03-27T16:00:00Z")));
  // Monday after: 17:00 CEST is 15:00Z.
  EXPECT_TRUE(cal.IsOpen(At("2026-03-30T14:59:00Z")));
  EXPECT_FALSE(cal.IsOpen(At("2026-03-30T15:00:00Z")));
}

TEST(BusinessCalendar, StartSkippedByDaylightSavingOpensAtTheChange) {
  BusinessHoursConfig c;
  c.time_zone = "Europe/Berlin";
  c.working_days = {7};
  c.start = "02:30";  // does not exist on 2026-03-29: clocks jump 02:00 -> 03:00 at 01:00Z
  c.end = "04:00";
  BusinessCalendar cal = Make(c);
  EXPECT_EQ(cal.NextOpen(At("2026-03-28T12:00:00Z")), At("2026-03-29T01:00:00Z"));
  EXPECT_TRUE(cal.IsOpen(At("2026-03-29T01:00:00Z")));
}

TEST(BusinessCalendar, WeekendShiftsAndMidnightEnd) {
  BusinessHoursConfig c;
  c.working_days = {6, 7};
  c.start = "20:00";
  c.end = "24:00";
  BusinessCalendar cal = Make(c);
  EXPECT_TRUE(cal.IsOpen(At("2026-11-28T23:59:59Z")));
  EXPECT_FALSE(cal.IsOpen(At("2026-11-29T00:00:00Z")));
  EXPECT_EQ(cal.NextOpen(At("2026-11-30T12:00:00Z")), At("2026-12-05T20:00:00Z"));
}

TEST(BusinessCalendar, SearchIsBoundedAndNeverHoldsAPageForever) {
  BusinessHoursConfig c;
  c.working_days = {1};
  // Every Monday for more than three years is a holiday.
  TimeMs monday = At("2026-11-30T00:00:00Z");
  for (int i = 0; i < 170; ++i) {
    std::string date = FormatTime(monday + int64_t{i} * 7 * 86'400'000).substr(0, 10);
    c.holidays.push_back(date);
  }
  BusinessCalendar cal = Make(c);
  TimeMs t = At("2026-11-28T03:00:00Z");
  EXPECT_EQ(cal.NextOpen(t), t);
}

TEST(BusinessCalendar, Describes) {
  EXPECT_EQ(Make({}).Describe(), "Mon-Fri 09:00-17:00 UTC");
  EXPECT_EQ(BusinessCalendar().Describe(), "Mon-Fri 09:00-17:00 UTC");
  BusinessHoursConfig c;
  c.time_zone = "Europe/Berlin";
  c.holidays = {"2026-12-24", "2026-12-25", "2026-12-26"};
  EXPECT_EQ(Make(c).Describe(), "Mon-Fri 09:00-17:00 Europe/Berlin, 3 holidays");
  c = {};
  c.working_days = {5, 3, 1};
  c.holidays = {"2026-12-25"};
  EXPECT_EQ(Make(c).Describe(), "Mon,Wed,Fri 09:00-17:00 UTC, 1 holiday");
  c = {};
  c.working_days = {1, 2, 3, 5, 6};
  c.start = "08:30";
  c.end = "24:00";
  EXPECT_EQ(Make(c).Describe(), "Mon-Wed,Fri,Sat 08:30-24:00 UTC");
}

TEST(BusinessCalendar, RefusesBadConfigurationNamingTheField) {
  struct Case {
    BusinessHoursConfig config;
    std::string field;
  };
  auto with = [](auto change) {
    BusinessHoursConfig c;
    change(c);
    return c;
  };
  std::vector<Case> cases = {
      {with([](auto& c) { c.time_zone = "Mars/Olympus_Mons"; }), "time_zone"},
      {with([](auto& c) { c.time_zone = ""; }), "time_zone"},
      {with([](auto& c) { c.time_zone = "../../etc/passwd"; }), "time_zone"},
      {with([](auto& c) { c.start = "25:00"; }), "start"},
      {with([](auto& c) { c.start = "9:00"; }), "start"},
      {with([](auto& c) { c.start = "24:00"; }), "start"},
      {with([](auto& c) { c.end = "17:60"; }), "end"},
      {with([](auto& c) { c.end = "08:00"; }), "end"},
      {with([](auto& c) { c.end = "09:00"; }), "end"},
      {with([](auto& c) {
         c.working_days = {1, 8};
       }),
       "working_days"},
      {with([](auto& c) { c.working_days = {0}; }), "working_days"},
      {with([](auto& c) { c.working_days = {}; }), "working_days"},
      {with([](auto& c) { c.holidays = {"2026-02-30"}; }), "holidays"},
      {with([](auto& c) { c.holidays = {"2026-13-01"}; }), "holidays"},
      {with([](auto& c) { c.holidays = {"25.12.2026"}; }), "holidays"},
  };
  for (const Case& k : cases) {
    auto cal = BusinessCalendar::Create(k.config);
    ASSERT_FALSE(cal.ok()) << k.field;
    EXPECT_EQ(cal.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(cal.status().message().rfind(k.field + ":", 0), 0u) << cal.status().message();
  }
}

}  // namespace
}  // namespace firebreak::paging
