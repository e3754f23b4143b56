#include "comms/lint.h"

#include <gtest/gtest.h>

#include <string>

namespace firebreak::comms {
namespace {

// Facts under which only the rule a test looks at can fire.
LintFacts Quiet() {
  LintFacts f;
  f.root_cause_confirmed = true;
  f.evidence_attached = true;
  f.next_update_given = true;
  return f;
}

std::vector<std::string> Rules(const LintReport& r) {
  std::vector<std::string> out;
  for (const auto& f : r.findings) out.push_back(f.rule);
  return out;
}

LintReport LintOf(const std::string& text, const LintFacts& facts, const LintOptions& o = {}) {
  auto r = Lint(text, facts, o);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : LintReport{};
}

TEST(LintTest, TheIssueExampleGivesMinimisingAndUnconfirmedCauseAndProviderBlame) {
  const std::string text = "Only a few users were affected; this was caused by OpenAI";
  LintFacts f;
  f.affected_users = 40;
  f.next_update_given = true;
  LintReport r = LintOf(text, f);
  EXPECT_TRUE(r.blocking);
  ASSERT_EQ(Rules(r), (std::vector<std::string>{kUnconfirmedCause, kProviderBlame, kMinimising}));
  EXPECT_EQ(r.findings[0].phrase, "was caused");
  EXPECT_EQ(r.findings[0].offset, text.find("was caused"));
  EXPECT_EQ(r.findings[1].phrase, "OpenAI");
  EXPECT_EQ(r.findings[1].offset, text.find("OpenAI"));
  EXPECT_EQ(r.findings[1].length, 6u);
  EXPECT_EQ(r.findings[2].phrase, "Only a few");
  EXPECT_EQ(r.findings[2].offset, 0u);
  EXPECT_NE(r.findings[2].message.find("40"), std::string::npos);
  for (const auto& finding : r.findings) EXPECT_TRUE(finding.blocking);

  // With evidence attached, the provider may be named; the other two remain.
  f.evidence_attached = true;
  EXPECT_EQ(Rules(LintOf(text, f)), (std::vector<std::string>{kUnconfirmedCause, kMinimising}));
}

TEST(LintTest, CauseAllowedOnceTheRootCauseIsConfirmed) {
  LintFacts f = Quiet();
  f.root_cause_confirmed = false;
  for (const char* text : {"The outage was caused by a bad deploy.", "Root cause: a config flag",
                           "Errors DUE TO a bug in retrieval", "because of a bug",
                           "it resulted from a migration", "the root-caused failure"}) {
    LintReport r = LintOf(text, f);
    ASSERT_EQ(Rules(r), std::vector<std::string>{kUnconfirmedCause}) << text;
    EXPECT_TRUE(r.blocking);
  }
  EXPECT_TRUE(LintOf("We are investigating elevated errors.", f).findings.empty());
  f.root_cause_confirmed = true;
  EXPECT_TRUE(LintOf("The outage was caused by a bad deploy.", f).findings.empty());
}

TEST(LintTest, ProviderBlameNeedsEvidence) {
  LintFacts f = Quiet();
  f.evidence_attached = false;
  for (const char* text : {"an outage at OpenAI", "anthropic returned errors", "Google's API",
                           "Azure was slow", "the model provider failed", "an upstream model bug",
                           "🔥Google down", "problème chez OpenAI."}) {
    EXPECT_EQ(Rules(LintOf(text, f)), std::vector<std::string>{kProviderBlame}) << text;
  }
  // Whole words only: no match inside another word, including non-ASCII letters around it.
  for (const char* text : {"visit the Googleplex", "googles", "éGoogle", "Googleé", "my_openai"}) {
    EXPECT_TRUE(LintOf(text, f).findings.empty()) << text;
  }
  f.evidence_attached = true;
  EXPECT_TRUE(LintOf("an outage at OpenAI", f).findings.empty());
}

TEST(LintTest, MinimisingAgainstTheMeasuredNumber) {
  LintFacts f = Quiet();
  f.affected_users = 3;
  EXPECT_TRUE(LintOf("A minor issue affected a handful of users.", f).findings.empty());
  f.affected_users = 10;  // at the threshold: not over it
  EXPECT_TRUE(LintOf("A minor issue", f).findings.empty());
  f.affected_users = 11;
  LintReport r = LintOf("A minor issue affected a handful of users, a small number.", f);
  EXPECT_EQ(Rules(r), (std::vector<std::string>{kMinimising, kMinimising, kMinimising}));
  EXPECT_EQ(r.findings[1].phrase, "a handful");
  EXPECT_EQ(r.findings[2].phrase, "small number");
  // Not measured: nothing to contradict.
  f.affected_users.reset();
  EXPECT_TRUE(LintOf("A minor issue", f).findings.empty());
}

TEST(LintTest, MinimisingThresholdIsTheLargerOfTheFloorAndOnePercentOfActiveUsers) {
  LintFacts f = Quiet();
  EXPECT_EQ(MinimisingThreshold(f), 10);
  f.active_users = 500;  // 1 % = 5 < 10
  EXPECT_EQ(MinimisingThreshold(f), 10);
  f.active_users = 5000;  // 1 % = 50
  EXPECT_EQ(MinimisingThreshold(f), 50);
  f.active_users = 5001;  // rounded up
  EXPECT_EQ(MinimisingThreshold(f), 51);
  f.affected_users = 40;
  EXPECT_TRUE(LintOf("only a few users", f).findings.empty());
  LintOptions o;
  o.min_affected_threshold = 0;
  o.active_fraction = 0.001;
  EXPECT_EQ(MinimisingThreshold(f, o), 6);
  EXPECT_EQ(Rules(LintOf("only a few users", f, o)), std::vector<std::string>{kMinimising});
}

TEST(LintTest, IsolatingTheAgentIsNotMinimising) {
  LintFacts f = Quiet();
  f.affected_users = 500;
  EXPECT_TRUE(LintOf("We isolated the agent and rolled it back.", f).findings.empty());
  EXPECT_EQ(Rules(LintOf("This is an isolated incident.", f)), std::vector<std::string>{kMinimising});
}

TEST(LintTest, NextUpdateRequired) {
  LintFacts f = Quiet();
  f.next_update_given = false;
  LintReport r = LintOf("We are investigating.", f);
  ASSERT_EQ(Rules(r), std::vector<std::string>{kNoNextUpdate});
  EXPECT_TRUE(r.blocking);
  EXPECT_EQ(r.findings[0].phrase, "");
  EXPECT_EQ(r.findings[0].length, 0u);
  EXPECT_TRUE(LintOf("", Quiet()).findings.empty());
}

TEST(LintTest, LegalWeightWarnsInPublicOnly) {
  LintFacts f = Quiet();
  f.audience = Audience::kPublic;
  LintReport r = LintOf("This was not a data BREACH nor a violation.", f);
  ASSERT_EQ(Rules(r), (std::vector<std::string>{kLegalWeight, kLegalWeight}));
  EXPECT_FALSE(r.blocking);
  EXPECT_FALSE(r.findings[0].blocking);
  EXPECT_EQ(r.findings[0].phrase, "BREACH");
  f.audience = Audience::kInternal;
  EXPECT_TRUE(LintOf("a data breach", f).findings.empty());
  f.audience = Audience::kAffected;
  EXPECT_TRUE(LintOf("unlawful", f).findings.empty());
}

TEST(LintTest, OffsetsAreBytesOfMultiByteText) {
  LintFacts f = Quiet();
  f.evidence_attached = false;
  const std::string text = "Ünïcödé 😀 — l'équipe d'OpenAI 日本 Anthropic";
  LintReport r = LintOf(text, f);
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].offset, text.find("OpenAI"));
  EXPECT_EQ(text.substr(r.findings[1].offset, r.findings[1].length), "Anthropic");
  // Case folding beyond ASCII does not shift offsets.
  f.audience = Audience::kPublic;
  const std::string t2 = "ÉÉÉ VIOLATION";
  LintReport r2 = LintOf(t2, f);
  ASSERT_EQ(r2.findings.size(), 1u);
  EXPECT_EQ(r2.findings[0].offset, 7u);
}

TEST(LintTest, RefusesBadInput) {
  auto bad = Lint(std::string("caused by \xC3\x28", 12), Quiet());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  LintOptions o;
  o.max_text_bytes = 8;
  auto big = Lint("123456789", Quiet(), o);
  ASSERT_FALSE(big.ok());
  EXPECT_EQ(big.status().code(), StatusCode::kTooLarge);
  EXPECT_TRUE(ParseAudience("public").ok());
  EXPECT_EQ(ParseAudience("Public").status().code(), StatusCode::kInvalidArgument);
  EXPECT_STREQ(AudienceName(Audience::kAffected), "affected");
}

}  // namespace
}  // namespace firebreak::comms
