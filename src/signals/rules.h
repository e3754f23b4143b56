// Classification rules: how a signal becomes a severity, with the reason stated.
//
// Rules are data, read in order; the first whose kind pattern matches decides. A rule either
// fixes the severity or defers to the severity the signal's source suggested. The defaults
// follow the runbook's taxonomy (incidents/severity.h); the configuration may replace them.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "incidents/severity.h"

namespace firebreak {

struct ClassificationRule {
  std::string name;    // "personal-data"
  std::string kind;    // exact signal kind, a prefix ending in '*' ("alert.*"), or "*"
  int severity = 0;    // 1..4; 0: the signal's suggested severity (else the default)
  std::string reason;  // the rule's stated reason, for people
};

struct ClassificationPolicy {
  std::vector<ClassificationRule> rules;  // empty: DefaultRules()
  int default_severity = 3;               // for deferring rules when nothing was suggested
  int open_incident_up_to = 4;            // signals of this severity or worse open incidents
  int max_agent_severity = 2;  // the most severe level an agent token may suggest (1..4)
};

struct Verdict {
  Severity severity = Severity::kUnclassified;
  std::string rule;
  std::string reason;  // "personal data exposed (rule personal-data)"
};

// The runbook's rules: personal data and unauthorised external actions SEV-1, quality
// degraded for everyone SEV-2, one category SEV-3, drift SEV-4, outside signals as suggested.
const std::vector<ClassificationRule>& DefaultRules();

// Checks a policy; kInvalidArgument names the bad rule.
Status CheckPolicy(const ClassificationPolicy& policy);

// Applies the first matching rule to a signal of `kind` with `suggested` severity (0: none).
Verdict Classify(const ClassificationPolicy& policy, const std::string& kind, int suggested);

}  // namespace firebreak
