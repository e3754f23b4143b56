#include "comms/lint.h"

#include <re2/re2.h>

#include <cmath>
#include <memory>

#include "common/text.h"

namespace firebreak::comms {
namespace {

// The phrases of each rule, one alternation, longer variants first (RE2 alternation is
// leftmost-first). "\s+" lets a line break or several spaces sit between words.
constexpr const char* kCausePattern =
    R"((?i)root[\s-]*caus(?:es|ed|e)|(?:was|were|is|been)\s+caused|caused\s+by|)"
    R"(the\s+cause\s+(?:was|is|of)|due\s+to|because\s+of|owing\s+to|)"
    R"(result(?:ed|s)?\s+from|stem(?:s|med)?\s+from|triggered\s+by|attributed\s+to|)"
    R"(traced\s+(?:back\s+)?to)";

constexpr const char* kProviderPattern =
    R"((?i)azure\s+open\s*ai|open\s*ai|chat\s*gpt|gpt-?\d+(?:\.\d+)?[a-z]*|anthropic|claude|)"
    R"(google|gemini|azure|(?:the\s+)?(?:ai|llm|model|foundation[\s-]+model)\s+(?:provider|vendor)s?|)"
    R"(upstream\s+(?:ai|llm|model|provider)s?|third[\s-]+party\s+(?:ai|llm|model)s?)";

// "isolated" alone is the runbook's isolation step ("we isolated the agent"): only "an isolated
// ..." and "isolated incident/issue/case..." minimise.
constexpr const char* kMinimisingPattern =
    R"((?i)only\s+a\s+(?:few|handful|couple)|only\s+(?:a\s+)?(?:small|tiny|limited)\s+)"
    R"((?:number|subset|fraction|percentage|group)|a\s+handful|very\s+few|)"
    R"((?:a\s+)?few\s+(?:users|customers|people|accounts|conversations|sessions)|)"
    R"((?:small|tiny|limited)\s+(?:number|subset|fraction|percentage|group)|)"
    R"(minor|minimal|negligible|rare\s+cases?|edge\s+cases?|(?:an\s+)?isolated\s+)"
    R"((?:incidents?|issues?|cases?|problems?|events?|failures?|errors?|instances?|reports?)|)"
    R"(an\s+isolated)";

constexpr const char* kLegalPattern =
    R"((?i)breach(?:es|ed)?|violat(?:ions|ion|ed|es|e|ing)|unlawful(?:ly)?|illegal(?:ly)?|)"
    R"(negligen(?:ce|t)|liab(?:ility|le))";

struct Patterns {
  RE2 cause{kCausePattern};
  RE2 provider{kProviderPattern};
  RE2 minimising{kMinimisingPattern};
  RE2 legal{kLegalPattern};
  RE2 word_char{R"([\pL\pM\pN_])"};
};

const Patterns& GetPatterns() {
  static const Patterns* patterns = new Patterns();
  return *patterns;
}

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Returns the byte length of the UTF-8 character starting at `at` (text is valid UTF-8).
size_t CharLength(std::string_view text, size_t at) {
  size_t end = at + 1;
  while (end < text.size() && IsContinuation(static_cast<unsigned char>(text[end]))) ++end;
  return end - at;
}

// Returns true when the match [start, end) has no letter, digit or '_' on either side.
bool WholeWord(std::string_view text, size_t start, size_t end, const RE2& word_char) {
  if (start > 0) {
    size_t prev = start - 1;
    while (prev > 0 && IsContinuation(static_cast<unsigned char>(text[prev]))) --prev;
    if (RE2::FullMatch(text.substr(prev, start - prev), word_char)) return false;
  }
  if (end < text.size()) {
    if (RE2::FullMatch(text.substr(end, CharLength(text, end)), word_char)) return false;
  }
  return true;
}

void AddMatches(std::string_view text, const RE2& re, const char* rule, bool blocking,
                const std::string& why, std::vector<LintFinding>& out) {
  for (const PhraseMatch& m : FindWholeWords(text, re)) {
    LintFinding f;
    f.rule = rule;
    f.blocking = blocking;
    f.phrase = std::string(text.substr(m.offset, m.length));
    f.message = "\"" + f.phrase + "\" " + why;
    f.offset = m.offset;
    f.length = m.length;
    out.push_back(std::move(f));
  }
}

}  // namespace

std::vector<PhraseMatch> FindWholeWords(std::string_view text, const RE2& re) {
  const RE2& word_char = GetPatterns().word_char;
  std::vector<PhraseMatch> out;
  size_t pos = 0;
  re2::StringPiece whole(text.data(), text.size());
  re2::StringPiece m;
  while (pos < text.size() && re.Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
    size_t start = static_cast<size_t>(m.data() - text.data());
    size_t end = start + m.size();
    if (m.empty()) {
      pos = start + 1;
      continue;
    }
    if (WholeWord(text, start, end, word_char)) {
      out.push_back({start, m.size()});
      pos = end;
    } else {
      pos = start + CharLength(text, start);
    }
  }
  return out;
}

std::vector<PhraseMatch> FindProviderNames(std::string_view text) {
  return FindWholeWords(text, GetPatterns().provider);
}

void AddMinimisingFindings(std::string_view text, const LintFacts& facts,
                           const LintOptions& options, std::vector<LintFinding>& out) {
  if (!facts.affected_users) return;
  int64_t threshold = MinimisingThreshold(facts, options);
  if (*facts.affected_users <= threshold) return;
  AddMatches(text, GetPatterns().minimising, kMinimising, true,
             "minimises an impact measured at " + std::to_string(*facts.affected_users) +
                 " affected users (over " + std::to_string(threshold) +
                 "): state the measured number instead",
             out);
}

StatusOr<Audience> ParseAudience(std::string_view name) {
  if (name == "internal") return Audience::kInternal;
  if (name == "affected") return Audience::kAffected;
  if (name == "public") return Audience::kPublic;
  return InvalidArgument("audience must be internal, affected or public");
}

const char* AudienceName(Audience audience) {
  switch (audience) {
    case Audience::kInternal:
      return "internal";
    case Audience::kAffected:
      return "affected";
    case Audience::kPublic:
      return "public";
  }
  return "internal";
}

int64_t MinimisingThreshold(const LintFacts& facts, const LintOptions& options) {
  int64_t threshold = options.min_affected_threshold;
  if (facts.active_users && *facts.active_users > 0) {
    double share = std::ceil(static_cast<double>(*facts.active_users) * options.active_fraction);
    if (share > static_cast<double>(threshold)) threshold = static_cast<int64_t>(share);
  }
  return threshold;
}

StatusOr<LintReport> Lint(std::string_view text, const LintFacts& facts,
                          const LintOptions& options) {
  if (text.size() > options.max_text_bytes) {
    return TooLarge("message is " + std::to_string(text.size()) + " bytes, over the limit of " +
                    std::to_string(options.max_text_bytes));
  }
  if (!IsValidUtf8(text)) return InvalidArgument("message is not valid UTF-8");
  const Patterns& p = GetPatterns();
  LintReport report;
  auto& out = report.findings;
  if (!facts.root_cause_confirmed) {
    AddMatches(text, p.cause, kUnconfirmedCause, true,
               "states a cause while the root cause is not confirmed: say what is observed, or "
               "confirm the root cause first",
               out);
  }
  if (!facts.evidence_attached) {
    AddMatches(text, p.provider, kProviderBlame, true,
               "points at the model provider with no evidence attached: attach the evidence "
               "(a flagged trace, a signal) or leave the provider out",
               out);
  }
  AddMinimisingFindings(text, facts, options, out);
  if (!facts.next_update_given) {
    LintFinding f;
    f.rule = kNoNextUpdate;
    f.message = "gives neither an ETA nor a next update time: say when readers will hear next";
    out.push_back(std::move(f));
  }
  if (facts.audience == Audience::kPublic) {
    AddMatches(text, p.legal, kLegalWeight, false,
               "has legal weight in a public message: have it reviewed before it goes out", out);
  }
  for (const auto& f : out) report.blocking = report.blocking || f.blocking;
  return report;
}

nlohmann::json FindingsJson(const std::vector<LintFinding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& f : findings) {
    nlohmann::json j = {{"rule", f.rule},       {"blocking", f.blocking}, {"message", f.message},
                        {"phrase", f.phrase},   {"offset", f.offset},     {"length", f.length}};
    if (!f.field.empty()) j["field"] = f.field;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace firebreak::comms
