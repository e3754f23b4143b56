// PostmortemService over a real store, the real pager's outbox and a FakeClock: the generated
// draft, versioned edits, the state machine and its lint gate, the close gate, actions tracked
// to done or dropped, and the clock: the reminder 12 hours before the deadline, the overdue flag
// at 48 hours, and the weekly reminder of an open action past its date after the close.
#include "postmortem/postmortem_service.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "support/test_util.h"

namespace firebreak {
namespace {

using postmortem::Action;
using postmortem::State;
using testing::OpenTestStore;
using testing::TempDir;

constexpr TimeMs kStart = 1'795'961'007'000;  // 2026-11-29T14:03:27Z
constexpr TimeMs kMinute = 60'000;
constexpr TimeMs kHour = 60 * kMinute;
constexpr TimeMs kDay = 24 * kHour;

class PostmortemServiceTest : public ::testing::Test {
 protected:
  PostmortemServiceTest()
      : store_(OpenTestStore(dir_)), clock_(kStart), log_(clock_), incidents_(*store_, log_, clock_),
        pager_(*store_, log_, clock_, Policy(), sender_) {
    PostmortemOptions options;
    options.pager = &pager_;
    options.affected = [this](const IncidentRecord&) -> StatusOr<std::pair<int64_t, int64_t>> {
      return std::pair<int64_t, int64_t>{affected_, affected_};
    };
    service_ = std::make_unique<PostmortemService>(*store_, log_, clock_, options);
    incidents_.AddCloseRequirement(&service_->close_requirement());
    auto inc = incidents_.Declare("rule:pii", {"card numbers in replies", "support-bot",
                                               Severity::kSev1, "PII detector", "alice"});
    EXPECT_TRUE(inc.ok()) << inc.status().ToString();
    id_ = inc->id;
  }

  static paging::PagingPolicy Policy() {
    paging::PagingPolicy p;
    p.targets["oncall"] = {"oncall", "webhook", "http://127.0.0.1:9/unused", "", "s3cret", 2000};
    p.escalation = {{"oncall"}};
    return p;
  }

  void Resolve() {
    clock_.Advance(2 * kMinute);
    ASSERT_TRUE(incidents_.Acknowledge("bob", id_).ok());
    ASSERT_TRUE(incidents_.AddNote("bob", id_, "rolled back to v41").ok());
    clock_.Advance(2 * kHour);
    ASSERT_TRUE(incidents_.Transition("bob", id_, IncidentState::kResolved, "fixed").ok());
    resolved_at_ = clock_.NowMs();
  }

  // The reminders in the outbox, by their dedup keys.
  std::vector<std::string> Reminders() {
    DeliveryQuery q;
    q.incident_id = id_;
    auto list = pager_.Deliveries(q);
    EXPECT_TRUE(list.ok());
    std::vector<std::string> keys;
    for (const auto& d : *list) keys.push_back(d.dedup_key);
    std::reverse(keys.begin(), keys.end());  // oldest first
    return keys;
  }

  std::vector<std::string> TimelineKinds() {
    std::vector<std::string> kinds;
    auto timeline = incidents_.Timeline(id_);
    EXPECT_TRUE(timeline.ok());
    for (const auto& e : *timeline) kinds.push_back(e.kind);
    return kinds;
  }

  int Chase() {
    auto n = service_->Chase();
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }

