#include "signals/rules.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace firebreak {
namespace {

bool KindMatches(const std::string& pattern, const std::string& kind) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') {
    return kind.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == kind;
}

}  // namespace

const std::vector<ClassificationRule>& DefaultRules() {
  static const std::vector<ClassificationRule> kRules = {
      {"personal-data", "pii", 1, "personal data exposed"},
      {"personal-data-retrieved", "pii.retrieved", 3,
       "personal data in retrieved content, not sent out"},
      {"unauthorised-external-action", "action.unauthorised", 1,
       "unauthorised action with external consequences"},
      {"unauthorised-internal-action", "action.internal", 3,
       "action outside the manifest without external effect"},
      {"quality-everyone", "quality.degraded", 2, "quality degraded for all users, no data exposed"},
      {"quality-one-category", "quality.category", 3, "regression scoped to one input category"},
      {"drift", "drift*", 4, "slow drift seen by metrics only"},
      {"as-suggested", "*", 0, "severity suggested by the signal's source"},
  };
  return kRules;
}

std::optional<int> AlertSeverity(std::string_view word) {
  size_t first = word.find_first_not_of(" \t");
  size_t last = word.find_last_not_of(" \t");
  if (first == std::string_view::npos) return std::nullopt;
  std::string w(word.substr(first, last - first + 1));
  std::transform(w.begin(), w.end(), w.begin(), [](unsigned char c) { return std::tolower(c); });
  if (auto sev = ParseSeverity(w)) return static_cast<int>(*sev);
  static const std::set<std::string, std::less<>> kSev2 = {
      "critical", "crit", "page", "p1", "emergency", "emerg", "fatal", "alert",
      "major",    "error", "err", "p2", "high"};
  static const std::set<std::string, std::less<>> kSev3 = {"minor", "warning", "warn", "p3",
                                                          "medium", "moderate"};
  static const std::set<std::string, std::less<>> kSev4 = {
      "info", "informational", "notice", "p4", "p5", "low", "none", "debug"};
  if (kSev2.count(w)) return 2;
  if (kSev3.count(w)) return 3;
  if (kSev4.count(w)) return 4;
  return std::nullopt;
}

Status CheckPolicy(const ClassificationPolicy& policy) {
  for (size_t i = 0; i < policy.rules.size(); ++i) {
    const auto& r = policy.rules[i];
    std::string where = "classification.rules[" + std::to_string(i) + "]";
    if (r.name.empty()) return InvalidArgument(where + ".name is required");
    if (r.kind.empty()) return InvalidArgument(where + ".kind is required");
    if (r.severity < 0 || r.severity > 4) return InvalidArgument(where + ".severity must be 1..4 or 0");
    if (r.reason.empty()) return InvalidArgument(where + ".reason is required");
  }
  if (policy.default_severity < 1 || policy.default_severity > 4) {
    return InvalidArgument("classification.default_severity must be 1..4");
  }
  if (policy.open_incident_up_to < 0 || policy.open_incident_up_to > 4) {
    return InvalidArgument("classification.open_incident_up_to must be 0..4");
  }
  if (policy.max_agent_severity < 1 || policy.max_agent_severity > 4) {
    return InvalidArgument("classification.max_agent_severity must be 1..4");
  }
  return Status::Ok();
}

Verdict Classify(const ClassificationPolicy& policy, const std::string& kind, int suggested) {
  const auto& rules = policy.rules.empty() ? DefaultRules() : policy.rules;
  for (const auto& r : rules) {
    if (!KindMatches(r.kind, kind)) continue;
    int sev = r.severity;
    if (sev == 0) sev = (suggested >= 1 && suggested <= 4) ? suggested : policy.default_severity;
    return {static_cast<Severity>(sev), r.name, r.reason + " (rule " + r.name + ")"};
  }
  int sev = (suggested >= 1 && suggested <= 4) ? suggested : policy.default_severity;
  return {static_cast<Severity>(sev), "default", "no rule matched; default severity"};
}

}  // namespace firebreak
