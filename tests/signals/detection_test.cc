// The detectors on the ingest path: a real trace service, store, scanner and signal service.
#include "signals/detection.h"

#include <gtest/gtest.h>

#include <set>

#include "releases/release_service.h"
#include "support/failing_store.h"
#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;
using Json = nlohmann::json;

class DetectionTest : public ::testing::Test {
 protected:
  DetectionTest()
      : store_(OpenTestStore(dir_)), clock_(1'795'964'645'000), log_(clock_),
        incidents_(*store_, log_, clock_), signals_(*store_, log_, incidents_, clock_, {}),
        traces_(*store_, log_, clock_), releases_(*store_, log_, clock_, hub_, gate_) {
    DetectionOptions options;
    options.pii.allow["support-bot"] = {".*@shop\\.example"};
    auto p = DetectionPipeline::Create(*store_, signals_, clock_, options);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    pipeline_ = std::move(*p);
    traces_.SetObserver(pipeline_.get());
    Json manifest = {{"model", "gpt-4o"},
                     {"prompt_hash", "sha256:abc"},
                     {"tools",
                      {{{"name", "lookup_order"}, {"effect_class", "read-only"}},
                       {{"name", "send_email"}, {"effect_class", "outbound-message"}},
                       {{"name", "refund"}, {"effect_class", "payment"}, {"requires_approval", true}},
                       {{"name", "export_notes"}, {"effect_class", "read-only"}, {"requires_approval", true}}}}};
    EXPECT_TRUE(releases_.Register("ci", "support-bot", "v7", manifest).ok());
  }

  // Ingests one native trace; returns its hash.
  std::string Ingest(Json trace) {
    trace["agent"] = trace.value("agent", "support-bot");
    trace["version"] = trace.value("version", "v7");
    trace["input"] = trace.value("input", "where is my order?");
    trace["user_id"] = trace.value("user_id", "u-1");
    auto r = traces_.IngestNative({{"traces", {trace}}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->front() : "";
  }

  std::vector<SignalRecord> Signals() { return *signals_.List({}); }
  std::vector<IncidentRecord> Incidents() { return *incidents_.List({}); }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  IncidentService incidents_;
  SignalService signals_;
  traces::TraceService traces_;
  RuntimeHub hub_;
  OpenPromotionGate gate_;
  ReleaseService releases_;
  std::unique_ptr<DetectionPipeline> pipeline_;
};

TEST_F(DetectionTest, AValidCardInTheFinalResponseOpensASev1IncidentNamingTheEvidence) {
  std::string hash = Ingest({{"trace_id", "t-card"},
                             {"output", "Your refund went to card 4111 1111 1111 1111, all done."}});
  auto signals = Signals();
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_EQ(signals[0].kind, "pii");
  EXPECT_EQ(signals[0].severity, 1);
  EXPECT_EQ(signals[0].evidence_json, Json({hash}).dump());
  EXPECT_EQ(signals[0].measured_json.find("4111 1111 1111 1111"), std::string::npos)
      << "the stored signal must not hold the card number";
  auto incidents = Incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].severity, 1);
  EXPECT_EQ(incidents[0].classified_by, "rule:personal-data");
  EXPECT_NE(incidents[0].classification_reason.find(hash.substr(0, 16)), std::string::npos);
  EXPECT_NE(incidents[0].classification_reason.find("payment card"), std::string::npos);

  // Late spans re-assembling the trace, or a second look, record nothing new.
  auto again = pipeline_->Inspect({{traces::ContentFromJson({{"trace_id", "t-card"},
                                                              {"agent", "support-bot"},
                                                              {"version", "v7"},
                                                              {"output", "card 4111 1111 1111 1111"}})
                                        .value(),
                                    hash, false}});
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->front().duplicate);
  EXPECT_EQ(Signals().size(), 1u);
}

TEST_F(DetectionTest, ATraceWithoutAnAgentStillOpensTheIncident) {
  Ingest({{"agent", ""}, {"output", "SSN 536-22-1987 confirmed."}});
  auto incidents = Incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].agent, "unassigned");
  // Names that arrive in telemetry are made to fit before they reach a signal (ToName).
  EXPECT_EQ(SignalName("Support Bot/eu"), "Support_Bot_eu");
}

TEST_F(DetectionTest, CleanTracesAndInvalidNumbersRaiseNothing) {
  Ingest({{"output", "Order 4111 1111 1111 1112 ships on 2026-12-01; tracking 1Z999AA10123456784."}});
  Ingest({{"output", "Your ticket id is 550e8400-e29b-41d4-a716-446655440000, version 1.2.3.4.5"}});
  // The user's own address, and the allow-listed shop address, are fine in a reply.
  Ingest({{"user_id", "jane@customer.example"},
          {"output", "We wrote to jane@customer.example from help@shop.example."}});
  EXPECT_TRUE(Signals().empty());
  EXPECT_TRUE(Incidents().empty());
}

