// BusinessCalendar: when a business-hours page (SEV-3) may go out.
//
// A calendar is a time zone, the working days of the week, a daily window of local wall time
// and a list of local holiday dates. It answers two questions over UTC milliseconds: is the
// window open at t, and when does it next open. Daylight-saving changes are handled by the
// IANA zone data (tzdata, /usr/share/zoneinfo): the window opens at the local wall time on
// each working day, whatever the UTC offset is that day. Immutable after Create; copies are
// cheap and safe to share across threads. Rules and examples: docs/paging.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak::paging {

struct BusinessHoursConfig {
  std::string time_zone = "UTC";                    // IANA name, e.g. "Europe/Berlin"
  std::vector<int> working_days = {1, 2, 3, 4, 5};  // ISO weekday 1=Mon..7=Sun
  // Local wall time "HH:MM"; end exclusive ("24:00" allowed), end > start.
  std::string start = "09:00", end = "17:00";
  std::vector<std::string> holidays;  // local dates "2026-12-25"
};

class BusinessCalendar {
 public:
  // Makes the calendar of the default configuration: Mon-Fri 09:00-17:00 UTC, no holidays.
  BusinessCalendar();

  // Validates `c` and returns the calendar; kInvalidArgument names the bad field (unknown
  // zone, "25:00", day 8, a date that does not exist, end not after start, no working day).
  static StatusOr<BusinessCalendar> Create(const BusinessHoursConfig& c);

  // Returns whether t falls on a working day that is not a holiday, within [start, end) local.
  bool IsOpen(TimeMs t) const;

  // Returns t itself when open, else the start of the next business window (local start wall
  // time of the next working, non-holiday day; on a day whose start time is skipped by a DST
  // change, the moment of the change). Searches at most kSearchDays days ahead; should no
  // window exist in that span (every day a holiday), returns t so that a page is never held
  // back forever.
  TimeMs NextOpen(TimeMs t) const;

  // Returns a one-line description, e.g. "Mon-Fri 09:00-17:00 Europe/Berlin, 3 holidays".
  std::string Describe() const;

  // How far NextOpen looks ahead: three years.
  static constexpr int kSearchDays = 3 * 366;

 private:
  struct Impl;
  explicit BusinessCalendar(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace firebreak::paging
