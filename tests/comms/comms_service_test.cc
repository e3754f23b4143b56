// CommsService over a real store with a FakeClock: banners and updates pass the lint (refused
// with findings, or overridden with a reason on the timeline), audiences stay apart, and a
// promised update that is late is chased once.
#include "comms/comms_service.h"

#include <gtest/gtest.h>

#include "incidents/incident_service.h"
#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

constexpr TimeMs kMinute = 60'000;

class CountingReminders final : public ReminderSink {
 public:
  Status QueueReminder(Txn&, const IncidentRecord& incident, const std::string& key,
                       const std::string& headline) override {
    sent.push_back({incident.id, key, headline});
    return Status::Ok();
  }
  Status QueueInternalUpdate(Txn&, const IncidentRecord& incident, const std::string& key,
                             const std::string& text) override {
    internal.push_back({incident.id, key, text});
    return Status::Ok();
  }
  struct Sent {
    int64_t incident;
    std::string key, headline;
  };
  std::vector<Sent> sent;
  std::vector<Sent> internal;
};

class CommsServiceTest : public ::testing::Test {
 protected:
  CommsServiceTest()
      : store_(OpenTestStore(dir_)), clock_(1'795'964'645'000), log_(clock_),
        incidents_(*store_, log_, clock_) {
    CommsOptions options;
    options.reminders = &reminders_;
    options.affected = [this](const IncidentRecord&) -> StatusOr<std::pair<int64_t, int64_t>> {
      return std::pair<int64_t, int64_t>{affected_, 1000};
    };
    comms_ = std::make_unique<CommsService>(*store_, log_, clock_, options);
    auto inc = incidents_.Declare("alice", {"card numbers in replies", "support-bot", Severity::kSev1,
                                            "PII detector", ""});
    EXPECT_TRUE(inc.ok()) << inc.status().ToString();
    id_ = inc->id;
  }

  size_t TimelineSize() { return incidents_.Timeline(id_)->size(); }
  std::string LastEventKind() { return incidents_.Timeline(id_)->back().kind; }

  NoticeInput Notice(const std::string& message) {
    NoticeInput in;
    in.message = message;
    in.next_update_at = clock_.NowMs() + 30 * kMinute;
    return in;
  }