TEST_F(DetectionTest, PersonalDataInTheArgumentsOfAnExternalToolCounts) {
  Ingest({{"tool_calls", {{{"name", "lookup_order"}, {"arguments", R"({"iban":"DE89370400440532013000"})"}}}},
          {"output", "done"}});
  EXPECT_TRUE(Signals().empty()) << "a read-only tool keeps its arguments inside";
  Ingest({{"tool_calls", {{{"name", "send_email"}, {"arguments", R"({"body":"IBAN DE89 3704 0044 0532 0130 00"})"}}}},
          {"output", "done"}});
  auto signals = Signals();
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_NE(signals[0].reason.find("send_email"), std::string::npos);
}

TEST_F(DetectionTest, RetrievedContentIsScannedAndNamesTheDocumentALeakCameFrom) {
  // A retrieved record carries another customer's phone; the reply repeats it.
  Ingest({{"retrieved", {{{"source", "crm/contact-8812"}, {"content", "Contact: Priya, +91 98765 43210"}}}},
          {"output", "You can reach her on +91-98765-43210."}});
  auto signals = Signals();
  ASSERT_EQ(signals.size(), 1u);
  EXPECT_NE(signals[0].reason.find("final response, from retrieved content crm/contact-8812"), std::string::npos)
      << signals[0].reason;
  Json measured = Json::parse(signals[0].measured_json);
  EXPECT_EQ(measured["counts"]["phone"], 2);
  EXPECT_EQ(signals[0].kind, "pii");
  // Only in a retrieved document, it is still found and said to be there, but it was read, not
  // sent out: a SEV-3 finding for the backlog, never a SEV-1 page.
  Ingest({{"retrieved", {{{"source", "kb/7"}, {"content", "IBAN de89 3704 0044 0532 0130 00"}}}}, {"output", "ok"}});
  signals = Signals();
  ASSERT_EQ(signals.size(), 2u);
  const SignalRecord* in_document = nullptr;
  for (const auto& s : signals) {
    if (s.reason.find("in the retrieved content kb/7") != std::string::npos) in_document = &s;
  }
  ASSERT_NE(in_document, nullptr);
  EXPECT_EQ(in_document->kind, "pii.retrieved");
  EXPECT_EQ(in_document->rule, "personal-data-retrieved");
  std::map<int, int> by_severity;
  for (const auto& i : Incidents()) by_severity[i.severity]++;
  EXPECT_EQ(by_severity[1], 1);
  EXPECT_EQ(by_severity[3], 1);
}

TEST_F(DetectionTest, UnauthorisedActionsAreJudgedAgainstTheVersionsManifest) {
  // A tool the manifest does not declare: SEV-1 (external effect assumed).
  Ingest({{"tool_calls", {{{"name", "delete_account"}, {"arguments", "{}"}}}}, {"output", "ok"}});
  // A payment that needs approval, without one.
  Ingest({{"tool_calls", {{{"name", "refund"}, {"arguments", R"({"amount": 30})"}}}}, {"output", "ok"}});
  // The same with an approver: fine.
  Ingest({{"tool_calls", {{{"name", "refund"}, {"arguments", "{}"}, {"approved_by", "lead@shop"}}}},
          {"output", "ok"}});
  // A read-only tool that needs approval, without one: SEV-3.
  Ingest({{"tool_calls", {{{"name", "export_notes"}, {"arguments", "{}"}}}}, {"output", "ok"}});
  // An unregistered version cannot be judged.
  Ingest({{"version", "v8"}, {"tool_calls", {{{"name", "delete_account"}, {"arguments", "{}"}}}}, {"output", "ok"}});

  auto signals = Signals();
  std::map<std::string, int> kinds;
  for (const auto& s : signals) kinds[s.kind]++;
  EXPECT_EQ(kinds["action.unauthorised"], 2);
  EXPECT_EQ(kinds["action.internal"], 1);
  EXPECT_EQ(signals.size(), 3u);
  auto incidents = Incidents();
  ASSERT_EQ(incidents.size(), 2u);  // the two unauthorised actions share one incident
  std::map<int, int> by_severity;
  for (const auto& i : incidents) by_severity[i.severity]++;
  EXPECT_EQ(by_severity[1], 1);
  EXPECT_EQ(by_severity[3], 1);
}

