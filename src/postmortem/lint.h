// Post-mortem lint: keeps a post-mortem blameless and complete. Blocking: a person named as the
// cause and blaming phrases; a failure mode that is not one sentence; an empty root cause (text
// or "pending" is required); an open action without owner or due date; no follow-up date; words
// that minimise an impact the traces measure as large (the comms lint's rule). Warning: a root
// cause that names only the model provider. Each finding says which words and where.
// Deterministic (RE2). Pure: no store, no clock, no HTTP (docs/postmortem.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "comms/lint.h"
#include "common/status.h"
#include "postmortem/document.h"

namespace firebreak::postmortem {

using comms::LintFinding;
using comms::LintReport;

// What is known of the incident the post-mortem is about.
struct LintFacts {
  // People of the incident (commander, acknowledger, the tokens on its timeline, authors and
  // owners): a sentence that names one of them and then a failing ("forgot", "failed to") blames.
  std::vector<std::string> people;
  std::optional<int64_t> affected_users;  // measured; nullopt: not measured
  std::optional<int64_t> active_users;
};

// Rule ids, as findings carry them (and comms::kMinimising).
inline constexpr char kBlame[] = "blame";
inline constexpr char kFailureModeSentence[] = "failure-mode-sentence";
inline constexpr char kEmptyRootCause[] = "empty-root-cause";
inline constexpr char kActionOwner[] = "action-owner";
inline constexpr char kActionDue[] = "action-due";
inline constexpr char kNoFollowUp[] = "no-follow-up";
inline constexpr char kProviderOnlyRootCause[] = "provider-only-root-cause";

// Returns the findings of a post-mortem, in field order; each carries the field it is about
// ("root_cause", "actions[2]") and byte offsets into that field's text. kInvalidArgument for
// text that is not valid UTF-8 (CheckDocument keeps saved documents valid). Thread-safe.
StatusOr<LintReport> Lint(const Document& doc, const std::vector<Action>& actions,
                          const LintFacts& facts);

// Returns the number of sentences in `text` (0 for blank text): a sentence ends at '.', '!' or
// '?' followed by white space and a capital letter or digit, or at a blank line.
int CountSentences(std::string_view text);

}  // namespace firebreak::postmortem
