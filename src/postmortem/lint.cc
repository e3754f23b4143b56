#include "postmortem/lint.h"

#include <re2/re2.h>

#include <memory>

#include "common/text.h"

namespace firebreak::postmortem {
namespace {

using comms::FindWholeWords;
using comms::PhraseMatch;

// Phrases that blame whoever they are about.
constexpr const char* kBlamePattern =
    R"((?i)human[\s-]+errors?|careless(?:ly|ness)?|should\s+have\s+known|at\s+fault|)"
    R"(to\s+blame|fault\s+of)";

// Words that name a person by role; known names come from LintFacts::people.
constexpr const char* kRolePattern =
    R"((?i)on[\s-]*call(?:\s+(?:engineers?|persons?|responders?|developers?|sres?))?|)"
    R"((?:engineer|developer|operator|responder|sre|administrator|intern|employee|)"
    R"(reviewer|contractor|team\s+member)s?|someone|somebody|he|she)";

// A failing, said of the person named before it in the same sentence. Alone ("the check failed
// to fire", "a network fault") these describe the system, which is what a post-mortem should do.
constexpr const char* kFailingPattern =
    R"((?i)forg[eo]t(?:s|ten)?|fail(?:ed|s)?\s+to|neglect(?:ed|s)?|overlooked|ignored|)"
    R"(missed|should\s+have|mistakenly|accidentally|by\s+mistake|made\s+a\s+mistake|fault|)"
    R"(was\s+responsible)";

// Parts of our own system: a root cause naming one of them is not about the provider only.
constexpr const char* kOwnSystemPattern =
    R"((?i)we|our|us|prompts?|config(?:uration)?s?|versions?|releases?|deploy(?:s|ed|ment)?|)"
    R"(rollouts?|guardrails?|filters?|checks?|tests?|validation|monitor(?:s|ing)?|tools?|)"
    R"(manifests?|memory|retrieval|code|pipelines?|runbooks?|process(?:es)?|reviews?|agent)";

// Where a sentence ends: punctuation then white space, or a blank line.
constexpr const char* kSentenceEndPattern = R"([.!?]+["')\]]*\s+|\n[ \t]*\n)";
// A sentence end that starts another sentence (for counting): a capital or a digit follows.
constexpr const char* kNextSentencePattern =
    R"([.!?]+["')\]]*\s+[\p{Lu}\p{N}]|\n[ \t]*\n\s*\S)";

struct Patterns {
  RE2 blame{kBlamePattern};
  RE2 role{kRolePattern};
  RE2 failing{kFailingPattern};
  RE2 own_system{kOwnSystemPattern};
  RE2 sentence_end{kSentenceEndPattern};
  RE2 next_sentence{kNextSentencePattern};
};

const Patterns& GetPatterns() {
  static const Patterns* patterns = new Patterns();
  return *patterns;
}

LintFinding Finding(const char* rule, bool blocking, const std::string& field, std::string message,
                    std::string_view text = {}, PhraseMatch m = {}) {
  LintFinding f;
  f.rule = rule;
  f.blocking = blocking;
  f.field = field;
  f.message = std::move(message);
  f.offset = m.offset;
  f.length = m.length;
  if (m.length > 0) f.phrase = std::string(text.substr(m.offset, m.length));
  return f;
}

// Returns [start, end) of each sentence of `text`.
std::vector<std::pair<size_t, size_t>> Sentences(std::string_view text) {
  std::vector<std::pair<size_t, size_t>> out;
  re2::StringPiece whole(text.data(), text.size());
  re2::StringPiece m;
  size_t start = 0, pos = 0;
  while (pos < text.size() &&
         GetPatterns().sentence_end.Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
    size_t end = static_cast<size_t>(m.data() - text.data()) + m.size();
    out.emplace_back(start, end);
    start = pos = end;
  }
  if (start < text.size()) out.emplace_back(start, text.size());
  return out;
}

// A person named and then said to have failed, in one sentence.
void AddPersonBlame(std::string_view text, const std::string& field, const RE2* names,
                    std::vector<LintFinding>& out) {
  const Patterns& p = GetPatterns();
  std::vector<PhraseMatch> people = FindWholeWords(text, p.role);
  if (names) {
    auto named = FindWholeWords(text, *names);
    people.insert(people.end(), named.begin(), named.end());
  }
  if (people.empty()) return;
  std::vector<PhraseMatch> failings = FindWholeWords(text, p.failing);
  for (auto [start, end] : Sentences(text)) {
    const PhraseMatch* person = nullptr;
    for (const auto& m : people) {
      if (m.offset >= start && m.offset + m.length <= end && (!person || m.offset < person->offset)) {
        person = &m;
      }
    }
    if (!person) continue;
    for (const auto& f : failings) {
      if (f.offset < person->offset + person->length || f.offset + f.length > end) continue;
      PhraseMatch span{person->offset, f.offset + f.length - person->offset};
      std::string who(text.substr(person->offset, person->length));
      std::string did(text.substr(f.offset, f.length));
      out.push_back(Finding(kBlame, true, field,
                            "\"" + who + "\" ... \"" + did +
                                "\" names a person as the cause: say what in the system let it "
                                "happen (a missing check, an unclear runbook), not who",
                            text, span));
      break;
    }
  }
}

void AddBlame(std::string_view text, const std::string& field, const RE2* names,
              std::vector<LintFinding>& out) {
  for (const auto& m : FindWholeWords(text, GetPatterns().blame)) {
    std::string phrase(text.substr(m.offset, m.length));
    out.push_back(Finding(kBlame, true, field,
                          "\"" + phrase + "\" blames a person: describe the conditions that made "
                          "the mistake possible instead",
                          text, m));
  }
  AddPersonBlame(text, field, names, out);
}

void AddRootCause(const std::string& root_cause, std::vector<LintFinding>& out) {
  std::string_view text = root_cause;
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    out.push_back(Finding(kEmptyRootCause, true, "root_cause",
                          "the root cause is empty: write it, or \"pending\" while it is not known"));
    return;
  }
  auto providers = comms::FindProviderNames(text);
  if (providers.empty() || !FindWholeWords(text, GetPatterns().own_system).empty()) return;
  std::string name(text.substr(providers[0].offset, providers[0].length));
  out.push_back(Finding(kProviderOnlyRootCause, false, "root_cause",
                        "the root cause names only the model provider (\"" + name +
                            "\"): say what in our system let its behaviour reach users",
                        text, providers[0]));
}

// Returns a case-insensitive alternation of the known people's names, or null without any.
std::unique_ptr<RE2> NamesPattern(const std::vector<std::string>& people) {
  std::string alternation;
  for (const auto& name : people) {
    if (name.empty()) continue;
    alternation += (alternation.empty() ? "" : "|") + RE2::QuoteMeta(name);
  }
  if (alternation.empty()) return nullptr;
  RE2::Options options;
  options.set_case_sensitive(false);
  auto re = std::make_unique<RE2>(alternation, options);
  return re->ok() ? std::move(re) : nullptr;
}

}  // namespace