TEST_F(DetectionTest, ABurstOfErrorsForEveryoneOpensASev2Incident) {
  // A healthy baseline, then errors in every category.
  for (int i = 0; i < 400; ++i) {
    clock_.Advance(60'000);
    Json t = {{"output", "fine"}, {"category", i % 2 ? "billing" : "shipping"},
              {"started_at", FormatTime(clock_.NowMs())}};
    if (i % 50 == 0) t["errors"] = {"tool timeout"};
    Ingest(t);
  }
  EXPECT_TRUE(Signals().empty());
  for (int i = 0; i < 60; ++i) {
    clock_.Advance(10'000);
    Ingest({{"output", "sorry"}, {"category", i % 2 ? "billing" : "shipping"},
            {"errors", {"model overloaded"}}, {"started_at", FormatTime(clock_.NowMs())}});
  }
  auto signals = Signals();
  std::map<std::string, int> kinds;
  for (const auto& s : signals) kinds[s.kind]++;
  EXPECT_GE(kinds["quality.degraded"], 1);
  bool sev2 = false;
  for (const auto& i : Incidents()) sev2 = sev2 || i.severity == 2;
  EXPECT_TRUE(sev2);
}

int64_t Queued(Store& store) {
  int64_t n = -1;
  EXPECT_TRUE(store.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(n, txn.inspections().Count());
    return Status::Ok();
  }).ok());
  return n;
}

TEST_F(DetectionTest, ATraceInspectedOnTheIngestPathLeavesNothingQueued) {
  Ingest({{"trace_id", "t-ok"}, {"output", "Card 4111 1111 1111 1111 on file."}});
  EXPECT_EQ(Incidents().size(), 1u);
  EXPECT_EQ(Queued(*store_), 0);
}

TEST_F(DetectionTest, ATraceCommittedButNotInspectedBeforeACrashIsInspectedAtStart) {
  // The crash: the trace and its queue row committed, the detectors never ran.
  traces_.SetObserver(nullptr);
  Ingest({{"trace_id", "t-crash"}, {"output", "Your card 4111 1111 1111 1111 was charged."}});
  EXPECT_TRUE(Incidents().empty());
  EXPECT_EQ(Queued(*store_), 1);

  // The restart: a new pipeline over the same store warms up.
  auto restarted = DetectionPipeline::Create(*store_, signals_, clock_, {});
  ASSERT_TRUE(restarted.ok());
  ASSERT_TRUE((*restarted)->Warm().ok());
  auto incidents = Incidents();
  ASSERT_EQ(incidents.size(), 1u);
  EXPECT_EQ(incidents[0].severity, 1);
  EXPECT_EQ(Queued(*store_), 0);
  // Once is enough: a second start finds nothing to do and records nothing twice.
  ASSERT_TRUE((*restarted)->Warm().ok());
  EXPECT_EQ(Signals().size(), 1u);
}

TEST_F(DetectionTest, AFailedInspectionIsRetriedWithBackoff) {
  firebreak::testing::FailingStore flaky(*store_);
  SignalService signals(flaky, log_, incidents_, clock_, {});
  auto pipeline = DetectionPipeline::Create(*store_, signals, clock_, {});
  ASSERT_TRUE(pipeline.ok());
  traces_.SetObserver(pipeline->get());

  flaky.FailWrites(1);  // recording the signal fails once
  Ingest({{"trace_id", "t-retry"}, {"output", "Card 4111 1111 1111 1111, done."}});
  EXPECT_EQ(flaky.failed_writes(), 1);
  EXPECT_TRUE(Incidents().empty());
  EXPECT_EQ(Queued(*store_), 1);
  EXPECT_EQ((*pipeline)->Stats().failures, 1);

  // Not before its backoff...
  auto early = (*pipeline)->DrainQueue(clock_.NowMs());
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(*early, 0);
  EXPECT_TRUE(Incidents().empty());

  // ...then the retry records it.
  clock_.Advance(kInspectionRetryBaseMs);
  auto retried = (*pipeline)->DrainQueue(clock_.NowMs());
  ASSERT_TRUE(retried.ok()) << retried.status().ToString();
  EXPECT_EQ(*retried, 1);
  ASSERT_EQ(Incidents().size(), 1u);
  EXPECT_EQ(Queued(*store_), 0);
  traces_.SetObserver(pipeline_.get());
}

TEST_F(DetectionTest, TheBackgroundDrainLeavesFreshTracesToTheirRequest) {
  traces_.SetObserver(nullptr);
  Ingest({{"trace_id", "t-fresh"}, {"output", "Card 4111 1111 1111 1111."}});
  auto none = pipeline_->DrainQueue(clock_.NowMs() - kInspectionGraceMs);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);
  clock_.Advance(kInspectionGraceMs);
  auto one = pipeline_->DrainQueue(clock_.NowMs() - kInspectionGraceMs);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, 1);
  EXPECT_EQ(Incidents().size(), 1u);
}

}  // namespace
}  // namespace firebreak
