#include "incidents/severity.h"

#include <cctype>
#include <string>

namespace firebreak {

const std::array<SeverityInfo, 4>& SeverityTable() {
  static const std::array<SeverityInfo, 4> kTable = {{
      {Severity::kSev1, "SEV-1",
       "personal data exposed, or an unauthorised action with external consequences "
       "(payments, sent messages, altered records)",
       "page immediately, 24x7", PagingClass::kImmediate, true, 0},
      {Severity::kSev2, "SEV-2", "quality degraded for all users, no data exposed",
       "page immediately, 24x7", PagingClass::kImmediate, true, 0},
      {Severity::kSev3, "SEV-3", "regression scoped to one input category",
       "page within business hours", PagingClass::kBusinessHours, false, 0},
      {Severity::kSev4, "SEV-4", "slow drift seen by metrics only, no user-visible impact",
       "no page; backlog item due within one week", PagingClass::kBacklog, false, 7},
  }};
  return kTable;
}

const SeverityInfo& SeverityInfoFor(Severity s) {
  return SeverityTable()[static_cast<size_t>(s) - 1];
}

std::string_view SeverityName(Severity s) {
  if (s == Severity::kUnclassified) return "unclassified";
  return SeverityInfoFor(s).name;
}

std::optional<Severity> ParseSeverity(std::string_view text) {
  std::string t;
  for (char c : text) {
    if (c != '-' && c != '_' && c != ' ') t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (t.rfind("sev", 0) == 0) t = t.substr(3);
  if (t.size() == 1 && t[0] >= '1' && t[0] <= '4') return static_cast<Severity>(t[0] - '0');
  return std::nullopt;
}

std::string_view PagingClassName(PagingClass p) {
  switch (p) {
    case PagingClass::kImmediate: return "immediate";
    case PagingClass::kBusinessHours: return "business-hours";
    case PagingClass::kBacklog: return "backlog";
  }
  return "immediate";
}

}  // namespace firebreak