  static std::vector<std::string> Rules(const std::vector<LintFinding>& findings) {
    std::vector<std::string> out;
    for (const auto& f : findings) out.push_back(f.rule);
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  IncidentService incidents_;
  CountingReminders reminders_;
  int64_t affected_ = 0;
  std::unique_ptr<CommsService> comms_;
  int64_t id_ = 0;
};

TEST_F(CommsServiceTest, ANoticeWithoutEtaOrNextUpdateIsRefusedAndNothingIsWritten) {
  size_t before = TimelineSize();
  NoticeInput in;
  in.message = "We are looking into replies that showed payment details.";
  LintRefusal refusal;
  auto set = comms_->SetNotice("alice", id_, in, &refusal);
  ASSERT_EQ(set.status().code(), StatusCode::kConflict);
  EXPECT_NE(set.status().message().find("no-next-update"), std::string::npos);
  EXPECT_EQ(Rules(refusal.findings), std::vector<std::string>{"no-next-update"});
  EXPECT_FALSE(comms_->Notice(id_)->has_value());
  EXPECT_EQ(TimelineSize(), before);
  EXPECT_TRUE(comms_->PublicStatus()->empty());

  auto ok = comms_->SetNotice("alice", id_, Notice(in.message));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(LastEventKind(), "notice.raised");
  auto status = comms_->PublicStatus();
  ASSERT_EQ(status->size(), 1u);
  EXPECT_EQ((*status)[0].severity, 1);
  EXPECT_FALSE((*status)[0].overdue);
}

TEST_F(CommsServiceTest, TheLintRefusesBlameAndMinimisingUntilAPersonOverridesWithAReason) {
  affected_ = 240;  // measured from the traces
  const std::string text = "Only a few users were affected; this was caused by OpenAI";
  LintRefusal refusal;
  auto refused = comms_->SetNotice("alice", id_, Notice(text), &refusal);
  ASSERT_EQ(refused.status().code(), StatusCode::kConflict);
  auto rules = Rules(refusal.findings);
  EXPECT_NE(std::find(rules.begin(), rules.end(), "minimising"), rules.end());
  EXPECT_NE(std::find(rules.begin(), rules.end(), "unconfirmed-cause"), rules.end());
  EXPECT_NE(std::find(rules.begin(), rules.end(), "provider-blame"), rules.end());
  EXPECT_FALSE(comms_->Notice(id_)->has_value());

  NoticeInput overridden = Notice(text);
  overridden.override_reason = "legal approved this wording";
  auto set = comms_->SetNotice("bob", id_, overridden);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_FALSE(set->findings.empty());
  auto events = incidents_.Timeline(id_);
  const EventRecord& e = events->back();
  EXPECT_EQ(e.kind, "notice.raised");
  EXPECT_EQ(e.actor, "bob");
  EXPECT_NE(e.details_json.find("legal approved this wording"), std::string::npos);
  EXPECT_NE(e.details_json.find("minimising"), std::string::npos);
}

TEST_F(CommsServiceTest, AConfirmedRootCauseMayBeStated) {
  const std::string text = "The outage was caused by a bad prompt template; fixed at 10:40.";
  EXPECT_EQ(comms_->SetNotice("alice", id_, Notice(text)).status().code(), StatusCode::kConflict);
  ASSERT_TRUE(comms_->SetFacts("alice", id_, std::nullopt, "prompt template v7 dropped the filter").ok());
  EXPECT_TRUE(comms_->SetNotice("alice", id_, Notice(text)).ok());
}

TEST_F(CommsServiceTest, AudiencesNeverLeak) {
  NoticeInput internal = Notice("Rolling back v2; the on-call is paging the vendor.");
  internal.audience = "internal";
  EXPECT_EQ(comms_->SetNotice("alice", id_, internal).status().code(), StatusCode::kConflict);
  UpdateInput u;
  u.audience = "internal";
  u.impact = "v2 leaks card numbers in replies";
  u.next_update_at = clock_.NowMs() + 20 * kMinute;
  ASSERT_TRUE(comms_->PostUpdate("alice", id_, u).ok());
  u.audience = "public";
  u.impact = "Some replies showed payment details; we turned the feature off.";
  ASSERT_TRUE(comms_->PostUpdate("alice", id_, u).ok());
  // Only the internal update went to the team's channels.
  ASSERT_EQ(reminders_.internal.size(), 1u);
  EXPECT_NE(reminders_.internal[0].headline.find("v2 leaks card numbers"), std::string::npos);
  auto pub = comms_->Updates(id_, "public");
  ASSERT_EQ(pub->size(), 1u);
  EXPECT_EQ((*pub)[0].audience, "public");
  EXPECT_EQ(comms_->Updates(id_, "")->size(), 2u);
  EXPECT_TRUE(comms_->PublicStatus()->empty());  // updates are not banners
  EXPECT_EQ(comms_->Updates(id_, "everyone").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CommsServiceTest, ALateUpdateIsFlaggedAndChasedOnce) {
  ASSERT_TRUE(comms_->SetNotice("alice", id_, Notice("We are investigating.")).ok());
  clock_.Advance(29 * kMinute);
  EXPECT_EQ(*comms_->ChaseOverdue(), 0);
  EXPECT_FALSE((*comms_->PublicStatus())[0].overdue);
  clock_.Advance(2 * kMinute);
  EXPECT_TRUE((*comms_->PublicStatus())[0].overdue);
  EXPECT_EQ(*comms_->ChaseOverdue(), 1);
  EXPECT_EQ(*comms_->ChaseOverdue(), 0);  // once
  clock_.Advance(10 * kMinute);
  EXPECT_EQ(*comms_->ChaseOverdue(), 0);
  ASSERT_EQ(reminders_.sent.size(), 1u);
  EXPECT_EQ(reminders_.sent[0].incident, id_);
  EXPECT_NE(reminders_.sent[0].headline.find("late"), std::string::npos);
  EXPECT_EQ(LastEventKind(), "comms.update_late");

  // A new update with a new promise: on time it is not chased, late it is, once.
  UpdateInput u;
  u.audience = "public";
  u.impact = "Replies are back to normal for most users.";
  u.next_update_at = clock_.NowMs() + 15 * kMinute;
  ASSERT_TRUE(comms_->PostUpdate("alice", id_, u).ok());
  EXPECT_FALSE((*comms_->PublicStatus())[0].overdue);
  clock_.Advance(16 * kMinute);
  EXPECT_EQ(*comms_->ChaseOverdue(), 1);
  EXPECT_EQ(*comms_->ChaseOverdue(), 0);
  EXPECT_EQ(reminders_.sent.size(), 2u);
}

TEST_F(CommsServiceTest, TheDefaultBannerPassesTheLintAndIsRaisedOnce) {
  affected_ = 5000;  // even with many affected users, the default text minimises nothing
  auto inc = incidents_.Get(id_);
  auto dry = comms_->RaiseDefaultBanner("firebreak", *inc, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status().ToString();
  EXPECT_NE(dry->find("would raise"), std::string::npos);
  EXPECT_FALSE(comms_->Notice(id_)->has_value());
  auto raised = comms_->RaiseDefaultBanner("firebreak", *inc, false);
  ASSERT_TRUE(raised.ok()) << raised.status().ToString();
  auto notice = comms_->Notice(id_);
  ASSERT_TRUE(notice->has_value());
  EXPECT_EQ((*notice)->lint_json, "[]") << "the default text has no finding";
  EXPECT_TRUE((*notice)->next_update_at.has_value());
  auto again = comms_->RaiseDefaultBanner("firebreak", *inc, false);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->find("already up"), std::string::npos);
}

TEST_F(CommsServiceTest, BadInputIsRefusedWithNothingWritten) {
  size_t before = TimelineSize();
  EXPECT_EQ(comms_->SetNotice("alice", 999, Notice("x")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(comms_->SetNotice("alice", id_, Notice(std::string(5000, 'a'))).status().code(),
            StatusCode::kTooLarge);
  // Multi-byte text exactly at the limit passes the size check; one byte more does not.
  std::string at_limit;
  while (at_limit.size() + 2 <= 4000) at_limit += "\xc3\xa9";
  EXPECT_TRUE(comms_->Lint(id_, at_limit, "public", true).ok());
  EXPECT_EQ(comms_->Lint(id_, at_limit + "\xc3\xa9", "public", true).status().code(), StatusCode::kTooLarge);
  EXPECT_EQ(comms_->SetNotice("alice", id_, Notice("bad \xff byte")).status().code(),
            StatusCode::kInvalidArgument);
  NoticeInput past = Notice("We are investigating.");
  past.next_update_at = clock_.NowMs() - 1;
  EXPECT_EQ(comms_->SetNotice("alice", id_, past).status().code(), StatusCode::kInvalidArgument);
  NoticeInput status = Notice("We are investigating.");
  status.status = "panicking";
  EXPECT_EQ(comms_->SetNotice("alice", id_, status).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(comms_->ClearNotice("alice", id_).code(), StatusCode::kNotFound);
  EXPECT_EQ(TimelineSize(), before);
}

}  // namespace
}  // namespace firebreak
