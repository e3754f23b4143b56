// Message lint: checks an outgoing incident message (banner, update, notice to affected users)
// against what is known of the incident, so that a team under pressure does not state a cause
// it has not confirmed, blame the model provider without evidence, minimise an impact the
// traces measure as large, leave readers without a next update, or use words with legal
// weight in public. Deterministic (RE2 patterns, no model). Pure: no store, no clock, no HTTP
// (docs/comms.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace re2 {
class RE2;
}

namespace firebreak::comms {

// Who a message is addressed to; audiences never leak into one another.
enum class Audience { kInternal, kAffected, kPublic };

// Returns the audience named "internal", "affected" or "public"; kInvalidArgument otherwise.
StatusOr<Audience> ParseAudience(std::string_view name);
// Returns the name of an audience ("internal", "affected", "public").
const char* AudienceName(Audience audience);

// What is known of the incident when the message goes out.
struct LintFacts {
  Audience audience = Audience::kInternal;
  bool root_cause_confirmed = false;
  bool evidence_attached = false;            // at least one evidence item (flagged trace, ...)
  std::optional<int64_t> affected_users;     // measured from traces; nullopt: not measured
  std::optional<int64_t> active_users;       // distinct users in the incident window
  bool next_update_given = false;            // an ETA or a next-update time is set
};

struct LintOptions {
  // Minimising words block when the measured affected users exceed
  // max(min_affected_threshold, ceil(active_users * active_fraction)).
  int64_t min_affected_threshold = 10;
  double active_fraction = 0.01;
  size_t max_text_bytes = 64 * 1024;
};

// Rule ids, as findings carry them.
inline constexpr char kUnconfirmedCause[] = "unconfirmed-cause";
inline constexpr char kProviderBlame[] = "provider-blame";
inline constexpr char kMinimising[] = "minimising";
inline constexpr char kNoNextUpdate[] = "no-next-update";
inline constexpr char kLegalWeight[] = "legal-weight";

struct LintFinding {
  std::string rule;      // one of the ids above
  bool blocking = true;  // false: a warning
  std::string message;   // for a human: what is wrong and how to fix it
  std::string phrase;    // the matched text as written; "" for a rule about what is missing
  size_t offset = 0, length = 0;  // byte range of `phrase` in the linted text
  std::string field;     // the part of a document linted ("root_cause"); "" for one message
};

struct LintReport {
  std::vector<LintFinding> findings;  // in rule order, then offset order
  bool blocking = false;              // at least one finding blocks
};

// The JSON of findings, as stored, answered by the API and printed by the CLI:
// [{rule, blocking, message, phrase, offset, length}], plus `field` when a finding has one.
nlohmann::json FindingsJson(const std::vector<LintFinding>& findings);

// Returns the minimising threshold for `facts` under `options` (see LintOptions).
int64_t MinimisingThreshold(const LintFacts& facts, const LintOptions& options = {});

// Returns the findings of `text` for `facts`. Phrases match case-insensitively and as whole
// words: the characters either side must not be Unicode letters, digits or '_' (so "Google"
// does not match in "Googleplex", but does in "Google's" or "🔥Google"). kInvalidArgument for
// text that is not valid UTF-8; kTooLarge past options.max_text_bytes. Thread-safe.
StatusOr<LintReport> Lint(std::string_view text, const LintFacts& facts,
                          const LintOptions& options = {});

// For other lints of incident text (the post-mortem's), the same matching and phrase lists.
struct PhraseMatch {
  size_t offset = 0, length = 0;
};
// Returns every non-overlapping match of `re` in `text` (valid UTF-8) that stands as whole
// words, as Lint matches, in offset order.
std::vector<PhraseMatch> FindWholeWords(std::string_view text, const re2::RE2& re);
// Returns the names of model providers in `text` (valid UTF-8), as the provider-blame rule
// finds them.
std::vector<PhraseMatch> FindProviderNames(std::string_view text);
// Appends the minimising-words findings of `text` (valid UTF-8): none unless `facts` measure
// more affected users than MinimisingThreshold(facts, options).
void AddMinimisingFindings(std::string_view text, const LintFacts& facts,
                           const LintOptions& options, std::vector<LintFinding>& out);

}  // namespace firebreak::comms
