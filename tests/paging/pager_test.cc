// The pager end to end over a real store and a real local HTTP receiver, with a fake clock:
// business hours, escalation, backlog, retries with deduplication, restarts and two servers.
#include "paging/pager.h"

#include <gtest/gtest.h>

#include "signals/signal_service.h"
#include "support/failing_store.h"
#include "support/receiver.h"
#include "support/test_util.h"

namespace firebreak::paging {
namespace {

using firebreak::testing::OpenTestStore;
using firebreak::testing::Receiver;
using firebreak::testing::TempDir;
using Json = nlohmann::json;

// Saturday 2026-11-28 03:00:00 UTC.
constexpr TimeMs kSaturday3am = 1'795'834'800'000;
constexpr TimeMs kMinute = 60'000;
constexpr TimeMs kHour = 60 * kMinute;
constexpr TimeMs kDay = 24 * kHour;

class PagerTest : public ::testing::Test {
 protected:
  PagerTest() : store_(OpenTestStore(dir_)), clock_(kSaturday3am), log_(clock_), incidents_(*store_, log_, clock_) {
    EXPECT_TRUE(receiver_.Start());
    EXPECT_EQ(FormatTime(kSaturday3am), "2026-11-28T03:00:00.000Z");
  }

  PagingPolicy Policy() {
    PagingPolicy p;
    p.targets["pd-primary"] = {"pd-primary", "pagerduty", receiver_.url("/pd1"), "rk-primary", "", 2000};
    p.targets["pd-secondary"] = {"pd-secondary", "pagerduty", receiver_.url("/pd2"), "rk-secondary", "", 2000};
    p.targets["slack"] = {"slack", "slack", receiver_.url("/slack"), "", "", 2000};
    p.targets["hook"] = {"hook", "webhook", receiver_.url("/hook"), "", "s3cret", 2000};
    p.escalation = {{"pd-primary", "slack"}, {"pd-secondary"}};
    p.ack_timeout_minutes = 15;
    p.repeat = 0;
    p.business_hours.time_zone = "Europe/Berlin";
    p.business_hours_targets = {"slack", "hook"};
    p.backlog_targets = {"slack"};
    p.backlog_reminder_hours = 24;
    p.retry_base_ms = 1000;
    p.retry_max_ms = 60'000;
    EXPECT_TRUE(CheckPolicy(p).ok()) << CheckPolicy(p).ToString();
    return p;
  }

  std::unique_ptr<Pager> MakePager(const PagingPolicy& p) {
    auto pager = std::make_unique<Pager>(*store_, log_, clock_, p, sender_);
    incidents_.SetObserver(pager.get());
    return pager;
  }

  int64_t Declare(Severity sev) {
    DeclareRequest req{"card number in a reply", "support-bot", sev, "rule says so", ""};
    auto r = incidents_.Declare("rule:personal-data", req);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->id;
  }

  TickResult Tick(Pager& pager) {
    auto r = pager.Tick();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : TickResult{};
  }

  std::vector<firebreak::testing::ReceivedRequest> To(const std::string& path) {
    std::vector<firebreak::testing::ReceivedRequest> out;
    for (auto& r : receiver_.requests()) {
      if (r.target == path) out.push_back(r);
    }
    return out;
  }

