#include "signals/signal_service.h"

#include <gtest/gtest.h>

#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

class SignalServiceTest : public ::testing::Test {
 protected:
  SignalServiceTest()
      : store_(OpenTestStore(dir_)), clock_(1'795'964'645'000), log_(clock_),
        incidents_(*store_, log_, clock_), service_(*store_, log_, incidents_, clock_, {}) {}

  NewSignal Signal(const std::string& kind, int suggested = 0) {
    NewSignal s;
    s.kind = kind;
    s.agent = "support-bot";
    s.version = "v7";
    s.reason = "the detector saw " + kind;
    s.evidence = {"aaaaaaaaaaaaaaaa1111"};
    s.suggested_severity = suggested;
    return s;
  }

  SignalOutcome RecordOne(const NewSignal& s) {
    auto r = service_.Record("detector", {s});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->front() : SignalOutcome{};
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  IncidentService incidents_;
  SignalService service_;
};

TEST_F(SignalServiceTest, PersonalDataOpensASev1IncidentClassifiedByTheRule) {
  NewSignal s = Signal("pii");
  s.detected_at = clock_.NowMs() - 4'000;  // the detector saw it 4 s before it was recorded
  SignalOutcome o = RecordOne(s);
  ASSERT_TRUE(o.incident);
  EXPECT_TRUE(o.opened);
  EXPECT_EQ(o.signal.severity, 1);
  EXPECT_EQ(o.signal.rule, "personal-data");
  EXPECT_EQ(o.incident->severity, 1);
  EXPECT_EQ(o.incident->state, "triaged");
  EXPECT_EQ(o.incident->classified_by, "rule:personal-data");
  EXPECT_EQ(*o.incident->classified_at - o.incident->detected_at, 4'000);
  EXPECT_NE(o.incident->classification_reason.find("personal data exposed"), std::string::npos);
  EXPECT_NE(o.incident->classification_reason.find("aaaaaaaaaaaaaaaa"), std::string::npos);
  EXPECT_EQ(o.incident->signals_json, "[" + std::to_string(o.signal.id) + "]");
}

TEST_F(SignalServiceTest, TheSameAgentAndKindJoinsTheOpenIncidentAndRaisesItsSeverity) {
  SignalOutcome first = RecordOne(Signal("alert.HighLatency", 3));
  ASSERT_TRUE(first.incident);
  EXPECT_EQ(first.incident->severity, 3);
  SignalOutcome second = RecordOne(Signal("alert.HighLatency", 2));
  ASSERT_TRUE(second.incident);
  EXPECT_FALSE(second.opened);
  EXPECT_EQ(second.incident->id, first.incident->id);
  EXPECT_EQ(second.incident->severity, 2);
  // Another kind opens its own incident.
  SignalOutcome other = RecordOne(Signal("pii"));
  EXPECT_NE(other.incident->id, first.incident->id);
  // Once resolved, the next signal opens a new one.
  ASSERT_TRUE(incidents_.Transition("alice", first.incident->id, IncidentState::kResolved, "fixed").ok());
  SignalOutcome third = RecordOne(Signal("alert.HighLatency", 3));
  EXPECT_TRUE(third.opened);
  EXPECT_NE(third.incident->id, first.incident->id);
}

TEST_F(SignalServiceTest, AFingerprintSeenBeforeRecordsNothingNew) {
  NewSignal s = Signal("pii");
  s.fingerprint = "pii:trace-1";
  SignalOutcome a = RecordOne(s);
  SignalOutcome b = RecordOne(s);
  EXPECT_TRUE(b.duplicate);
  EXPECT_EQ(a.signal.id, b.signal.id);
  auto all = service_.List({});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  // The source reporting the end of the condition updates the one signal.
  s.status = "resolved";
  SignalOutcome c = RecordOne(s);
  EXPECT_EQ(c.signal.id, a.signal.id);
  EXPECT_EQ(c.signal.status, "resolved");
}

TEST_F(SignalServiceTest, BelowTheOpeningSeverityASignalIsOnlyRecorded) {
  ClassificationPolicy policy;
  policy.open_incident_up_to = 2;
  SignalService strict(*store_, log_, incidents_, clock_, policy);
  auto r = strict.Record("detector", {Signal("drift")});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->front().incident);
  EXPECT_EQ(r->front().signal.severity, 4);
  auto open = incidents_.List({});
  ASSERT_TRUE(open.ok());
  EXPECT_TRUE(open->empty());
}

TEST_F(SignalServiceTest, ABadSignalInABatchRefusesTheBatch) {
  NewSignal bad = Signal("pii");
  bad.agent = "has spaces";
  auto r = service_.Record("detector", {Signal("pii"), bad});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("signal 1"), std::string::npos);
  auto all = service_.List({});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  auto incidents = incidents_.List({});
  EXPECT_TRUE(incidents->empty());
}

TEST_F(SignalServiceTest, ConfiguredRulesDecideAndDeferringRulesUseTheSuggestion) {
  ClassificationPolicy policy;
  policy.rules = {{"latency-is-sev2", "alert.Latency*", 2, "latency hurts everyone"},
                  {"rest", "*", 0, "as suggested"}};
  ASSERT_TRUE(CheckPolicy(policy).ok());
  EXPECT_EQ(Classify(policy, "alert.LatencyP99", 4).severity, Severity::kSev2);
  EXPECT_EQ(Classify(policy, "alert.Other", 4).severity, Severity::kSev4);
  EXPECT_EQ(Classify(policy, "alert.Other", 0).severity, Severity::kSev3);  // the default
  policy.rules.push_back({"", "x", 1, "r"});
  EXPECT_FALSE(CheckPolicy(policy).ok());
}

}  // namespace
}  // namespace firebreak
