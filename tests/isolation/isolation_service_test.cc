#include "isolation/isolation_service.h"

#include <gtest/gtest.h>

#include "support/failing_store.h"
#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::FailingStore;
using testing::OpenTestStore;
using testing::TempDir;

constexpr TimeMs kStart = 1'795'964'645'000;
constexpr TimeMs kHour = 3'600'000;

nlohmann::json Manifest(const std::string& hash) {
  return nlohmann::json::parse(
      R"({"label":"x","model":"gpt-4o","prompt_hash":"sha256:)" + hash +
      R"(","tools":[{"name":"lookup","effect_class":"read-only"}]})");
}

std::unique_ptr<MemoryService> MakeMemory(Store& store, const EventLog& log, const Clock& clock) {
  auto svc = MemoryService::Create(store, log, clock);
  EXPECT_TRUE(svc.ok());
  return std::move(*svc);
}

// A banner service that records its calls and fails when told to.
class FakeBanner final : public BannerRaiser {
 public:
  StatusOr<std::string> RaiseDefaultBanner(const std::string&, const IncidentRecord& incident,
                                           bool dry_run) override {
    calls.push_back(dry_run);
    if (fail) return Unavailable("banner store down");
    return std::string(dry_run ? "would raise" : "raised") + " the default notice of " +
           IncidentName(incident.id);
  }
  bool fail = false;
  std::vector<bool> calls;
};

class IsolationServiceTest : public ::testing::Test {
 protected:
  IsolationServiceTest()
      : store_(OpenTestStore(dir_)), failing_(*store_), clock_(kStart), log_(clock_),
        incidents_(failing_, log_, clock_),
        releases_(failing_, log_, clock_, hub_, gate_),
        memory_(MakeMemory(failing_, log_, clock_)),
        traces_(failing_, log_, clock_),
        isolation_(failing_, log_, clock_, incidents_, releases_, *memory_, traces_, &banner_) {}

  // v1 stable; v2 deployed one hour later (when `with_stable`), else only v1 deployed.
  void Releases(bool with_stable) {
    ASSERT_TRUE(releases_.Register("ml", "bot", "v1", Manifest("1")).ok());
    ASSERT_TRUE(releases_.Register("ml", "bot", "v2", Manifest("2")).ok());
    ASSERT_TRUE(releases_.Deploy("ml", "bot", "v1", {}).ok());
    if (!with_stable) return;
    ASSERT_TRUE(releases_.Promote("ml", "bot", "v1", {}).ok());
    clock_.Advance(kHour);
    ASSERT_TRUE(releases_.Deploy("ml", "bot", "v2", {}).ok());
  }

  int64_t Remember(const std::string& text, std::vector<int64_t> derived_from = {}) {
    MemoryWrite w;
    w.text = text;
    w.derived_from = std::move(derived_from);
    auto r = memory_->Write("bot-runtime", "bot", {w});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? (*r)[0].id : 0;
  }

  int64_t Incident() {
    DeclareRequest d;
    d.title = "refunds without approval";
    d.agent = "bot";
    d.severity = Severity::kSev1;
    d.reason = "payment tool without approval";
    auto r = incidents_.Declare("alice", d);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->id;
  }