  std::vector<std::string> TimelineKinds(int64_t id) {
    std::vector<std::string> kinds;
    auto timeline = incidents_.Timeline(id);
    EXPECT_TRUE(timeline.ok());
    for (const auto& e : *timeline) kinds.push_back(e.kind);
    return kinds;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  IncidentService incidents_;
  HttpSender sender_;
  Receiver receiver_;
};

TEST_F(PagerTest, Sev3OnSaturdayAt3PagesOnMondayAtTheStartOfBusinessHours) {
  auto pager = MakePager(Policy());
  int64_t id = Declare(Severity::kSev3);
  Tick(*pager);
  EXPECT_EQ(receiver_.request_count(), 0u);
  auto timers = pager->Timers(id);
  ASSERT_TRUE(timers.ok());
  ASSERT_EQ(timers->size(), 1u);
  // Monday 2026-11-30 09:00 in Berlin (UTC+1 in winter) is 08:00 UTC.
  EXPECT_EQ(FormatTime((*timers)[0].due_at), "2026-11-30T08:00:00.000Z");

  clock_.Set((*timers)[0].due_at - 1);
  Tick(*pager);
  EXPECT_EQ(receiver_.request_count(), 0u);
  clock_.Set((*timers)[0].due_at);
  TickResult r = Tick(*pager);
  EXPECT_EQ(r.timers_fired, 1);
  EXPECT_EQ(r.delivered, 2);
  ASSERT_EQ(To("/slack").size(), 1u);
  ASSERT_EQ(To("/hook").size(), 1u);
  EXPECT_TRUE(To("/pd1").empty());  // SEV-3 pages the business-hours targets only
  auto kinds = TimelineKinds(id);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "page.deferred"), kinds.end());
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "delivery.delivered"), kinds.end());

  // The webhook is signed with the shared secret.
  auto hook = To("/hook")[0];
  EXPECT_TRUE(VerifyWebhookSignature("s3cret", hook.body, hook.Header("X-Firebreak-Timestamp"),
                                     hook.Header("X-Firebreak-Signature")));
  EXPECT_FALSE(VerifyWebhookSignature("s3cret", hook.body + " ", hook.Header("X-Firebreak-Timestamp"),
                                      hook.Header("X-Firebreak-Signature")));
  // Slack: fallback text plus blocks.
  Json slack = To("/slack")[0].Json();
  EXPECT_TRUE(slack["text"].is_string());
  EXPECT_TRUE(slack["blocks"].is_array());
  EXPECT_FALSE(slack["blocks"].empty());
}

TEST_F(PagerTest, Sev1At3PagesAtOnceAndEscalatesAfterTheAcknowledgementTimeout) {
  auto pager = MakePager(Policy());
  int64_t id = Declare(Severity::kSev1);
  TickResult r = Tick(*pager);
  EXPECT_EQ(r.delivered, 2);  // pd-primary and slack, at 03:00 on a Saturday
  ASSERT_EQ(To("/pd1").size(), 1u);
  Json pd = To("/pd1")[0].Json();
  EXPECT_EQ(pd["routing_key"], "rk-primary");
  EXPECT_EQ(pd["event_action"], "trigger");
  EXPECT_EQ(pd["dedup_key"], "firebreak-INC-" + std::to_string(id));
  EXPECT_EQ(pd["payload"]["severity"], "critical");
  EXPECT_EQ(pd["payload"]["source"], "firebreak");
  EXPECT_NE(pd["payload"]["summary"].get<std::string>().find("card number"), std::string::npos);
  EXPECT_TRUE(To("/pd2").empty());

  clock_.Advance(15 * kMinute - 1);
  Tick(*pager);
  EXPECT_TRUE(To("/pd2").empty());
  clock_.Advance(1);
  r = Tick(*pager);
  EXPECT_EQ(r.timers_fired, 1);
  ASSERT_EQ(To("/pd2").size(), 1u);
  EXPECT_EQ(To("/pd2")[0].Json()["routing_key"], "rk-secondary");

  // An acknowledgement stops the escalation and acknowledges both PagerDuty alerts.
  ASSERT_TRUE(incidents_.Acknowledge("alice", id).ok());
  Tick(*pager);
  ASSERT_EQ(To("/pd1").size(), 2u);
  EXPECT_EQ(To("/pd1")[1].Json()["event_action"], "acknowledge");
  EXPECT_EQ(To("/pd2")[1].Json()["event_action"], "acknowledge");
  size_t before = receiver_.request_count();
  clock_.Advance(2 * kHour);
  Tick(*pager);
  EXPECT_EQ(receiver_.request_count(), before);

  // Resolving resolves the PagerDuty alerts.
  ASSERT_TRUE(incidents_.Transition("alice", id, IncidentState::kResolved, "fixed").ok());
  Tick(*pager);
  EXPECT_EQ(To("/pd1").back().Json()["event_action"], "resolve");
  EXPECT_EQ(To("/pd2").back().Json()["event_action"], "resolve");
}

TEST_F(PagerTest, UnacknowledgedPagesRepeatThroughTheStepsThenStop) {
  PagingPolicy p = Policy();
  p.repeat = 1;
  auto pager = MakePager(p);
  Declare(Severity::kSev2);
  Tick(*pager);
  for (int i = 0; i < 5; ++i) {
    clock_.Advance(15 * kMinute);
    Tick(*pager);
  }
  // Two rounds of two steps: primary, secondary, primary again, secondary again; then quiet.
  EXPECT_EQ(To("/pd1").size(), 2u);
  EXPECT_EQ(To("/pd2").size(), 2u);
}

