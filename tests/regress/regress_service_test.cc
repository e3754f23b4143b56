// RegressionService and the gates over a real SQLite store with a fake clock: cases from traces,
// reported and server runs, the promotion gate's policies, the close requirement, retention.
#include "regress/regress_service.h"

#include <gtest/gtest.h>

#include "incidents/incident_service.h"
#include "regress/gates.h"
#include "releases/release_service.h"
#include "support/test_util.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;
using testing::OpenTestStore;
using testing::TempDir;

constexpr TimeMs kT0 = 1'795'964'645'000;
constexpr TimeMs kDay = 24LL * 3600 * 1000;

// An exec provider that answers `output` (and one lookup call) whatever the case.
Json Answering(const std::string& output) {
  return {{"provider", "exec"},
          {"command",
           {"sh", "-c",
            "cat >/dev/null; printf '%s' '" +
                Json{{"output", output},
                     {"tool_calls", {{{"tool", "lookup"}, {"args", {{"id", "A-1"}}}}}}}
                    .dump() +
                "'"}}};
}

class RegressServiceTest : public ::testing::Test {
 protected:
  RegressServiceTest()
      : store_(OpenTestStore(dir_)),
        clock_(kT0),
        log_(clock_),
        traces_(*store_, log_, clock_),
        incidents_(*store_, log_, clock_),
        releases_(*store_, log_, clock_, hub_, gate_),
        scanner_(Scanner()),
        service_(*store_, log_, clock_, traces_, *scanner_, sender_, Options()) {
    incidents_.AddCloseRequirement(&close_);
    for (const char* v : {"v1", "v2", "v3"}) {
      EXPECT_TRUE(releases_.Register("alice", "bot", v,
                                     {{"model", "m"},
                                      {"prompt_hash", std::string("p") + v},
                                      {"tools", {{{"name", "lookup"}, {"effect_class", "read-only"}}}}})
                      .ok());
    }
  }

  static std::unique_ptr<detect::PiiScanner> Scanner() {
    auto s = detect::PiiScanner::Create({});
    EXPECT_TRUE(s.ok());
    return std::move(*s);
  }

  static RegressOptions Options() {
    RegressOptions o;
    o.exec_providers = true;
    return o;
  }

  // Stores a native trace of `bot` and returns its hash.
  std::string Trace(const std::string& id, const std::string& output,
                    const std::string& session = "s-1") {
    Json t = {{"trace_id", id},
              {"agent", "bot"},
              {"version", "v1"},
              {"user_id", "u-1"},
              {"session_id", session},
              {"started_at", clock_.NowMs()},
              {"input", "input of " + id},
              {"tool_calls", {{{"name", "lookup"}, {"arguments", R"({"id":"A-1"})"}, {"result", "shipped"}}}},
              {"output", output}};
    auto r = traces_.IngestNative({{"traces", {t}}});
    EXPECT_TRUE(r.ok()) << r.status().message();
    clock_.Advance(1000);
    return r.ok() ? (*r)[0] : "";
  }

  // An incident of `bot` opened by a pii signal on `hash`.
  int64_t LeakIncident(const std::string& hash) {
    int64_t signal = 0;
    EXPECT_TRUE(store_
                    ->Write([&](Txn& txn) -> Status {
                      SignalRecord s;
                      s.kind = "pii";
                      s.source = "detector:pii";
                      s.agent = "bot";
                      s.evidence_json = Json({hash}).dump();
                      s.fingerprint = "pii:" + hash;
                      s.detected_at = s.received_at = s.updated_at = clock_.NowMs();
                      FB_ASSIGN_OR_RETURN(signal, txn.signals().Insert(s));
                      return Status::Ok();
                    })
                    .ok());
    DeclareRequest d;
    d.title = "email in replies";
    d.agent = "bot";
    d.severity = Severity::kSev1;
    d.reason = "personal data in a reply";
    d.signals_json = Json({signal}).dump();
    auto inc = incidents_.Declare("alice", d);
    EXPECT_TRUE(inc.ok());
    return inc.ok() ? inc->id : 0;
  }

  // Starts a reported run and reports `output` for each case (one attempt each).
  RunView Report(const std::string& version, const std::string& output, std::vector<int64_t> only = {}) {
    RunRequest req;
    req.agent = "bot";
    req.version = version;
    req.report = true;
    req.cases = only;
    auto run = service_.StartRun("ci", req);
    EXPECT_TRUE(run.ok()) << run.status().message();
    for (int64_t c : run->case_ids) {
      RawAttempt a;
      a.answer = Json{{"output", output}, {"tool_calls", {{{"tool", "lookup"}, {"args", {{"id", "A-1"}}}}}}};
      auto r = service_.ReportResult("ci", run->run.id, c, {a});
      EXPECT_TRUE(r.ok()) << r.status().message();
    }
    return *service_.GetRun(run->run.id);
  }