  std::string State(int64_t id) { return incidents_.Get(id)->state; }
  size_t Events(int64_t id) { return incidents_.Timeline(id)->size(); }
  static const StepReport& Step(const IsolationReport& r, const std::string& name) {
    for (const auto& s : r.steps) {
      if (s.step == name) return s;
    }
    static const StepReport kNone;
    return kNone;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FailingStore failing_;
  FakeClock clock_;
  EventLog log_;
  RuntimeHub hub_;
  OpenPromotionGate gate_;
  IncidentService incidents_;
  ReleaseService releases_;
  std::unique_ptr<MemoryService> memory_;
  traces::TraceService traces_;
  FakeBanner banner_;
  IsolationService isolation_;
};

TEST_F(IsolationServiceTest, RollsBackQuarantinesTheWindowAndMeasuresTimeToContain) {
  int64_t before = 0;
  ASSERT_TRUE(releases_.Register("ml", "bot", "v1", Manifest("1")).ok());
  ASSERT_TRUE(releases_.Register("ml", "bot", "v2", Manifest("2")).ok());
  ASSERT_TRUE(releases_.Deploy("ml", "bot", "v1", {}).ok());
  ASSERT_TRUE(releases_.Promote("ml", "bot", "v1", {}).ok());
  before = Remember("written while v1 ran");
  clock_.Advance(kHour);
  TimeMs v2_at = clock_.NowMs();
  ASSERT_TRUE(releases_.Deploy("ml", "bot", "v2", {}).ok());
  clock_.Advance(1000);
  int64_t a = Remember("poisoned");
  int64_t b = Remember("derived", {a});
  int64_t id = Incident();
  TimeMs detected = incidents_.Get(id)->detected_at;
  clock_.Advance(7 * 60'000);

  auto r = isolation_.Isolate("bob", id, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->window_from, v2_at);
  EXPECT_EQ(Step(*r, "rollback").outcome, "done");
  EXPECT_EQ(Step(*r, "rollback").counts["to"], "v1");
  EXPECT_EQ(Step(*r, "memory").outcome, "done");
  EXPECT_EQ(Step(*r, "memory").counts["direct"], 2);
  EXPECT_EQ(Step(*r, "traces").outcome, "nothing");
  EXPECT_EQ(Step(*r, "banner").outcome, "done");
  EXPECT_EQ(Step(*r, "banner").summary, "raised the default notice of " + IncidentName(id));
  EXPECT_TRUE(r->isolated_now);
  EXPECT_EQ(r->incident.state, "isolated");
  EXPECT_EQ(*r->incident.time_to_contain_ms, 7 * 60'000);
  EXPECT_EQ(*r->incident.contained_at, detected + 7 * 60'000);
  EXPECT_EQ(releases_.Runtime("bot")->version, "v1");
  EXPECT_EQ(memory_->Get("bot", a)->record.state, kMemoryQuarantined);
  EXPECT_EQ(memory_->Get("bot", b)->record.state, kMemoryQuarantined);
  EXPECT_EQ(memory_->Get("bot", before)->record.state, kMemoryActive);

  // Twice: nothing more, and the time to contain stays.
  size_t events = Events(id);
  clock_.Advance(60'000);
  auto again = isolation_.Isolate("bob", id, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Step(*again, "rollback").outcome, "already");
  EXPECT_EQ(Step(*again, "memory").outcome, "already");
  EXPECT_EQ(Step(*again, "banner").outcome, "already");
  EXPECT_EQ(banner_.calls.size(), 1u);
  EXPECT_FALSE(again->isolated_now);
  EXPECT_EQ(*again->incident.time_to_contain_ms, 7 * 60'000);
  EXPECT_EQ(Events(id), events);
}

TEST_F(IsolationServiceTest, WithoutAStableVersionTheAgentIsKilledAndTheWindowIsADayBack) {
  Releases(/*with_stable=*/false);
  int64_t id = Incident();
  auto r = isolation_.Isolate("bob", id, {{IsolationStep::kRollback, IsolationStep::kMemory,
                                           IsolationStep::kTraces}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Step(*r, "rollback").outcome, "done");
  EXPECT_EQ(Step(*r, "rollback").counts["action"], "kill");
  EXPECT_EQ(Step(*r, "banner").outcome, "skipped");
  EXPECT_TRUE(banner_.calls.empty());
  EXPECT_FALSE(releases_.Runtime("bot")->enabled);
  // v1 was current from the start, so its deploy time opens the window.
  EXPECT_EQ(r->window_from, kStart);
  EXPECT_EQ(r->incident.state, "isolated");
}

TEST_F(IsolationServiceTest, NothingPulledMeansADayBeforeDetectionUnlessSinceIsGiven) {
  ASSERT_TRUE(releases_.Register("ml", "bot", "v1", Manifest("1")).ok());
  ASSERT_TRUE(releases_.Deploy("ml", "bot", "v1", {}).ok());
  ASSERT_TRUE(releases_.Promote("ml", "bot", "v1", {}).ok());
  clock_.Advance(48 * kHour);
  int64_t id = Incident();
  auto r = isolation_.Isolate("bob", id, {.dry_run = true});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Step(*r, "rollback").outcome, "nothing");
  EXPECT_EQ(r->window_from, incidents_.Get(id)->detected_at - 24 * kHour);
  EXPECT_NE(r->window_source.find("24 h before detection"), std::string::npos) << r->window_source;
  auto since = isolation_.Isolate("bob", id, {.dry_run = true, .since = kStart + kHour});
  ASSERT_TRUE(since.ok());
  EXPECT_EQ(since->window_from, kStart + kHour);
  EXPECT_NE(since->window_source.find("given"), std::string::npos);
  EXPECT_EQ(isolation_.Isolate("bob", id, {.since = clock_.NowMs() + 1}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(IsolationServiceTest, ADryRunWritesNothing) {
  Releases(/*with_stable=*/true);
  clock_.Advance(1000);
  int64_t a = Remember("poisoned");
  int64_t id = Incident();
  size_t events = Events(id);
  auto r = isolation_.Isolate("bob", id, {.dry_run = true});
  ASSERT_TRUE(r.ok());
  for (const char* step : {"rollback", "memory", "banner"}) {
    EXPECT_EQ(Step(*r, step).outcome, "would") << step;
  }
  EXPECT_EQ(Step(*r, "memory").counts["direct"], 1);
  EXPECT_EQ(banner_.calls, std::vector<bool>{true});
  EXPECT_EQ(Events(id), events);
  EXPECT_EQ(State(id), "triaged");
  EXPECT_EQ(releases_.Runtime("bot")->version, "v2");
  EXPECT_EQ(memory_->Get("bot", a)->record.state, kMemoryActive);
}

TEST_F(IsolationServiceTest, AFailedStepIsReportedTheOthersRunAndTheIncidentIsNotContained) {
  Releases(/*with_stable=*/true);
  clock_.Advance(1000);
  int64_t a = Remember("poisoned");
  int64_t id = Incident();
  failing_.FailWrites(1);  // the rollback's write
  auto r = isolation_.Isolate("bob", id, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Step(*r, "rollback").outcome, "failed");
  EXPECT_NE(Step(*r, "rollback").summary.find("injected store failure"), std::string::npos);
  EXPECT_EQ(Step(*r, "memory").outcome, "done");
  EXPECT_EQ(Step(*r, "banner").outcome, "done");
  EXPECT_EQ(memory_->Get("bot", a)->record.state, kMemoryQuarantined);
  EXPECT_EQ(State(id), "triaged");
  EXPECT_FALSE(incidents_.Get(id)->contained_at);
  auto timeline = incidents_.Timeline(id);
  bool failure_logged = false;
  for (const auto& e : *timeline) {
    if (e.kind == "isolation.rollback") {
      failure_logged = nlohmann::json::parse(e.details_json)["outcome"] == "failed";
    }
  }
  EXPECT_TRUE(failure_logged);

  // Run again: the rollback now succeeds, the rest was done; contained.
  clock_.Advance(5000);
  auto second = isolation_.Isolate("bob", id, {});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Step(*second, "rollback").outcome, "done");
  EXPECT_EQ(Step(*second, "memory").outcome, "already");
  EXPECT_EQ(Step(*second, "banner").outcome, "already");
  EXPECT_TRUE(second->isolated_now);
  EXPECT_EQ(State(id), "isolated");
}

TEST_F(IsolationServiceTest, AFailedBannerKeepsTheIncidentFromBeingContained) {
  Releases(/*with_stable=*/true);
  int64_t id = Incident();
  banner_.fail = true;
  auto r = isolation_.Isolate("bob", id, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Step(*r, "rollback").outcome, "done");
  EXPECT_EQ(Step(*r, "banner").outcome, "failed");
  EXPECT_NE(Step(*r, "banner").summary.find("banner store down"), std::string::npos);
  EXPECT_EQ(State(id), "triaged");
  banner_.fail = false;
  auto again = isolation_.Isolate("bob", id, {});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Step(*again, "rollback").outcome, "already");
  EXPECT_EQ(Step(*again, "banner").outcome, "done");
  EXPECT_EQ(State(id), "isolated");
}

TEST_F(IsolationServiceTest, RefusalsWriteNothing) {
  Releases(/*with_stable=*/true);
  EXPECT_EQ(isolation_.Isolate("bob", 99, {}).status().code(), StatusCode::kNotFound);
  auto detected = incidents_.Declare("alice", {"t", "bot", std::nullopt, "", ""});
  ASSERT_TRUE(detected.ok());
  size_t events = Events(detected->id);
  EXPECT_EQ(isolation_.Isolate("bob", detected->id, {}).status().code(), StatusCode::kConflict);
  EXPECT_EQ(Events(detected->id), events);
  EXPECT_EQ(releases_.Runtime("bot")->version, "v2");
  EXPECT_FALSE(ParseIsolationSteps({"rollback", "nap"}).ok());
  EXPECT_EQ(ParseIsolationSteps({"banner", "rollback", "banner"})->size(), 2u);
  EXPECT_EQ((*ParseIsolationSteps({"banner", "rollback"}))[0], IsolationStep::kRollback);
}

TEST_F(IsolationServiceTest, AnAgentWithoutVersionsFailsTheRollbackStepOnly) {
  int64_t id = Incident();  // "bot" has no registered version
  Remember("some memory");
  auto r = isolation_.Isolate("bob", id, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Step(*r, "rollback").outcome, "failed");
  EXPECT_NE(Step(*r, "rollback").summary.find("no registered versions"), std::string::npos);
  EXPECT_EQ(Step(*r, "memory").outcome, "done");
  EXPECT_EQ(State(id), "triaged");
}

TEST_F(IsolationServiceTest, PolicyIsolatesByItselfWhenClassifiedAtAnAutomaticSeverity) {
  Releases(/*with_stable=*/true);
  IsolationPolicy policy;
  policy.auto_steps[1] = {IsolationStep::kRollback, IsolationStep::kMemory, IsolationStep::kTraces};
  AutoIsolator autoiso(failing_, isolation_, policy, nullptr);
  incidents_.SetObserver(&autoiso);
  auto low = incidents_.Declare("alice", {"t", "bot", std::nullopt, "", ""});
  ASSERT_TRUE(incidents_.Classify("alice", low->id, Severity::kSev3, "minor").ok());
  EXPECT_EQ(autoiso.RunPending(), 0);
  EXPECT_EQ(releases_.Runtime("bot")->version, "v2");
  ASSERT_TRUE(incidents_.Classify("alice", low->id, Severity::kSev1, "worse").ok());
  EXPECT_EQ(autoiso.RunPending(), 1);
  EXPECT_EQ(releases_.Runtime("bot")->version, "v1");
  EXPECT_EQ(State(low->id), "isolated");
  bool by_policy = false;
  auto timeline = incidents_.Timeline(low->id);
  ASSERT_TRUE(timeline.ok());
  for (const auto& e : *timeline) {
    by_policy = by_policy || (e.kind == "isolation.rollback" && e.actor == "policy");
  }
  EXPECT_TRUE(by_policy);
  incidents_.SetObserver(nullptr);
}

TEST_F(IsolationServiceTest, PolicyLimitedToSignalKindsLeavesOtherIncidentsToPeople) {
  Releases(/*with_stable=*/true);
  IsolationPolicy policy;
  policy.auto_steps[1] = {IsolationStep::kRollback};
  policy.auto_only_for_signals = {"pii"};
  AutoIsolator autoiso(failing_, isolation_, policy, nullptr);
  incidents_.SetObserver(&autoiso);
  Incident();  // declared at SEV-1 by a person: no signal opened it
  EXPECT_EQ(autoiso.RunPending(), 0);
  EXPECT_EQ(releases_.Runtime("bot")->version, "v2");
  incidents_.SetObserver(nullptr);
}

}  // namespace
}  // namespace firebreak
