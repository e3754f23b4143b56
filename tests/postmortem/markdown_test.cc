// The Markdown of a post-mortem: what export writes, and what `firebreak postmortem edit`
// reads back after a person edited it (round trip, notes, actions, and the parts nobody edits).
#include "postmortem/markdown.h"

#include <gtest/gtest.h>

namespace firebreak::postmortem {
namespace {

// 2026-11-29T14:03:27Z
constexpr TimeMs kDetected = 1'795'961'007'000;
constexpr TimeMs kMinute = 60'000;

Postmortem Sample() {
  Postmortem pm;
  pm.incident_id = 7;
  pm.severity = 1;
  pm.state = State::kInReview;
  pm.version = 4;
  pm.doc.title = "Card numbers in replies";
  pm.doc.authors = {"alice", "bob"};
  pm.doc.summary = "Replies quoted card numbers.\n\n# not a heading\n\\ starts with a backslash";
  pm.doc.failure_mode = "The reply filter let card numbers through.";
  pm.doc.root_cause = "pending";
  pm.doc.went_well = "Rollback took a minute.";
  pm.doc.follow_up_at = ParseDate("2026-12-10");
  pm.doc.annotations = {{kDetected + 2 * kMinute - 27'000, "carol", "called the card issuer"}};
  pm.actions = {{3, "corrective", "Check replies for card numbers | PANs", "alice", ParseDate("2026-12-01"),
                 "P1", "open", ""},
                {4, "preventive", "Quarterly drill", "", std::nullopt, "P3", "dropped", "covered by the SRE drills"}};
  pm.generated.impact.affected_users = 312;
  pm.generated.impact.detected_at = kDetected;
  pm.generated.impact.resolved_at = kDetected + 125 * kMinute;
  pm.generated.impact.duration_ms = 125 * kMinute;
  pm.generated.impact.time_to_classify_ms = 90'000;
  pm.generated.impact.pages_sent = 3;
  pm.generated.timeline = {{kDetected, "rule:pii", "declared the incident"},
                           {kDetected + 20'000, "alice", "classified it SEV-1: card numbers"},
                           {kDetected + 24 * 60 * kMinute, "bob", "moved it from isolated to resolved"}};
  pm.due_at = kDetected + 48 * 60 * kMinute;
  return pm;
}

TEST(PostmortemMarkdownTest, TheTimelineHasALinePerEventWithItsMinuteAndADayHeading) {
  std::string md = RenderMarkdown(Sample());
  EXPECT_NE(md.find("### 2026-11-29\n\n- 14:03 **rule:pii**: declared the incident\n"
                    "- 14:03 **alice**: classified it SEV-1: card numbers\n"
                    "- 14:05 note (carol): called the card issuer\n"),
            std::string::npos)
      << md;
  EXPECT_NE(md.find("### 2026-11-30\n\n- 14:03 **bob**: moved it"), std::string::npos) << md;
  EXPECT_NE(md.find("- Affected users: 312 (measured from traces)"), std::string::npos) << md;
  EXPECT_NE(md.find("- Time to classify: 1m30s"), std::string::npos) << md;
  EXPECT_NE(md.find("- Pages sent: 3"), std::string::npos) << md;
  EXPECT_NE(md.find("| 3 | corrective | P1 | alice | 2026-12-01 | open | Check replies for card "
                    "numbers \\| PANs |  |"),
            std::string::npos)
      << md;
}

TEST(PostmortemMarkdownTest, WhatIsRenderedReadsBackTheSame) {
  Postmortem pm = Sample();
  auto parsed = ParseMarkdown(RenderMarkdown(pm));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->version, 4);
  EXPECT_EQ(DocumentJson(parsed->doc).dump(2), DocumentJson(pm.doc).dump(2));
  ASSERT_EQ(parsed->actions.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(ActionJson(parsed->actions[i]).dump(), ActionJson(pm.actions[i]).dump());
  }
}

TEST(PostmortemMarkdownTest, APersonsEditsAreReadAndTheFixedPartsCompared) {
  std::string md = RenderMarkdown(Sample());
  auto before = ParseMarkdown(md);
  ASSERT_TRUE(before.ok());
  std::string edited = md;
  edited.replace(edited.find("follow_up: 2026-12-10"), 21, "follow_up: 2026-12-17");
  edited.replace(edited.find("## Root cause\n\npending"), 22, "## Root cause\n\nThe v42 prompt.");
  edited.replace(edited.find("- 14:05 note (carol)"), 0, "- 14:04 note: paged the DB team\n");
  // A new row at the end of the table: no id, no status.
  edited.insert(edited.find("\n## Timeline"), "| | preventive | P2 | dave | 2026-12-20 | | Add a drill |  |\n");
  auto after = ParseMarkdown(edited);
  ASSERT_TRUE(after.ok()) << after.status().ToString() << "\n" << edited;
  EXPECT_EQ(after->fixed, before->fixed);
  EXPECT_EQ(FormatDate(*after->doc.follow_up_at), "2026-12-17");
  EXPECT_EQ(after->doc.root_cause, "The v42 prompt.");
  ASSERT_EQ(after->doc.annotations.size(), 2u);
  EXPECT_EQ(after->doc.annotations[0].text, "paged the DB team");
  EXPECT_EQ(after->doc.annotations[0].author, "");
  EXPECT_EQ(FormatTime(after->doc.annotations[0].at), "2026-11-29T14:04:00.000Z");
  ASSERT_EQ(after->actions.size(), 3u);
  EXPECT_EQ(after->actions[2].id, 0);
  EXPECT_EQ(after->actions[2].owner, "dave");
  EXPECT_EQ(after->actions[2].status, "open");

  // Editing a generated line or the measured impact shows in `fixed`.
  std::string forged = md;
  forged.replace(forged.find("Affected users: 312"), 19, "Affected users: 3");
  auto changed = ParseMarkdown(forged);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed->fixed, before->fixed);
  forged = md;
  forged.replace(forged.find("**alice**: classified"), 21, "**alice**: reclassified");
  changed = ParseMarkdown(forged);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed->fixed, before->fixed);
}

TEST(PostmortemMarkdownTest, WhatCannotBeReadIsRefusedWithItsLine) {
  std::string md = RenderMarkdown(Sample());
  struct Case {
    std::string text;
    std::string says;
  };
  std::vector<Case> cases = {
      {"no header", "line 1"},
      {"---\nversion: 2\n", "no closing"},
      {"---\ntitle: x\n---\n", "no 'version'"},
      {"---\nversion: 2\nowner: x\n---\n", "unknown header field 'owner'"},
      {"---\nversion: 2\n---\n## Gossip\n", "unknown section"},
      {"---\nversion: 2\nfollow_up: next week\n---\n", "follow_up"},
      {"---\nversion: 2\n---\n## Actions\n\n| h |\n|---|\n| 1 | corrective |\n", "8 cells"},
      {"---\nversion: 2\n---\n## Actions\n\n| h |\n|---|\n| x | corrective | P1 | a | 2026-12-01 | open | d | |\n",
       "id"},
      {"---\nversion: 2\n---\n## Timeline (UTC)\n\n- 14:03 note: before any day\n", "the day above it"},
      {"---\nversion: 2\n---\n## Timeline (UTC)\n\n### 2026-11-29\n\nfree text\n", "add a note"},
      {"---\nversion: 2\n---\n## Lessons\n\nloose text\n", "lessons go under"},
  };
  for (const auto& c : cases) {
    auto parsed = ParseMarkdown(c.text);
    ASSERT_FALSE(parsed.ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_NE(parsed.status().message().find(c.says), std::string::npos)
        << c.text << " -> " << parsed.status().message();
  }
  EXPECT_EQ(ParseMarkdown(std::string(2 << 20, 'x')).status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(ParseMarkdown("---\nversion: 1\n---\n\xff").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace firebreak::postmortem