  Status Promote(const std::string& v) { return releases_.Promote("alice", "bot", v, {}).status(); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  RuntimeHub hub_;
  BatteryGate gate_;
  CaseCloseRequirement close_;
  traces::TraceService traces_;
  IncidentService incidents_;
  ReleaseService releases_;
  paging::HttpSender sender_;
  std::unique_ptr<detect::PiiScanner> scanner_;
  RegressionService service_;
};

TEST_F(RegressServiceTest, ACaseFromAnIncidentTraceHasItsDefaultsMocksAndSession) {
  Trace("t-0", "Hello, how can I help?");
  std::string hash = Trace("t-1", "write to jane.doe@example.com");
  int64_t inc = LeakIncident(hash);
  auto c = service_.AddCase("alice", {hash.substr(0, 10), inc});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->record.source_hash, hash);
  EXPECT_EQ(c->record.name, "INC-" + std::to_string(inc) + ": email in replies");
  EXPECT_TRUE(c->record.required);
  ASSERT_EQ(c->spec.assertions.size(), 2u);
  EXPECT_EQ(c->spec.assertions[0].type, "no-pii");
  ASSERT_EQ(c->spec.mocks.size(), 1u);
  EXPECT_EQ(c->spec.mocks[0].args, Json({{"id", "A-1"}}));
  EXPECT_EQ(c->spec.context["history"], Json::parse(R"([{"input":"input of t-0","output":"Hello, how can I help?"}])"));
  // On the incident's timeline.
  auto timeline = incidents_.Timeline(inc);
  ASSERT_TRUE(timeline.ok());
  EXPECT_EQ(timeline->back().kind, "regression.case_added");