  // A document the lint passes, with one action due in `due_in`.
  PostmortemEdit Complete(int64_t version, TimeMs due_in) {
    PostmortemEdit edit;
    edit.version = version;
    edit.doc.title = "card numbers in replies";
    edit.doc.failure_mode = "The reply filter let card numbers through.";
    edit.doc.root_cause = "The v42 prompt asked for verbatim quotes and no check ran on output.";
    edit.doc.follow_up_at = clock_.NowMs() + 14 * kDay;
    Action a;
    a.description = "Check replies for card numbers";
    a.owner = "alice";
    a.due_at = clock_.NowMs() + due_in;
    edit.actions = std::vector<Action>{a};
    return edit;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  IncidentService incidents_;
  paging::HttpSender sender_;
  paging::Pager pager_;
  std::unique_ptr<PostmortemService> service_;
  int64_t affected_ = 312;
  int64_t id_ = 0;
  TimeMs resolved_at_ = 0;
};

TEST_F(PostmortemServiceTest, GenerateMeasuresTheImpactAndTurnsEveryEventIntoATimelineLine) {
  Resolve();
  size_t events = incidents_.Timeline(id_)->size();
  bool created = false;
  auto pm = service_->Generate("carol", id_, &created);
  ASSERT_TRUE(pm.ok()) << pm.status().ToString();
  EXPECT_TRUE(created);
  EXPECT_EQ(pm->pm.state, State::kDraft);
  EXPECT_EQ(pm->pm.version, 1);
  ASSERT_EQ(pm->pm.generated.timeline.size(), events);
  EXPECT_EQ(pm->pm.generated.timeline[0].actor, "rule:pii");
  EXPECT_EQ(pm->pm.generated.timeline[0].what, "declared the incident \"card numbers in replies\"");
  EXPECT_EQ(pm->pm.generated.timeline.back().what, "moved it from triaged to resolved: fixed");
  const postmortem::Impact& impact = pm->pm.generated.impact;
  EXPECT_EQ(impact.affected_users, 312);
  EXPECT_EQ(impact.duration_ms, 2 * kMinute + 2 * kHour);
  EXPECT_EQ(impact.time_to_classify_ms, 0);
  EXPECT_EQ(impact.pages_sent, 0);
  EXPECT_EQ(pm->pm.due_at, resolved_at_ + 48 * kHour);
  EXPECT_EQ(pm->pm.doc.root_cause, "pending");
  EXPECT_EQ(pm->pm.doc.authors, std::vector<std::string>{"carol"});
  // The draft is not publishable: no failure mode, no follow-up date.
  EXPECT_TRUE(pm->blocking);

  // Generating again keeps people's text, measures again and leaves its own event out.
  PostmortemEdit edit;
  edit.version = 1;
  edit.doc = pm->pm.doc;
  edit.doc.summary = "written by a person";
  ASSERT_TRUE(service_->Update("carol", id_, edit).ok());
  affected_ = 400;
  auto again = service_->Generate("carol", id_, &created);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(created);
  EXPECT_EQ(again->pm.version, 3);
  EXPECT_EQ(again->pm.doc.summary, "written by a person");
  EXPECT_EQ(again->pm.generated.impact.affected_users, 400);
  EXPECT_EQ(again->pm.generated.timeline.size(), events);
}

TEST_F(PostmortemServiceTest, AStaleEditIsAConflictAndWritesNothing) {
  Resolve();
  ASSERT_TRUE(service_->Generate("carol", id_).ok());
  PostmortemEdit first = Complete(1, 7 * kDay);
  ASSERT_TRUE(service_->Update("alice", id_, first).ok());
  PostmortemEdit stale = first;  // made from version 1, which is gone
  stale.doc.summary = "overwrites alice";
  auto refused = service_->Update("bob", id_, stale);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kConflict);
  EXPECT_NE(refused.status().message().find("version 2"), std::string::npos) << refused.status().message();
  auto now = service_->Get(id_);
  EXPECT_EQ(now->pm.version, 2);
  EXPECT_EQ(now->pm.doc.summary, "");
  EXPECT_EQ(now->pm.actions.size(), 1u);
}

TEST_F(PostmortemServiceTest, ActionsLeaveOnlyByDoneOrDropWithAReason) {
  Resolve();
  ASSERT_TRUE(service_->Generate("carol", id_).ok());
  auto saved = service_->Update("alice", id_, Complete(1, 7 * kDay));
  ASSERT_TRUE(saved.ok());
  int64_t action = saved->pm.actions[0].id;

  PostmortemEdit without = Complete(2, 7 * kDay);
  without.actions = std::vector<Action>{};
  auto refused = service_->Update("alice", id_, without);
  EXPECT_EQ(refused.status().code(), StatusCode::kConflict);
  EXPECT_NE(refused.status().message().find("missing"), std::string::npos);

  PostmortemEdit marked = Complete(2, 7 * kDay);
  (*marked.actions)[0].id = action;
  (*marked.actions)[0].status = "done";
  EXPECT_EQ(service_->Update("alice", id_, marked).status().code(), StatusCode::kConflict);

  PostmortemEdit foreign = Complete(2, 7 * kDay);
  (*foreign.actions)[0].id = action + 100;
  EXPECT_EQ(service_->Update("alice", id_, foreign).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(service_->FinishAction("bob", action, false, "").status().code(), StatusCode::kInvalidArgument);
  auto dropped = service_->FinishAction("bob", action, false, "covered by INC-9's check");
  ASSERT_TRUE(dropped.ok()) << dropped.status().ToString();
  EXPECT_EQ(dropped->status, "dropped");
  EXPECT_EQ(dropped->drop_reason, "covered by INC-9's check");
  EXPECT_EQ(service_->FinishAction("bob", action, true, "").status().code(), StatusCode::kConflict);
  EXPECT_EQ(TimelineKinds().back(), "postmortem.action_dropped");
}

TEST_F(PostmortemServiceTest, PublishingNeedsReviewAndNoBlockingFindingAndThenGatesTheClose) {
  Resolve();
  auto closed = incidents_.Close("bob", id_, "");
  ASSERT_EQ(closed.status().code(), StatusCode::kConflict);
  EXPECT_NE(closed.status().message().find("no post-mortem"), std::string::npos) << closed.status().message();

  ASSERT_TRUE(service_->Generate("carol", id_).ok());
  closed = incidents_.Close("bob", id_, "");
  EXPECT_NE(closed.status().message().find("still a draft"), std::string::npos) << closed.status().message();
  EXPECT_EQ(service_->Move("bob", id_, State::kPublished).status().code(), StatusCode::kConflict);

  PostmortemEdit edit = Complete(1, 7 * kDay);
  edit.doc.follow_up_at.reset();
  ASSERT_TRUE(service_->Update("alice", id_, edit).ok());
  ASSERT_TRUE(service_->Move("alice", id_, State::kInReview).ok());
  closed = incidents_.Close("bob", id_, "");
  EXPECT_NE(closed.status().message().find("in review"), std::string::npos) << closed.status().message();

  std::vector<postmortem::LintFinding> refusal;
  auto published = service_->Move("alice", id_, State::kPublished, &refusal);
  ASSERT_EQ(published.status().code(), StatusCode::kConflict);
  EXPECT_NE(published.status().message().find("no follow-up date"), std::string::npos)
      << published.status().message();
  ASSERT_EQ(refusal.size(), 1u);
  EXPECT_EQ(refusal[0].rule, postmortem::kNoFollowUp);

  PostmortemEdit fixed = Complete(3, 7 * kDay);
  fixed.actions.reset();  // the stored action stays as it is
  ASSERT_TRUE(service_->Update("alice", id_, fixed).ok());
  published = service_->Move("alice", id_, State::kPublished);
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  EXPECT_TRUE(published->pm.published_at.has_value());
  closed = incidents_.Close("bob", id_, "done");
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();

  // Published is final.
  EXPECT_EQ(service_->Update("alice", id_, Complete(5, kDay)).status().code(), StatusCode::kConflict);
  EXPECT_EQ(service_->Generate("alice", id_).status().code(), StatusCode::kConflict);
  EXPECT_EQ(service_->Move("alice", id_, State::kDraft).status().code(), StatusCode::kConflict);
}

TEST_F(PostmortemServiceTest, TheClockRemindsBeforeFlagsOverdueAndChasesActionsWeeklyAfterTheClose) {
  Resolve();
  EXPECT_EQ(Chase(), 0);
  // 12 hours before the 48-hour deadline: one reminder, once.
  clock_.Set(resolved_at_ + 36 * kHour - 1);
  EXPECT_EQ(Chase(), 0);
  clock_.Set(resolved_at_ + 36 * kHour);
  EXPECT_EQ(Chase(), 1);
  EXPECT_EQ(Chase(), 0);
  std::string inc = IncidentName(id_);
  EXPECT_EQ(Reminders(), std::vector<std::string>{inc + "/notify/oncall/postmortem-due-soon-" +
                                                  std::to_string(resolved_at_)});
  EXPECT_EQ(TimelineKinds().back(), "postmortem.due_soon");
  EXPECT_EQ(*service_->OverdueCount(), 0);

  // At 48 hours: overdue, flagged on the incident's timeline, listed, counted, reminded once.
  clock_.Set(resolved_at_ + 48 * kHour);
  ASSERT_TRUE(service_->Generate("carol", id_).ok());
  EXPECT_EQ(Chase(), 1);
  EXPECT_EQ(Chase(), 0);
  EXPECT_EQ(Reminders().size(), 2u);
  EXPECT_EQ(Reminders()[1], inc + "/notify/oncall/postmortem-overdue-" + std::to_string(resolved_at_));
  EXPECT_EQ(TimelineKinds().back(), "postmortem.overdue");
  EXPECT_TRUE(service_->Get(id_)->pm.overdue);
  auto overdue = service_->Overdue(0, 100);
  ASSERT_EQ(overdue->size(), 1u);
  EXPECT_EQ((*overdue)[0].state, "draft");
  EXPECT_EQ(*service_->OverdueCount(), 1);

  // Published late, then closed: the post-mortem is no longer owed, its action still is.
  auto saved = service_->Update("alice", id_, Complete(1, 3 * kDay));
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  int64_t action = saved->pm.actions[0].id;
  TimeMs due = *saved->pm.actions[0].due_at;
  ASSERT_TRUE(service_->Move("alice", id_, State::kInReview).ok());
  ASSERT_TRUE(service_->Move("alice", id_, State::kPublished).ok());
  ASSERT_TRUE(incidents_.Close("bob", id_, "").ok());
  EXPECT_EQ(*service_->OverdueCount(), 0);
  EXPECT_FALSE(service_->Get(id_)->pm.overdue);

  clock_.Set(due);
  EXPECT_EQ(Chase(), 0);  // due now, not past due
  clock_.Set(due + 1);
  EXPECT_EQ(Chase(), 1);  // week 0
  EXPECT_EQ(Chase(), 0);
  clock_.Set(due + 7 * kDay - 1);
  EXPECT_EQ(Chase(), 0);
  clock_.Set(due + 7 * kDay);
  EXPECT_EQ(Chase(), 1);  // week 1
  EXPECT_EQ(Chase(), 0);
  std::string key = inc + "/notify/oncall/postmortem-action-" + std::to_string(action) + "-week-";
  std::vector<std::string> keys = Reminders();
  ASSERT_EQ(keys.size(), 4u);
  EXPECT_EQ(keys[2], key + "0");
  EXPECT_EQ(keys[3], key + "1");
  EXPECT_EQ(TimelineKinds().back(), "postmortem.action_overdue");
  ActionQuery q;
  q.overdue_at = clock_.NowMs();
  EXPECT_EQ(service_->Actions(q)->size(), 1u);

  // Done: no more reminders, and no longer overdue.
  ASSERT_TRUE(service_->FinishAction("alice", action, true, "").ok());
  clock_.Set(due + 21 * kDay);
  EXPECT_EQ(Chase(), 0);
  EXPECT_EQ(Reminders().size(), 4u);
  EXPECT_TRUE(service_->Actions(q)->empty());
}

TEST_F(PostmortemServiceTest, BadInputIsRefusedWithNothingWritten) {
  EXPECT_EQ(service_->Generate("carol", 999).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Get(id_).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(service_->Generate("carol", id_).ok());
  PostmortemEdit edit = Complete(1, kDay);
  edit.doc.failure_mode = "two\nlines";
  EXPECT_EQ(service_->Update("alice", id_, edit).status().code(), StatusCode::kInvalidArgument);
  edit = Complete(1, kDay);
  edit.doc.summary = std::string(20'001, 'x');
  EXPECT_EQ(service_->Update("alice", id_, edit).status().code(), StatusCode::kTooLarge);
  edit = Complete(1, kDay);
  (*edit.actions)[0].priority = "urgent";
  EXPECT_EQ(service_->Update("alice", id_, edit).status().code(), StatusCode::kInvalidArgument);
  edit = Complete(1, kDay);
  edit.actions = std::vector<Action>(101, (*edit.actions)[0]);
  EXPECT_EQ(service_->Update("alice", id_, edit).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Get(id_)->pm.version, 1);
  EXPECT_TRUE(service_->Get(id_)->pm.actions.empty());
  EXPECT_EQ(service_->FinishAction("alice", 12345, true, "").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace firebreak
