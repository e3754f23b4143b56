#include "releases/release_service.h"

#include <gtest/gtest.h>

#include "incidents/incident_service.h"
#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

nlohmann::json Manifest(const std::string& prompt) {
  return {
      {"model", "gpt-4o"},
      {"prompt_hash", prompt},
      {"tools", {{{"name", "refund"}, {"effect_class", "payment"}, {"requires_approval", true}}}}};
}

class ClosedGate final : public PromotionGate {
 public:
  Status Check(Txn&, const AgentVersionRecord& v) const override {
    return Conflict("regression battery failed on " + v.version);
  }
};

class ReleaseServiceTest : public ::testing::Test {
 protected:
  ReleaseServiceTest()
      : store_(OpenTestStore(dir_)),
        clock_(1'795'964'645'000),
        log_(clock_),
        service_(*store_, log_, clock_, hub_, gate_),
        incidents_(*store_, log_, clock_) {
    hub_.Subscribe("bot", [this](const std::shared_ptr<const RuntimeState>& s) {
      published_.push_back(s->revision);
    });
  }

  void Register(const std::string& v) {
    auto r = service_.Register("alice", "bot", v, Manifest("sha256:" + v));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // v1 deployed and stable, v2 deployed on top: the usual state before a rollback.
  void V1StableV2Current() {
    Register("v1");
    Register("v2");
    ASSERT_TRUE(service_.Deploy("alice", "bot", "v1", {}).ok());
    ASSERT_TRUE(service_.Promote("alice", "bot", "v1", {}).ok());
    ASSERT_TRUE(service_.Deploy("alice", "bot", "v2", {}).ok());
  }

  std::vector<EventRecord> AllEvents() {
    std::vector<EventRecord> out;
    EXPECT_TRUE(store_
                    ->Read([&](Txn& txn) -> Status {
                      FB_ASSIGN_OR_RETURN(out, txn.events().After(0, 1000));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  RuntimeHub hub_;
  OpenPromotionGate gate_;
  ReleaseService service_;
  IncidentService incidents_;
  std::vector<int64_t> published_;
};

TEST_F(ReleaseServiceTest, FirstVersionCreatesTheAgentWithNothingDeployed) {
  Register("v1");
  auto rt = service_.Runtime("bot");
  ASSERT_TRUE(rt.ok());
  EXPECT_TRUE(rt->enabled);
  EXPECT_EQ(rt->version, "");
  EXPECT_TRUE(rt->manifest.is_null());
  EXPECT_EQ(rt->revision, 0);
  EXPECT_EQ(service_.Runtime("nobody").status().code(), StatusCode::kNotFound);
}

TEST_F(ReleaseServiceTest, VersionsAreImmutable) {
  Register("v1");
  auto again = service_.Register("alice", "bot", "v1", Manifest("sha256:other"));
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  auto view = service_.Get("bot");
  ASSERT_TRUE(view.ok());
  ASSERT_EQ(view->versions.size(), 1u);
  EXPECT_NE(view->versions[0].manifest_json.find("sha256:v1"), std::string::npos);
}

TEST_F(ReleaseServiceTest, MalformedManifestNamesTheFieldAndWritesNothing) {
  auto bad = Manifest("sha256:x");
  bad["tools"][0]["effect_class"] = "teleport";
  auto r = service_.Register("alice", "bot", "v1", bad);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("manifest.tools[0].effect_class"), std::string::npos);
  EXPECT_EQ(service_.Get("bot").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(AllEvents().empty());
}

TEST_F(ReleaseServiceTest, RollbackGoesToStableAndPullsTheCurrentVersion) {
  V1StableV2Current();
  clock_.Advance(5'000);
  auto r = service_.Rollback("bob", "bot", "", {"PII in replies", std::nullopt, false});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->runtime.version, "v1");
  EXPECT_EQ(r->runtime.manifest["prompt_hash"], "sha256:v1");
  EXPECT_EQ(r->pulled_version, "v2");
  EXPECT_EQ(r->runtime.revision, 4);

  auto view = service_.Get("bot");
  ASSERT_TRUE(view.ok());
  EXPECT_TRUE(view->versions[1].pulled);
  EXPECT_EQ(view->versions[1].pulled_by, "bob");
  EXPECT_EQ(*view->versions[1].pulled_at, clock_.NowMs());
  const PointerChangeRecord& last = view->history.front();
  EXPECT_EQ(last.action, "rollback");
  EXPECT_EQ(last.from_version, "v2");
  EXPECT_EQ(last.to_version, "v1");
  EXPECT_EQ(last.actor, "bob");
  EXPECT_EQ(last.reason, "PII in replies");
  EXPECT_EQ(last.at, clock_.NowMs());
  EXPECT_EQ(published_, (std::vector<int64_t>{1, 2, 3, 4}));
}

TEST_F(ReleaseServiceTest, RollbackWithoutStableIsRefusedAndSuggestsKill) {
  Register("v1");
  ASSERT_TRUE(service_.Deploy("alice", "bot", "v1", {}).ok());
  size_t events = AllEvents().size();
  auto r = service_.Rollback("bob", "bot", "", {"bad", std::nullopt, false});
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("no last known stable"), std::string::npos);
  EXPECT_NE(r.status().message().find("firebreak agent kill bot"), std::string::npos);
  EXPECT_EQ(AllEvents().size(), events);
  EXPECT_EQ(service_.Runtime("bot")->revision, 1);
}

TEST_F(ReleaseServiceTest, RollbackWhenAlreadyOnStableIsRefused) {
  Register("v1");
  ASSERT_TRUE(service_.Deploy("alice", "bot", "v1", {}).ok());
  ASSERT_TRUE(service_.Promote("alice", "bot", "v1", {}).ok());
  auto r = service_.Rollback("bob", "bot", "", {"bad", std::nullopt, false});
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("kill"), std::string::npos);
}

TEST_F(ReleaseServiceTest, RollbackNeedsAReason) {
  V1StableV2Current();
  EXPECT_EQ(service_.Rollback("bob", "bot", "", {}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ReleaseServiceTest, RollbackToAnExplicitVersion) {
  Register("v0");
  V1StableV2Current();
  auto r = service_.Rollback("bob", "bot", "v0", {"v1 is bad too", std::nullopt, false});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->runtime.version, "v0");
  EXPECT_EQ(r->runtime.stable_version, "v1");  // stable is not moved by a rollback
  EXPECT_EQ(service_.Rollback("bob", "bot", "v9", {"x", std::nullopt, false}).status().code(),
            StatusCode::kNotFound);
}

TEST_F(ReleaseServiceTest, PulledVersionNeedsForceToDeployOrPromote) {
  V1StableV2Current();
  ASSERT_TRUE(service_.Rollback("bob", "bot", "", {"bad", std::nullopt, false}).ok());

  auto deploy = service_.Deploy("bob", "bot", "v2", {});
  EXPECT_EQ(deploy.status().code(), StatusCode::kConflict);
  EXPECT_NE(deploy.status().message().find("force"), std::string::npos);
  auto promote = service_.Promote("bob", "bot", "v2", {});
  EXPECT_EQ(promote.status().code(), StatusCode::kConflict);
  // A rollback never goes to a pulled version either.
  ASSERT_TRUE(service_.Deploy("bob", "bot", "v2", {"", std::nullopt, true}).ok());
  EXPECT_EQ(service_.Runtime("bot")->version, "v2");
  EXPECT_EQ(service_.Rollback("bob", "bot", "v2", {"x", std::nullopt, false}).status().code(),
            StatusCode::kConflict);

  // Forced promotion clears the mark: a person decided.
  auto forced = service_.Promote("carol", "bot", "v2", {"fixed upstream", std::nullopt, true});
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ(forced->runtime.stable_version, "v2");
  EXPECT_FALSE(service_.Get("bot")->versions[1].pulled);
}

TEST_F(ReleaseServiceTest, UnknownAgentOrVersionIsNotFound) {
  Register("v1");
  EXPECT_EQ(service_.Deploy("a", "bot", "v9", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.Deploy("a", "ghost", "v1", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.Promote("a", "bot", "v9", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.Kill("a", "ghost", {}).status().code(), StatusCode::kNotFound);
}

TEST_F(ReleaseServiceTest, KillAndResumeMoveTheRevisionOnceEach) {
  V1StableV2Current();
  auto k = service_.Kill("bob", "bot", {"stop now", std::nullopt, false});
  ASSERT_TRUE(k.ok());
  EXPECT_FALSE(k->runtime.enabled);
  EXPECT_EQ(k->runtime.revision, 4);
  auto again = service_.Kill("bob", "bot", {});
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->runtime.revision, 4);
  auto resumed = service_.Resume("bob", "bot", {});
  ASSERT_TRUE(resumed.ok());
  EXPECT_TRUE(resumed->runtime.enabled);
  EXPECT_EQ(resumed->runtime.revision, 5);
}

TEST_F(ReleaseServiceTest, NamedIncidentGetsTheEventAndMustExist) {
  V1StableV2Current();
  auto inc = incidents_.Declare("alice", {"PII", "bot", std::nullopt, "", ""});
  ASSERT_TRUE(inc.ok());

  auto missing = service_.Rollback("bob", "bot", "", {"bad", int64_t{99}, false});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.Runtime("bot")->version, "v2");  // nothing changed

  clock_.Advance(42'000);
  ASSERT_TRUE(service_.Rollback("bob", "bot", "", {"bad", inc->id, false}).ok());
  auto timeline = incidents_.Timeline(inc->id);
  ASSERT_TRUE(timeline.ok());
  const EventRecord& e = timeline->back();
  EXPECT_EQ(e.kind, "agent.rolled_back");
  EXPECT_EQ(e.actor, "bob");
  EXPECT_EQ(e.at, clock_.NowMs());
  auto details = nlohmann::json::parse(e.details_json);
  EXPECT_EQ(details["from"], "v2");
  EXPECT_EQ(details["to"], "v1");
  EXPECT_EQ(details["pulled"], "v2");
}

TEST_F(ReleaseServiceTest, EveryPointerChangeIsAudited) {
  V1StableV2Current();
  ASSERT_TRUE(service_.Rollback("bob", "bot", "", {"bad", std::nullopt, false}).ok());
  ASSERT_TRUE(service_.Kill("bob", "bot", {}).ok());
  ASSERT_TRUE(service_.Resume("bob", "bot", {}).ok());
  std::vector<std::string> kinds;
  for (const auto& e : AllEvents()) kinds.push_back(e.kind);
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"agent.version_registered", "agent.version_registered",
                                      "agent.deployed", "agent.promoted", "agent.deployed",
                                      "agent.rolled_back", "agent.killed", "agent.resumed"}));
  auto chain = log_.Verify(*store_);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->intact);
}

TEST_F(ReleaseServiceTest, PromotionGateCanRefuse) {
  ClosedGate closed;
  ReleaseService gated(*store_, log_, clock_, hub_, closed);
  Register("v1");
  auto r = gated.Promote("alice", "bot", "v1", {});
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("regression battery"), std::string::npos);
  EXPECT_EQ(gated.Runtime("bot")->stable_version, "");
}

TEST_F(ReleaseServiceTest, SkippingTheGateNeedsAReasonAndRecordsWhatTheGateSaid) {
  ClosedGate closed;
  ReleaseService gated(*store_, log_, clock_, hub_, closed);
  Register("v1");
  ChangeRequest skip;
  skip.skip_gate = true;
  auto no_reason = gated.Promote("root", "bot", "v1", skip);
  EXPECT_EQ(no_reason.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(gated.Runtime("bot")->stable_version, "");

  skip.reason = "hotfix for INC-9, battery flaky upstream";
  auto r = gated.Promote("root", "bot", "v1", skip);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->gate_skipped, "regression battery failed on v1");
  EXPECT_EQ(gated.Runtime("bot")->stable_version, "v1");
  auto events = AllEvents();
  ASSERT_FALSE(events.empty());
  const EventRecord& e = events.back();
  EXPECT_EQ(e.kind, "agent.promoted");
  EXPECT_EQ(e.actor, "root");
  auto details = nlohmann::json::parse(e.details_json);
  EXPECT_EQ(details["gate_skipped"], "regression battery failed on v1");
  EXPECT_EQ(details["reason"], "hotfix for INC-9, battery flaky upstream");
}

TEST(RuntimeHub, DeliversOnlyForwardAndStopsAfterUnsubscribe) {
  RuntimeHub hub;
  std::vector<int64_t> seen;
  uint64_t id = hub.Subscribe(
      "a", [&](const std::shared_ptr<const RuntimeState>& s) { seen.push_back(s->revision); });
  std::vector<int64_t> other;
  hub.Subscribe(
      "b", [&](const std::shared_ptr<const RuntimeState>& s) { other.push_back(s->revision); });
  RuntimeState s;
  s.agent = "a";
  for (int64_t r : {1, 3, 2, 3, 4}) {
    s.revision = r;
    hub.Publish(s);
  }
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 3, 4}));
  EXPECT_TRUE(other.empty());
  hub.Unsubscribe(id);
  s.revision = 5;
  hub.Publish(s);
  EXPECT_EQ(seen.size(), 3u);
  EXPECT_EQ(hub.size(), 1u);
}

TEST(RuntimeHub, ListenerMayUnsubscribeItself) {
  RuntimeHub hub;
  int calls = 0;
  auto id = std::make_shared<uint64_t>(0);
  *id = hub.Subscribe("a", [&, id](const std::shared_ptr<const RuntimeState>&) {
    ++calls;
    hub.Unsubscribe(*id);
  });
  RuntimeState s;
  s.agent = "a";
  s.revision = 1;
  hub.Publish(s);
  s.revision = 2;
  hub.Publish(s);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(hub.size(), 0u);
}

}  // namespace
}  // namespace firebreak