  // Another agent's incident, an unknown trace, no assertions: refused, nothing stored.
  DeclareRequest other;
  other.title = "x";
  other.agent = "other-bot";
  int64_t foreign = incidents_.Declare("alice", other)->id;
  EXPECT_EQ(service_.AddCase("alice", {hash, foreign}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.AddCase("alice", {"deadbeefdeadbeef"}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.AddCase("alice", {hash}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.ListCases({})->size(), 1u);
}

TEST_F(RegressServiceTest, ThePromotionGateAppliesItsPolicies) {
  // No case: no gate.
  EXPECT_TRUE(Promote("v1").ok());
  std::string hash = Trace("t-1", "write to jane.doe@example.com");
  int64_t required = service_.AddCase("alice", {hash, LeakIncident(hash)})->record.id;

  Status none = Promote("v2");
  EXPECT_EQ(none.code(), StatusCode::kConflict);
  EXPECT_NE(none.message().find("no finished run of the whole battery (1 cases) on v2"), std::string::npos)
      << none.message();

  Report("v2", "mail jane.doe@example.com");
  Status failing = Promote("v2");
  EXPECT_EQ(failing.code(), StatusCode::kConflict);
  EXPECT_NE(failing.message().find("failing: #" + std::to_string(required)), std::string::npos)
      << failing.message();
  EXPECT_NE(failing.message().find("[required]"), std::string::npos);

  // A subset run does not count as the battery's run.
  Report("v2", "all good", {required});
  EXPECT_EQ(Promote("v2").code(), StatusCode::kConflict);
  Report("v2", "all good");
  EXPECT_TRUE(Promote("v2").ok());

  // An optional case may fail on v3, unless it passed on the stable version (v2).
  AddCaseRequest optional{hash};
  optional.assertions = Json::parse(R"([{"type":"contains","value":"good"}])");
  optional.required = false;
  int64_t opt = service_.AddCase("alice", optional)->record.id;
  Status missing = Promote("v2");
  EXPECT_NE(missing.message().find("missing from the run: #" + std::to_string(opt)), std::string::npos)
      << missing.message();
  Report("v2", "all good");
  Report("v3", "all fine");  // opt fails on v3; it passed on v2, the stable version
  Status regressed = Promote("v3");
  EXPECT_NE(regressed.message().find("[passed on stable v2]"), std::string::npos) << regressed.message();
  // Errored cases fail the gate too.
  RunRequest req{"bot", "v3", {}, 1, std::nullopt, true};
  auto run = service_.StartRun("ci", req);
  ASSERT_TRUE(run.ok());
  for (int64_t c : run->case_ids) {
    RawAttempt a;
    a.answer = Unavailable("agent crashed");
    ASSERT_TRUE(service_.ReportResult("ci", run->run.id, c, {a}).ok());
  }
  Status errored = Promote("v3");
  EXPECT_NE(errored.message().find("errored: #"), std::string::npos) << errored.message();
  EXPECT_NE(errored.message().find("agent crashed"), std::string::npos) << errored.message();
}

TEST_F(RegressServiceTest, AnIncidentClosesOnlyWhenItsCasePassesOnTheStableVersion) {
  std::string hash = Trace("t-1", "write to jane.doe@example.com");
  int64_t inc = LeakIncident(hash);
  ASSERT_TRUE(incidents_.Transition("alice", inc, IncidentState::kResolved, "fixed").ok());
  auto refused = [&](const std::string& says) {
    auto r = incidents_.Close("alice", inc, "done");
    EXPECT_EQ(r.status().code(), StatusCode::kConflict);
    EXPECT_NE(r.status().message().find(says), std::string::npos) << r.status().message();
  };
  refused("a regression case: INC-" + std::to_string(inc) + " has none");
  ASSERT_TRUE(service_.AddCase("alice", {hash, inc}).ok());
  refused("a stable version of 'bot'");
  Report("v1", "jane.doe@example.com again");
  ASSERT_EQ(Promote("v1").code(), StatusCode::kConflict);
  Report("v2", "fixed");
  ASSERT_TRUE(Promote("v2").ok());
  // v2 is stable; its latest run of the case passed.
  Report("v1", "still leaking jane.doe@example.com");
  auto closed = incidents_.Close("alice", inc, "the case passes on v2");
  ASSERT_TRUE(closed.ok()) << closed.status().message();
  EXPECT_EQ(closed->state, "closed");
}

TEST_F(RegressServiceTest, TheCloseRefusalNamesAFailureOnTheStableVersion) {
  std::string hash = Trace("t-1", "write to jane.doe@example.com");
  int64_t inc = LeakIncident(hash);
  ASSERT_TRUE(incidents_.Transition("alice", inc, IncidentState::kResolved, "fixed").ok());
  ASSERT_TRUE(Promote("v1").ok());  // no case yet: not gated
  int64_t c = service_.AddCase("alice", {hash, inc})->record.id;
  auto r = incidents_.Close("alice", inc, "done");
  EXPECT_NE(r.status().message().find("case #" + std::to_string(c)), std::string::npos);
  EXPECT_NE(r.status().message().find("has not run on it"), std::string::npos) << r.status().message();
  RunView run = Report("v1", "jane.doe@example.com");
  r = incidents_.Close("alice", inc, "done");
  EXPECT_NE(r.status().message().find("it failed in run #" + std::to_string(run.run.id)), std::string::npos)
      << r.status().message();
}

TEST_F(RegressServiceTest, ACaseHoldsItsTracePastRetention) {
  std::string held = Trace("t-1", "write to jane.doe@example.com");
  Trace("t-2", "nothing special");
  int64_t c = service_.AddCase("alice", {held, LeakIncident(held)})->record.id;
  clock_.Advance(31 * kDay);
  ASSERT_EQ(*traces_.SweepExpired(), 1);
  EXPECT_TRUE(traces_.Get(held).ok());
  EXPECT_EQ(service_.DeleteCase("alice", c, "").code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(service_.DeleteCase("alice", c, "superseded by a broader case").ok());
  ASSERT_EQ(*traces_.SweepExpired(), 1);
  EXPECT_EQ(traces_.Get(held).status().code(), StatusCode::kNotFound);
}

TEST_F(RegressServiceTest, AServerRunStoresEachCaseAndAttempt) {
  std::string hash = Trace("t-1", "write to jane.doe@example.com");
  AddCaseRequest add{hash, LeakIncident(hash)};
  add.repeat = 3;
  add.pass_at_least = 2;
  int64_t c = service_.AddCase("alice", add)->record.id;
  RunRequest req{"bot", "v2", {}, 2, Answering("all clean"), false};
  auto run = service_.StartRun("ci", req);
  ASSERT_TRUE(run.ok()) << run.status().message();
  EXPECT_EQ(run->run.status, "running");
  ASSERT_TRUE(service_.Execute(run->run.id).ok());
  auto done = service_.GetRun(run->run.id);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->run.status, "passed");
  ASSERT_EQ(done->results.size(), 1u);
  EXPECT_EQ(done->results[0].case_id, c);
  Json attempts = Json::parse(done->results[0].attempts_json);
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[2]["attempt"], 3);
  EXPECT_EQ(attempts[0]["replay"]["served"], 1);
  EXPECT_EQ(attempts[0]["answer"]["output"], "all clean");

  // A run cut by a stop is marked errored at the next start, never left running.
  auto cut = service_.StartRun("ci", req);
  ASSERT_TRUE(cut.ok());
  ASSERT_TRUE(service_.Start().ok());
  service_.Stop();
  auto after = service_.GetRun(cut->run.id);
  EXPECT_EQ(after->run.status, "errored");
  EXPECT_NE(after->run.error.find("interrupted"), std::string::npos);
}

TEST_F(RegressServiceTest, ExecNeedsTheServersConsent) {
  std::string hash = Trace("t-1", "x");
  AddCaseRequest add{hash};
  add.assertions = Json::parse(R"([{"type":"max-tool-calls","value":5}])");
  ASSERT_TRUE(service_.AddCase("alice", add).ok());
  RegressionService strict(*store_, log_, clock_, traces_, *scanner_, sender_, RegressOptions{});
  RunRequest req{"bot", "v2", {}, 1, Answering("x"), false};
  auto r = strict.StartRun("ci", req);
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_NE(r.status().message().find("does not run exec providers"), std::string::npos);
  req.provider = std::nullopt;
  EXPECT_NE(strict.StartRun("ci", req).status().message().find("no regression provider"), std::string::npos);
  EXPECT_TRUE(service_.ListRuns("bot", "", 10)->empty());
}

}  // namespace
}  // namespace firebreak::regress
