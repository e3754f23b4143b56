// The severity taxonomy of the runbook, as data: what each level means and how it pages.
// Detectors, classification rules, paging and the CLI all read this one table.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace firebreak {

enum class Severity { kUnclassified = 0, kSev1 = 1, kSev2 = 2, kSev3 = 3, kSev4 = 4 };

enum class PagingClass {
  kImmediate,      // page now, at any hour, escalate when not acknowledged
  kBusinessHours,  // page in the next business window, never dropped
  kBacklog,        // page nobody; a backlog item with a due date
};

struct SeverityInfo {
  Severity severity;
  std::string_view name;     // "SEV-1"
  std::string_view meaning;  // when it applies
  std::string_view response; // who answers and when
  PagingClass paging;
  bool escalates;            // unacknowledged pages escalate
  int backlog_due_days;      // for kBacklog: days until the item is due; 0 otherwise
};

// Returns the four severities, SEV-1 first.
const std::array<SeverityInfo, 4>& SeverityTable();

// Returns the entry of a classified severity; `s` must not be kUnclassified.
const SeverityInfo& SeverityInfoFor(Severity s);

// Returns "SEV-1".."SEV-4", or "unclassified".
std::string_view SeverityName(Severity s);

// Parses "SEV-1", "sev1", "SEV1" or "1"; returns nullopt for anything else.
std::optional<Severity> ParseSeverity(std::string_view text);

// Returns "immediate", "business-hours" or "backlog".
std::string_view PagingClassName(PagingClass p);

}  // namespace firebreak