int CountSentences(std::string_view text) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return 0;
  re2::StringPiece whole(text.data(), text.size());
  re2::StringPiece m;
  int count = 1;
  size_t pos = 0;
  while (pos < text.size() &&
         GetPatterns().next_sentence.Match(whole, pos, text.size(), RE2::UNANCHORED, &m, 1)) {
    ++count;
    pos = static_cast<size_t>(m.data() - text.data()) + m.size();
  }
  return count;
}

StatusOr<LintReport> Lint(const Document& doc, const std::vector<Action>& actions,
                          const LintFacts& facts) {
  std::vector<std::pair<std::string, const std::string*>> texts = {
      {"summary", &doc.summary},
      {"failure_mode", &doc.failure_mode},
      {"root_cause", &doc.root_cause},
      {"trigger", &doc.trigger},
      {"detection", &doc.detection},
      {"resolution", &doc.resolution},
      {"lessons.went_well", &doc.went_well},
      {"lessons.went_wrong", &doc.went_wrong},
      {"lessons.lucky", &doc.lucky}};
  for (size_t i = 0; i < actions.size(); ++i) {
    texts.emplace_back("actions[" + std::to_string(i + 1) + "]", &actions[i].description);
  }
  for (size_t i = 0; i < doc.annotations.size(); ++i) {
    texts.emplace_back("annotations[" + std::to_string(i + 1) + "]", &doc.annotations[i].text);
  }
  for (const auto& [field, text] : texts) {
    if (!IsValidUtf8(*text)) return InvalidArgument("'" + field + "' is not valid UTF-8");
  }
  std::unique_ptr<RE2> names = NamesPattern(facts.people);
  comms::LintFacts measured;
  measured.affected_users = facts.affected_users;
  measured.active_users = facts.active_users;

  LintReport report;
  auto& out = report.findings;
  for (const auto& [field, text] : texts) {
    AddBlame(*text, field, names.get(), out);
    size_t before = out.size();
    comms::AddMinimisingFindings(*text, measured, {}, out);
    for (size_t i = before; i < out.size(); ++i) out[i].field = field;
    if (field == "failure_mode") {
      int sentences = CountSentences(*text);
      if (sentences != 1) {
        out.push_back(Finding(kFailureModeSentence, true, field,
                              sentences == 0 ? "the failure mode is empty: state it in one sentence"
                                             : "the failure mode is " + std::to_string(sentences) +
                                                   " sentences: state it in exactly one"));
      }
    }
    if (field == "root_cause") AddRootCause(*text, out);
  }
  for (size_t i = 0; i < actions.size(); ++i) {
    const Action& a = actions[i];
    if (a.status != "open") continue;
    std::string field = "actions[" + std::to_string(i + 1) + "]";
    if (a.owner.empty()) {
      out.push_back(Finding(kActionOwner, true, field,
                            "action " + std::to_string(i + 1) + " (\"" +
                                TruncateUtf8(a.description, 60, "...") + "\") has no owner"));
    }
    if (!a.due_at) {
      out.push_back(Finding(kActionDue, true, field,
                            "action " + std::to_string(i + 1) + " (\"" +
                                TruncateUtf8(a.description, 60, "...") + "\") has no due date"));
    }
  }
  if (!doc.follow_up_at) {
    out.push_back(Finding(kNoFollowUp, true, "follow_up",
                          "no follow-up date: set when the team reviews the actions again"));
  }
  for (const auto& f : out) report.blocking = report.blocking || f.blocking;
  return report;
}

}  // namespace firebreak::postmortem
