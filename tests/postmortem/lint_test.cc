// The post-mortem lint on its own: blame of people (named, by role, by phrase) and the
// system-level wording it lets through, one-sentence failure modes, root causes, actions,
// follow-up dates, minimising words against the measured impact, and the provider warning.
#include "postmortem/lint.h"

#include <gtest/gtest.h>

namespace firebreak::postmortem {
namespace {

// A document the lint passes: each test breaks one thing.
Document Clean() {
  Document doc;
  doc.summary = "Card numbers reached replies for 312 users over two hours.";
  doc.failure_mode = "The reply filter let card numbers from retrieved tickets through.";
  doc.root_cause = "The v42 prompt asked for verbatim quotes and no check ran on the output.";
  doc.follow_up_at = ParseDate("2026-12-10");
  return doc;
}

Action OwnedAction() {
  Action a;
  a.description = "Add an output check for card numbers";
  a.owner = "alice";
  a.due_at = ParseDate("2026-12-01");
  return a;
}

std::vector<std::string> Rules(const LintReport& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(f.rule);
  return out;
}

LintReport LintOf(const Document& doc, const std::vector<Action>& actions = {}, LintFacts facts = {}) {
  auto r = Lint(doc, actions, facts);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : LintReport{};
}

TEST(PostmortemLintTest, ACleanDocumentHasNoFindings) {
  LintReport r = LintOf(Clean(), {OwnedAction()}, {{"alice", "bob"}, 312, 5000});
  EXPECT_TRUE(r.findings.empty()) << comms::FindingsJson(r.findings).dump();
  EXPECT_FALSE(r.blocking);
}

TEST(PostmortemLintTest, ARoleNamedAsTheCauseIsBlame) {
  Document doc = Clean();
  doc.root_cause = "The on-call engineer forgot to check the config.";
  LintReport r = LintOf(doc);
  ASSERT_EQ(Rules(r), std::vector<std::string>{kBlame});
  const LintFinding& f = r.findings[0];
  EXPECT_TRUE(f.blocking);
  EXPECT_EQ(f.field, "root_cause");
  EXPECT_EQ(f.phrase, "on-call engineer forgot");
  EXPECT_EQ(f.offset, 4u);
  EXPECT_NE(f.message.find("\"on-call engineer\""), std::string::npos) << f.message;
  EXPECT_NE(f.message.find("\"forgot\""), std::string::npos) << f.message;
}

TEST(PostmortemLintTest, AKnownPersonNamedAsTheCauseIsBlame) {
  Document doc = Clean();
  doc.lucky = "Nothing. Bob failed to roll back in time.";
  LintReport r = LintOf(doc, {}, {{"bob"}, std::nullopt, std::nullopt});
  ASSERT_EQ(Rules(r), std::vector<std::string>{kBlame});
  EXPECT_EQ(r.findings[0].field, "lessons.lucky");
  EXPECT_EQ(r.findings[0].phrase, "Bob failed to");
  // Without knowing Bob is a person, the sentence names nobody.
  EXPECT_TRUE(LintOf(doc).findings.empty());
}

TEST(PostmortemLintTest, BlamingPhrasesBlockWhoeverTheyAreAbout) {
  for (const char* text : {"It was human error.", "A careless deploy.", "We should have known.",
                           "Ops was at fault.", "Nobody is to blame but the fault of the reviewer."}) {
    Document doc = Clean();
    doc.summary = text;
    LintReport r = LintOf(doc);
    ASSERT_FALSE(r.findings.empty()) << text;
    EXPECT_EQ(r.findings[0].rule, kBlame) << text;
    EXPECT_TRUE(r.blocking) << text;
  }
}

TEST(PostmortemLintTest, FailuresOfTheSystemAreNotBlame) {
  Document doc = Clean();
  doc.detection = "The health check failed to fire. A network fault hid the errors.";
  doc.went_wrong = "The engineer saw the alert late. The runbook forgot the config step.";
  EXPECT_TRUE(LintOf(doc).findings.empty()) << comms::FindingsJson(LintOf(doc).findings).dump();
  // Words inside other words are not the phrase.
  doc.summary = "Faulty caching; a fault-tolerant design is planned.";
  EXPECT_EQ(Rules(LintOf(doc)), std::vector<std::string>{});
}

TEST(PostmortemLintTest, BlameInActionsAndNotesIsFoundWithTheirField) {
  Document doc = Clean();
  doc.annotations.push_back({0, "carol", "the SRE ignored the page"});
  Action a = OwnedAction();
  a.description = "Retrain the developer who neglected the review";
  LintReport r = LintOf(doc, {a});
  std::vector<std::string> fields;
  for (const auto& f : r.findings) fields.push_back(f.field);
  EXPECT_EQ(fields, (std::vector<std::string>{"actions[1]", "annotations[1]"}));
}

TEST(PostmortemLintTest, TheFailureModeIsExactlyOneSentence) {
  Document doc = Clean();
  doc.failure_mode = "";
  EXPECT_EQ(Rules(LintOf(doc)), std::vector<std::string>{kFailureModeSentence});
  doc.failure_mode = "The filter let card numbers through. Nobody noticed for hours.";
  LintReport r = LintOf(doc);
  ASSERT_EQ(Rules(r), std::vector<std::string>{kFailureModeSentence});
  EXPECT_NE(r.findings[0].message.find("2 sentences"), std::string::npos);
  // Abbreviations, versions and a closing full stop keep one sentence.
  doc.failure_mode = "Replies quoted tickets (e.g. card numbers) after v1.2 shipped.";
  EXPECT_TRUE(LintOf(doc).findings.empty());
  EXPECT_EQ(CountSentences("One. Two! 3 three? four"), 3);
  EXPECT_EQ(CountSentences("para one\n\npara two"), 2);
}

TEST(PostmortemLintTest, TheRootCauseIsTextOrPending) {
  Document doc = Clean();
  doc.root_cause = " \n ";
  EXPECT_EQ(Rules(LintOf(doc)), std::vector<std::string>{kEmptyRootCause});
  doc.root_cause = kPendingRootCause;
  EXPECT_TRUE(LintOf(doc).findings.empty());
}

TEST(PostmortemLintTest, ARootCauseNamingOnlyTheProviderWarns) {
  Document doc = Clean();
  doc.root_cause = "OpenAI changed the model's behaviour.";
  LintReport r = LintOf(doc);
  ASSERT_EQ(Rules(r), std::vector<std::string>{kProviderOnlyRootCause});
  EXPECT_FALSE(r.findings[0].blocking);
  EXPECT_FALSE(r.blocking);
  EXPECT_EQ(r.findings[0].phrase, "OpenAI");
  doc.root_cause = "OpenAI changed the model's behaviour and our output check did not cover it.";
  EXPECT_TRUE(LintOf(doc).findings.empty());
}

TEST(PostmortemLintTest, OpenActionsNeedOwnersAndDueDates) {
  Action a = OwnedAction();
  a.owner = "";
  Action b = OwnedAction();
  b.due_at.reset();
  Action dropped = OwnedAction();
  dropped.owner = "";
  dropped.due_at.reset();
  dropped.status = "dropped";
  LintReport r = LintOf(Clean(), {a, b, dropped});
  EXPECT_EQ(Rules(r), (std::vector<std::string>{kActionOwner, kActionDue}));
  EXPECT_EQ(r.findings[0].field, "actions[1]");
  EXPECT_EQ(r.findings[1].field, "actions[2]");
}

TEST(PostmortemLintTest, NoFollowUpDateBlocks) {
  Document doc = Clean();
  doc.follow_up_at.reset();
  LintReport r = LintOf(doc);
  ASSERT_EQ(Rules(r), std::vector<std::string>{kNoFollowUp});
  EXPECT_TRUE(r.blocking);
  EXPECT_NE(r.findings[0].message.find("no follow-up date"), std::string::npos);
}

TEST(PostmortemLintTest, MinimisingWordsContradictedByTheMeasuredImpactBlock) {
  Document doc = Clean();
  doc.summary = "A few users saw card numbers in replies.";
  // Hundreds measured: contradicted.
  LintReport r = LintOf(doc, {}, {{}, 312, 5000});
  ASSERT_EQ(Rules(r), std::vector<std::string>{comms::kMinimising});
  EXPECT_EQ(r.findings[0].field, "summary");
  EXPECT_EQ(r.findings[0].phrase, "A few users");
  EXPECT_NE(r.findings[0].message.find("312"), std::string::npos);
  // Three measured: true, so allowed; not measured: nothing to contradict.
  EXPECT_TRUE(LintOf(doc, {}, {{}, 3, 5000}).findings.empty());
  EXPECT_TRUE(LintOf(doc).findings.empty());
}

TEST(PostmortemLintTest, TextThatIsNotUtf8IsRefused) {
  Document doc = Clean();
  doc.trigger = "bad \xff byte";
  auto r = Lint(doc, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace firebreak::postmortem
