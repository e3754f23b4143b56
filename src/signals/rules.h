// Classification rules: how a signal becomes a severity, with the reason stated.
//
// Rules are data, read in order; the first whose kind pattern matches decides. A rule either
// fixes the severity or defers to the severity the signal's source suggested. The defaults
// follow the runbook's taxonomy (incidents/severity.h); the configuration may replace them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
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

// How the Prometheus Alertmanager webhook reads an alert's labels ([alertmanager] in the policy
// file, docs/detection.md).
struct AlertmanagerPolicy {
  // The label that names the AI agent. `job` and `service` usually name the exporter.
  std::string agent_label = "agent";
  // Suggested for an alert whose severity label is missing or not understood (1..4).
  int default_severity = 3;
};

struct Verdict {
  Severity severity = Severity::kUnclassified;
  std::string rule;
  std::string reason;  // "personal data exposed (rule personal-data)"
};

// The runbook's rules: personal data and unauthorised external actions SEV-1, quality
// degraded for everyone SEV-2, one category SEV-3, drift SEV-4, outside signals as suggested.
const std::vector<ClassificationRule>& DefaultRules();

// Returns the severity a severity word of an alerting setup suggests: SEV-1..SEV-4 as
// ParseSeverity reads them; critical, crit, page, P1, emergency, emerg, alert, fatal, major,
// error, err, P2, high -> 2 (SEV-1 means personal data or an unauthorised external action,
// which an outside alert does not show; a rule on the alert's kind may still say SEV-1);
// minor, warning, warn, P3, medium, moderate -> 3; info, informational, notice, P4, P5, low,
// none, debug -> 4. Case and surrounding spaces do not matter. nullopt for any other word.
std::optional<int> AlertSeverity(std::string_view word);

// Checks a policy; kInvalidArgument names the bad rule.
Status CheckPolicy(const ClassificationPolicy& policy);

// Applies the first matching rule to a signal of `kind` with `suggested` severity (0: none).
Verdict Classify(const ClassificationPolicy& policy, const std::string& kind, int suggested);

}  // namespace firebreak