TEST_F(PagerTest, Sev4MakesABacklogItemDueInSevenDaysWithAReminder) {
  auto pager = MakePager(Policy());
  int64_t id = Declare(Severity::kSev4);
  Tick(*pager);
  EXPECT_EQ(receiver_.request_count(), 0u);  // pages nobody
  auto timers = pager->Timers(id);
  ASSERT_TRUE(timers.ok());
  ASSERT_EQ(timers->size(), 2u);
  std::map<std::string, TimeMs> due;
  for (const auto& t : *timers) due[t.kind] = t.due_at;
  EXPECT_EQ(due["due"], kSaturday3am + 7 * kDay);
  EXPECT_EQ(due["reminder"], kSaturday3am + 6 * kDay);
  auto kinds = TimelineKinds(id);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "backlog.created"), kinds.end());

  clock_.Set(kSaturday3am + 6 * kDay);
  Tick(*pager);
  ASSERT_EQ(To("/slack").size(), 1u);
  EXPECT_NE(To("/slack")[0].body.find("due soon"), std::string::npos);
  EXPECT_TRUE(To("/pd1").empty());
}

TEST_F(PagerTest, AReceiverFailingTwiceGetsExactlyOnePagePerDedupKey) {
  PagingPolicy p = Policy();
  p.escalation = {{"pd-primary"}};
  auto pager = MakePager(p);
  receiver_.FailNext(1, 503);
  receiver_.FailNext(1, 429, "3");
  int64_t id = Declare(Severity::kSev1);

  TickResult r = Tick(*pager);
  EXPECT_EQ(r.retried, 1);
  r = Tick(*pager);  // the backoff has not passed: nothing is sent
  EXPECT_EQ(r.retried + r.delivered, 0);
  clock_.Advance(1000);  // full jitter: the first wait is at most retry_base_ms
  r = Tick(*pager);
  EXPECT_EQ(r.retried, 1);  // 429 with Retry-After: 3 s
  clock_.Advance(2000);
  r = Tick(*pager);
  EXPECT_EQ(r.retried + r.delivered, 0);
  clock_.Advance(1000);
  r = Tick(*pager);
  EXPECT_EQ(r.delivered, 1);

  // Classifying again at the same severity queues nothing new: the dedup key exists.
  ASSERT_TRUE(incidents_.Classify("bob", id, Severity::kSev1, "still a card").ok());
  clock_.Advance(kMinute);
  Tick(*pager);
  auto requests = To("/pd1");
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].answered_status, 503);
  EXPECT_EQ(requests[1].answered_status, 429);
  EXPECT_EQ(requests[2].answered_status, 202);
  for (const auto& q : requests) EXPECT_EQ(q.Json()["dedup_key"], requests[0].Json()["dedup_key"]);

  auto deliveries = pager->Deliveries({id, "", 0, 100});
  ASSERT_TRUE(deliveries.ok());
  ASSERT_EQ(deliveries->size(), 1u);
  EXPECT_EQ((*deliveries)[0].status, "delivered");
  EXPECT_EQ((*deliveries)[0].attempts, 3);
  auto kinds = TimelineKinds(id);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "delivery.retrying"), 1);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "delivery.delivered"), 1);
}

TEST_F(PagerTest, AClientErrorFailsForGoodAndIsOnTheTimeline) {
  PagingPolicy p = Policy();
  p.escalation = {{"pd-primary"}};
  auto pager = MakePager(p);
  receiver_.FailNext(1, 400);
  int64_t id = Declare(Severity::kSev1);
  TickResult r = Tick(*pager);
  EXPECT_EQ(r.failed, 1);
  clock_.Advance(kHour);
  Tick(*pager);
  EXPECT_EQ(To("/pd1").size(), 1u);
  auto kinds = TimelineKinds(id);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "delivery.failed"), 1);
}

TEST_F(PagerTest, ARestartLosesNoTimerAndNoDelivery) {
  PagingPolicy p = Policy();
  p.escalation = {{"pd-primary"}, {"pd-secondary"}};
  {
    auto pager = MakePager(p);
    receiver_.FailNext(1, 503);
    Declare(Severity::kSev1);
    Tick(*pager);  // fails once; the escalation timer waits
    incidents_.SetObserver(nullptr);
  }
  // A new process on the same store.
  (void)store_->Close();
  store_ = OpenTestStore(dir_);
  IncidentService incidents(*store_, log_, clock_);
  Pager pager(*store_, log_, clock_, p, sender_);
  incidents.SetObserver(&pager);
  clock_.Advance(15 * kMinute);
  Tick(pager);
  EXPECT_EQ(To("/pd1").size(), 2u);  // the retry
  EXPECT_EQ(To("/pd2").size(), 1u);  // the escalation
  EXPECT_EQ(To("/pd1").back().answered_status, 202);
}

