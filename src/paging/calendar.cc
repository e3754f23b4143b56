#include "paging/calendar.h"

#include <absl/time/civil_time.h>
#include <absl/time/time.h>

#include <algorithm>
#include <set>

namespace firebreak::paging {

struct BusinessCalendar::Impl {
  std::string zone_name;
  absl::TimeZone zone;
  std::set<int> days;    // ISO weekdays 1..7
  int start_minute = 0;  // minutes after local midnight
  int end_minute = 0;    // exclusive; up to 24*60
  std::set<absl::CivilDay> holidays;
};

namespace {

// Parses "HH:MM" (two digits each); "24:00" only when `allow_midnight_end`.
bool ParseWallTime(const std::string& text, bool allow_midnight_end, int* minutes) {
  if (text.size() != 5 || text[2] != ':') return false;
  for (int i : {0, 1, 3, 4}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  int h = (text[0] - '0') * 10 + (text[1] - '0');
  int m = (text[3] - '0') * 10 + (text[4] - '0');
  if (m > 59) return false;
  if (h > 23 && !(allow_midnight_end && h == 24 && m == 0)) return false;
  *minutes = h * 60 + m;
  return true;
}

// Parses "YYYY-MM-DD" into a day that exists (no 2026-02-30).
bool ParseDate(const std::string& text, absl::CivilDay* day) {
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == 4 || i == 7) continue;
    if (text[i] < '0' || text[i] > '9') return false;
  }
  int y = std::stoi(text.substr(0, 4));
  int mo = std::stoi(text.substr(5, 2));
  int d = std::stoi(text.substr(8, 2));
  absl::CivilDay parsed(y, mo, d);  // normalises out-of-range fields
  if (parsed.year() != y || parsed.month() != mo || parsed.day() != d) return false;
  *day = parsed;
  return true;
}

int IsoWeekday(absl::CivilDay day) {
  return static_cast<int>(absl::GetWeekday(day)) + 1;  // absl: monday == 0
}

constexpr const char* kDayNames[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};

std::string FormatMinutes(int minutes) {
  std::string out = "00:00";
  out[0] = static_cast<char>('0' + minutes / 600);
  out[1] = static_cast<char>('0' + minutes / 60 % 10);
  out[3] = static_cast<char>('0' + minutes % 60 / 10);
  out[4] = static_cast<char>('0' + minutes % 10);
  return out;
}

// The instant at which local wall time `minute` (after midnight) happens on `day`: its first
// occurrence when a DST change repeats it, the moment of the change when one skips it.
absl::Time LocalInstant(const absl::TimeZone& zone, absl::CivilDay day, int minute) {
  absl::CivilSecond wall = absl::CivilSecond(day) + int64_t{minute} * 60;
  absl::TimeZone::TimeInfo info = zone.At(wall);
  return info.kind == absl::TimeZone::TimeInfo::SKIPPED ? info.trans : info.pre;
}

}  // namespace

StatusOr<BusinessCalendar> BusinessCalendar::Create(const BusinessHoursConfig& c) {
  auto impl = std::make_shared<Impl>();
  // Names are looked up as files under the zoneinfo directory: refuse anything path-like.
  if (c.time_zone.empty() || c.time_zone.front() == '/' ||
      c.time_zone.find("..") != std::string::npos ||
      !absl::LoadTimeZone(c.time_zone, &impl->zone)) {
    return InvalidArgument("time_zone: unknown time zone \"" + c.time_zone + "\"");
  }
  impl->zone_name = c.time_zone;
  if (c.working_days.empty())
    return InvalidArgument("working_days: name at least one day (1=Mon..7=Sun)");
  for (int d : c.working_days) {
    if (d < 1 || d > 7) {
      return InvalidArgument("working_days: " + std::to_string(d) +
                             " is not an ISO weekday (1=Mon..7=Sun)");
    }
    impl->days.insert(d);
  }
  if (!ParseWallTime(c.start, false, &impl->start_minute)) {
    return InvalidArgument("start: \"" + c.start + "\" is not a time HH:MM (00:00..23:59)");
  }
  if (!ParseWallTime(c.end, true, &impl->end_minute)) {
    return InvalidArgument("end: \"" + c.end + "\" is not a time HH:MM (00:00..24:00)");
  }
  if (impl->end_minute <= impl->start_minute) {
    return InvalidArgument("end: " + c.end + " is not after start " + c.start);
  }
  for (const std::string& h : c.holidays) {
    absl::CivilDay day;
    if (!ParseDate(h, &day))
      return InvalidArgument("holidays: \"" + h + "\" is not a date YYYY-MM-DD");
    impl->holidays.insert(day);
  }
  return BusinessCalendar(std::move(impl));
}

BusinessCalendar::BusinessCalendar() : BusinessCalendar(Create({}).value()) {}

bool BusinessCalendar::IsOpen(TimeMs t) const {
  const Impl& c = *impl_;
  absl::CivilSecond local = absl::ToCivilSecond(absl::FromUnixMillis(t), c.zone);
  absl::CivilDay day(local);
  if (!c.days.count(IsoWeekday(day)) || c.holidays.count(day)) return false;
  int minute = local.hour() * 60 + local.minute();
  return minute >= c.start_minute && minute < c.end_minute;
}

TimeMs BusinessCalendar::NextOpen(TimeMs t) const {
  if (IsOpen(t)) return t;
  const Impl& c = *impl_;
  absl::Time now = absl::FromUnixMillis(t);
  absl::CivilDay day(absl::ToCivilSecond(now, c.zone));
  for (int i = 0; i <= kSearchDays; ++i, ++day) {
    if (!c.days.count(IsoWeekday(day)) || c.holidays.count(day)) continue;
    absl::Time open = LocalInstant(c.zone, day, c.start_minute);
    if (open > now) return absl::ToUnixMillis(open);
  }
  return t;
}

std::string BusinessCalendar::Describe() const {
  const Impl& c = *impl_;
  // Runs of consecutive days read as "Mon-Fri"; others are listed: "Mon,Wed,Fri".
  std::string days;
  std::vector<int> d(c.days.begin(), c.days.end());
  for (size_t i = 0; i < d.size();) {
    size_t j = i;
    while (j + 1 < d.size() && d[j + 1] == d[j] + 1) ++j;
    if (!days.empty()) days += ",";
    days += kDayNames[d[i] - 1];
    if (j - i >= 2) {
      days += std::string("-") + kDayNames[d[j] - 1];
    } else if (j == i + 1) {
      days += std::string(",") + kDayNames[d[j] - 1];
    }
    i = j + 1;
  }
  std::string out = days + " " + FormatMinutes(c.start_minute) + "-" + FormatMinutes(c.end_minute) +
                    " " + c.zone_name;
  size_t n = c.holidays.size();
  if (n > 0) out += ", " + std::to_string(n) + (n == 1 ? " holiday" : " holidays");
  return out;
}

}  // namespace firebreak::paging