TEST_F(PagerTest, TwoServersOnOneStoreNeverBothSendAPage) {
  PagingPolicy p = Policy();
  p.escalation = {{"pd-primary"}};
  auto a = MakePager(p);
  Pager b(*store_, log_, clock_, p, sender_);
  Declare(Severity::kSev1);
  std::thread ta([&] { Tick(*a); });
  std::thread tb([&] { Tick(b); });
  ta.join();
  tb.join();
  Tick(*a);
  Tick(b);
  EXPECT_EQ(To("/pd1").size(), 1u);
}

TEST_F(PagerTest, AManualPageGoesOutAtAnyHourAndUnknownTargetsAreRefused) {
  auto pager = MakePager(Policy());
  int64_t id = Declare(Severity::kSev3);  // deferred to Monday
  auto bad = pager->PageNow("alice", id, {"nobody"}, "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kNotFound);
  auto missing = pager->PageNow("alice", 999, {}, "");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto queued = pager->PageNow("alice", id, {"pd-secondary"}, "need eyes on this now");
  ASSERT_TRUE(queued.ok()) << queued.status().ToString();
  ASSERT_EQ(queued->size(), 1u);
  Tick(*pager);
  ASSERT_EQ(To("/pd2").size(), 1u);
  EXPECT_EQ(To("/pd2")[0].Json()["payload"]["severity"], "warning");
  // The answer names the delivery by the id the outbox lists (found by the crash harness: it
  // answered id 0, so a caller could not follow its page).
  DeliveryQuery q;
  q.incident_id = id;
  auto listed = pager->Deliveries(q);
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_GT((*queued)[0].id, 0);
  EXPECT_EQ((*queued)[0].id, (*listed)[0].id);
  EXPECT_EQ((*listed)[0].status, "delivered");
}

TEST(PagingPolicyTest, NamesTheBadField) {
  PagingPolicy p;
  p.targets["pd"] = {"pd", "pagerduty", "https://events.pagerduty.com/v2/enqueue", "", "", 1000};
  auto s = CheckPolicy(p);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("paging.targets.pd.routing_key"), std::string::npos);
  p.targets["pd"].routing_key = "rk";
  p.escalation = {{"pd", "ghost"}};
  s = CheckPolicy(p);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("ghost"), std::string::npos);
  p.escalation = {{"pd"}};
  p.business_hours.time_zone = "Mars/Olympus";
  EXPECT_FALSE(CheckPolicy(p).ok());
}

TEST_F(PagerTest, APageWhoseOutcomeCouldNotBeStoredIsNotSentAgain) {
  firebreak::testing::FailingStore flaky(*store_);
  Pager pager(flaky, log_, clock_, Policy(), sender_);
  incidents_.SetObserver(&pager);
  int64_t id = Declare(Severity::kSev1);
  // The timer's transaction and the claim go through; storing both outcomes fails.
  flaky.FailWrites(/*fail=*/2, /*pass=*/2);
  (void)pager.Tick();  // its outcome: the failed writes below
  EXPECT_EQ(flaky.failed_writes(), 2);
  ASSERT_EQ(To("/pd1").size(), 1u);
  ASSERT_EQ(To("/slack").size(), 1u);
  DeliveryQuery pending;
  pending.incident_id = id;
  pending.status = "pending";
  EXPECT_EQ(pager.Deliveries(pending)->size(), 2u) << "the store has not taken the outcomes yet";

  // Well past the lease: without the held outcomes the deliveries would be claimed and sent again.
  clock_.Advance(10 * kMinute);
  Tick(pager);
  EXPECT_EQ(To("/pd1").size(), 1u);
  EXPECT_EQ(To("/slack").size(), 1u);
  DeliveryQuery delivered;
  delivered.incident_id = id;
  delivered.status = "delivered";
  EXPECT_EQ(pager.Deliveries(delivered)->size(), 2u);
  EXPECT_TRUE(pager.Deliveries(pending)->empty());
  auto kinds = TimelineKinds(id);
  EXPECT_EQ(std::count(kinds.begin(), kinds.end(), "delivery.delivered"), 2);
  incidents_.SetObserver(nullptr);
}

}  // namespace
}  // namespace firebreak::paging
