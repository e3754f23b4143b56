// The pure parts of the regression battery: assertions (each says what it expected and saw),
// strict replay, case validation and default assertions, and the JUnit and promptfoo reports.
#include "regress/assertions.h"

#include <gtest/gtest.h>

#include "regress/replay.h"
#include "regress/report.h"
#include "regress/runner.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

Assertion A(const Json& j) {
  auto a = AssertionFromJson(j, "a");
  EXPECT_TRUE(a.ok()) << j.dump() << ": " << a.status().message();
  return a.ok() ? *a : Assertion{};
}

AgentAnswer Answer(const Json& j) {
  auto a = AnswerFromJson(j);
  EXPECT_TRUE(a.ok()) << a.status().message();
  return a.ok() ? *a : AgentAnswer{};
}

class AssertionsTest : public ::testing::Test {
 protected:
  AssertionsTest() {
    auto s = detect::PiiScanner::Create({});
    EXPECT_TRUE(s.ok());
    scanner_ = std::move(*s);
    ctx_.scanner = scanner_.get();
    ctx_.scan = {"support-bot", "u-42"};
    ctx_.read_only_tools = {"lookup_order"};
  }

  AssertionResult Eval(const Json& assertion, const Json& answer) {
    return Evaluate(A(assertion), Answer(answer), ctx_);
  }

  std::unique_ptr<detect::PiiScanner> scanner_;
  JudgeContext ctx_;
};

TEST_F(AssertionsTest, TextAssertionsSayWhatTheyExpectedAndSaw) {
  Json out = {{"output", "Your order A-1001 is Shipped."}};
  EXPECT_TRUE(Eval({{"type", "contains"}, {"value", "A-1001"}}, out).passed);
  auto miss = Eval({{"type", "contains"}, {"value", "refund"}}, out);
  EXPECT_FALSE(miss.passed);
  EXPECT_EQ(miss.expected, "the output contains 'refund'");
  EXPECT_EQ(miss.seen, "output 'Your order A-1001 is Shipped.'");
  auto found = Eval({{"type", "not-contains"}, {"value", "Shipped"}}, out);
  EXPECT_FALSE(found.passed);
  EXPECT_EQ(found.seen, "found at byte 21 of the output");
  EXPECT_TRUE(Eval({{"type", "icontains"}, {"value", "SHIPPED"}}, out).passed);
  EXPECT_FALSE(Eval({{"type", "equals"}, {"value", "Your order"}}, out).passed);
  EXPECT_TRUE(Eval({{"type", "equals"}, {"value", "Your order A-1001 is Shipped."}}, out).passed);
  EXPECT_TRUE(Eval({{"type", "regex"}, {"value", "A-\\d{4}"}}, out).passed);
  auto matched = Eval({{"type", "not-regex"}, {"value", "A-\\d+"}}, out);
  EXPECT_FALSE(matched.passed);
  EXPECT_EQ(matched.seen, "matched 'A-1001'");
}

TEST_F(AssertionsTest, JsonSchemaChecksTypeRequiredPropertiesItemsAndEnum) {
  Json schema = {{"type", "object"},
                 {"required", {"status", "items"}},
                 {"properties",
                  {{"status", {{"enum", {"shipped", "pending"}}}},
                   {"items", {{"type", "array"}, {"items", {{"type", "integer"}}}}}}}};
  Json a = {{"type", "json-schema"}, {"value", schema}};
  EXPECT_TRUE(Eval(a, {{"output", R"({"status":"shipped","items":[1,2]})"}}).passed);
  EXPECT_EQ(Eval(a, {{"output", R"({"status":"lost","items":[]})"}}).seen,
            R"($.status: "lost" is not one of ["shipped","pending"])");
  EXPECT_EQ(Eval(a, {{"output", R"({"status":"shipped","items":[1,"x"]})"}}).seen,
            R"($.items[1]: expected "integer", got string)");
  EXPECT_EQ(Eval(a, {{"output", R"({"items":[]})"}}).seen,
            "$: required property 'status' is missing");
  EXPECT_EQ(Eval(a, {{"output", "not json"}}).seen, "output is not JSON: 'not json'");
}

TEST_F(AssertionsTest, NoPiiUsesTheDetectorsOnOutputAndExternalToolArguments) {
  Json leak = {{"output", "write to jane.doe@example.com"},
               {"tool_calls",
                {{{"tool", "lookup_order"}, {"args", {{"email", "jane.doe@example.com"}}}},
                 {{"tool", "send_email"}, {"args", R"({"to":"bob.smith@example.org"})"}}}}};
  auto out = Eval({{"type", "no-pii"}, {"target", "output"}}, leak);
  EXPECT_FALSE(out.passed);
  EXPECT_EQ(out.expected, "no personal data in the output");
  EXPECT_EQ(out.seen, "found email j***@example.com in the output");
  auto args = Eval({{"type", "no-pii"}, {"target", "tool-args"}}, leak);
  EXPECT_FALSE(args.passed);
  // lookup_order is read-only in the manifest: its arguments are not scanned, as on ingest.
  EXPECT_EQ(args.seen, "found email b***@example.org in the arguments of send_email");
  auto clean = Eval({{"type", "no-pii"}}, {{"output", "Your order ships tomorrow."}});
  EXPECT_TRUE(clean.passed);
  EXPECT_EQ(clean.seen, "none found");
  // The case's own user identity is allowed, as the detectors allow it.
  ctx_.scan.user_id = "jane.doe@example.com";
  EXPECT_TRUE(Eval({{"type", "no-pii"}}, {{"output", "hi jane.doe@example.com"}}).passed);
}

TEST_F(AssertionsTest, ToolAssertions) {
  Json answer = {{"output", "ok"},
                 {"tool_calls",
                  {{{"tool", "lookup_order"}, {"args", {{"order_id", "A-1"}, {"full", true}}}},
                   {{"tool", "refund"}, {"args", {{"amount", 20}}}},
                   {{"tool", "notify"}, {"args", "{}"}}}}};
  EXPECT_TRUE(Eval({{"type", "tool-called"}, {"tool", "refund"}}, answer).passed);
  auto called = Eval({{"type", "tool-not-called"}, {"tool", "refund"}}, answer);
  EXPECT_FALSE(called.passed);
  EXPECT_EQ(called.expected, "no call of refund");
  EXPECT_EQ(called.seen, "1 call(s) of refund");
  EXPECT_TRUE(
      Eval({{"type", "tool-args-match"}, {"tool", "lookup_order"}, {"args", {{"order_id", "A-1"}}}}, answer)
          .passed);
  auto other = Eval({{"type", "tool-args-match"}, {"tool", "refund"}, {"args", {{"amount", 10}}}}, answer);
  EXPECT_FALSE(other.passed);
  EXPECT_EQ(other.seen, R"(refund {"amount":20})");
  EXPECT_TRUE(Eval({{"type", "tool-sequence"}, {"value", {"lookup_order", "notify"}}}, answer).passed);
  auto order = Eval({{"type", "tool-sequence"}, {"value", {"refund", "lookup_order"}}}, answer);
  EXPECT_FALSE(order.passed);
  EXPECT_EQ(order.seen, "calls: lookup_order, refund, notify (missing from lookup_order on)");
  EXPECT_FALSE(Eval({{"type", "max-tool-calls"}, {"value", 2}}, answer).passed);
  EXPECT_TRUE(Eval({{"type", "max-tool-calls"}, {"value", 3}}, answer).passed);
}

TEST(Assertions, HostileAssertionsAreRefusedNamingTheField) {
  auto error = [](const Json& j) {
    auto a = AssertionFromJson(j, "assertions[0]");
    EXPECT_EQ(a.status().code(), StatusCode::kInvalidArgument) << j.dump();
    return a.status().message();
  };
  EXPECT_NE(error({{"type", "regex"}, {"value", "(a"}}).find("'assertions[0].value' is not a valid"), std::string::npos);
  EXPECT_NE(error({{"type", "regex"}, {"value", std::string(2000, 'a')}}).find("1024"), std::string::npos);
  EXPECT_NE(error({{"type", "contains"}, {"value", 3}}).find("must be a string"), std::string::npos);
  EXPECT_NE(error({{"type", "contains"}, {"value", "\xff"}}).find("UTF-8"), std::string::npos);
  EXPECT_NE(error({{"type", "contains"}, {"value", "a"}, {"tool", "x"}}).find("'assertions[0].tool'"),
            std::string::npos);
  EXPECT_NE(error({{"type", "no-pii"}, {"target", "memory"}}).find("output or tool-args"), std::string::npos);
  EXPECT_NE(error({{"type", "max-tool-calls"}, {"value", -1}}).find("0..10000"), std::string::npos);
  EXPECT_NE(error({{"type", "tool-sequence"}, {"value", Json::array()}}).find("1 to 64"), std::string::npos);
  EXPECT_NE(error({{"type", "tool-args-match"}, {"tool", "t"}, {"args", "x"}}).find("'assertions[0].args'"),
            std::string::npos);
  Json deep = {{"type", "object"}};
  for (int i = 0; i < 20; ++i) deep = {{"type", "array"}, {"items", deep}};
  EXPECT_NE(error({{"type", "json-schema"}, {"value", deep}}).find("nests deeper"), std::string::npos);
  EXPECT_EQ(AssertionsFromJson(Json::array(), "assertions").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckRepeat(3, 4).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckRepeat(21, 1).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckRepeat(5, 3).ok());
}

TEST(Answers, MalformedAnswersAreRefused) {
  EXPECT_FALSE(AnswerFromJson(Json::array()).ok());
  EXPECT_FALSE(AnswerFromJson({{"output", 1}}).ok());
  EXPECT_FALSE(AnswerFromJson({{"output", "\xc3"}}).ok());
  EXPECT_FALSE(AnswerFromJson({{"tool_calls", {{{"args", {}}}}}}).ok());
  Json many = {{"tool_calls", Json::array()}};
  for (size_t i = 0; i <= kMaxAnswerToolCalls; ++i) many["tool_calls"].push_back({{"tool", "t"}});
  EXPECT_NE(AnswerFromJson(many).status().message().find("more than 1000"), std::string::npos);
  auto ok = AnswerFromJson({{"output", "x"}, {"tool_calls", {{{"tool", "t"}, {"args", R"({"a":1})"}}}}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->tool_calls[0].args, Json({{"a", 1}}));
}

TEST(Replay, MocksAreConsumedInOrderAndAMismatchIsReportedApart) {
  std::vector<ToolMock> mocks = {{"lookup", {{"id", 1}}, "first"},
                                 {"lookup", {{"id", 1}}, "second"},
                                 {"lookup", {{"id", 2}}, "third"},
                                 {"notify", "hello", nullptr}};
  auto all = Replay(mocks, {{"lookup", {{"id", 1}}}, {"lookup", R"({"id": 1})"}, {"lookup", {{"id", 2}}},
                            {"notify", "hello"}});
  EXPECT_EQ(all.served, 4);
  EXPECT_EQ(all.unconsumed, 0);
  EXPECT_EQ(all.live, 0);

  auto r = Replay(mocks, {{"lookup", {{"id", 1}}}, {"lookup", {{"id", 3}}}, {"refund", {{"amount", 5}}}});
  EXPECT_EQ(r.served, 1);
  EXPECT_EQ(r.unconsumed, 3);
  EXPECT_EQ(r.live, 2);
  ASSERT_EQ(r.mismatches.size(), 2u);
  EXPECT_EQ(r.mismatches[0].tool, "lookup");
  EXPECT_EQ(r.mismatches[0].expected, R"(arguments {"id":1} or {"id":2})");
  EXPECT_EQ(r.mismatches[1].expected, "no recorded call of refund");

  auto again = Replay({{"lookup", {{"id", 1}}, "x"}}, {{"lookup", {{"id", 1}}}, {"lookup", {{"id", 1}}}});
  EXPECT_EQ(again.live, 1);
  EXPECT_EQ(again.mismatches[0].expected, "every recorded call of lookup (1) was already replayed");
}

TEST(Cases, DefaultAssertionsFollowTheSignals) {
  SignalRecord pii;
  pii.kind = "pii";
  SignalRecord pii_email;
  pii_email.kind = "pii.email";
  SignalRecord action;
  action.kind = "action.unauthorised";
  action.measured_json = R"j({"calls":["refund (payment, needs approval, none given)"],"tools":["refund"]})j";
  SignalRecord quality;
  quality.kind = "quality.degraded";
  auto a = DefaultAssertions({pii, pii_email, action, quality});
  Json got = Json::array();
  for (const auto& x : a) got.push_back(AssertionToJson(x));
  EXPECT_EQ(got, Json::parse(R"([{"type":"no-pii","target":"output"},
                                 {"type":"no-pii","target":"tool-args"},
                                 {"type":"tool-not-called","tool":"refund"}])"));
}

TEST(Cases, ACaseFromATraceKeepsItsReplayData) {
  traces::TraceContent t;
  t.input = "where is A-1?";
  t.user_id = "u-1";
  t.session_id = "s-1";
  t.retrieved = {{"kb/1", "policy"}};
  t.tool_calls = {{"lookup", "c1", R"({"id":"A-1"})", R"({"status":"shipped"})", "", ""},
                  {"refund", "c2", "not json", "", "declined", ""}};
  traces::TraceContent earlier;
  earlier.input = "hi";
  earlier.output = "hello";
  CaseSpec spec = SpecFromTrace(t, {earlier});
  Json j = SpecToJson(spec);
  EXPECT_EQ(j["tool_mocks"], Json::parse(R"([{"tool":"lookup","args":{"id":"A-1"},"output":{"status":"shipped"}},
                                             {"tool":"refund","args":"not json","output":{"error":"declined"}}])"));
  EXPECT_EQ(j["context"]["history"], Json::parse(R"([{"input":"hi","output":"hello"}])"));
  EXPECT_EQ(j["context"]["user_id"], "u-1");
  auto back = SpecFromJson(j);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(SpecToJson(*back), j);
}

TEST(Runner, ACasePassesWhenEnoughAttemptsPass) {
  CaseSpec spec;
  spec.assertions = {A({{"type", "contains"}, {"value", "ok"}})};
  spec.repeat = 3;
  spec.pass_at_least = 2;
  JudgeContext ctx;
  auto judge = [&](int n, StatusOr<Json> answer) {
    RawAttempt raw;
    raw.answer = std::move(answer);
    return JudgeAttempt(spec, n, raw, ctx);
  };
  auto pass = [&](int n) { return judge(n, Json{{"output", "ok"}}); };
  auto fail = [&](int n) { return judge(n, Json{{"output", "no"}}); };
  auto err = [&](int n) { return judge(n, Unavailable("timeout")); };
  EXPECT_EQ(DecideCase(spec, {pass(1), fail(2), pass(3)}).status, "passed");
  EXPECT_EQ(DecideCase(spec, {pass(1), fail(2), pass(3)}).summary, "2/3 attempts passed (2 needed)");
  auto failed = DecideCase(spec, {pass(1), fail(2), err(3)});
  EXPECT_EQ(failed.status, "failed");
  EXPECT_EQ(failed.summary, "1/3 attempts passed (2 needed); contains: expected the output contains 'ok'; output 'no'");
  EXPECT_EQ(DecideCase(spec, {pass(1), err(2), err(3)}).status, "errored");
  // A call no mock answers fails the attempt even when every assertion holds.
  auto live = judge(1, Json{{"output", "ok"}, {"tool_calls", {{{"tool", "refund"}}}}});
  EXPECT_EQ(live.status, "failed");
  EXPECT_EQ(live.replay.live, 1);
}

TEST(Reports, JUnitEscapesAndCountsMissingCases) {
  Json run = Json::parse(R"({"id":7,"agent":"bot","version":"v2","status":"failed","executed_by":"cli",
    "started_at":"2026-01-01T00:00:00.000Z","cases":[1,2,3],
    "progress":{"total":3,"done":2,"passed":1,"failed":1,"errored":0},
    "results":[
      {"case":1,"name":"ok <fine>","status":"passed","summary":"1/1","attempts":[{"attempt":1,"duration_ms":1500}]},
      {"case":2,"name":"leak & more","status":"failed","summary":"no-pii: \"x\"\u0001",
       "attempts":[{"attempt":1,"duration_ms":20,
         "assertions":[{"type":"no-pii","passed":false,"expected":"none","seen":"email"}],
         "replay":{"served":0,"unconsumed":1,"live":0,"mismatches":[]}}]}]})");
  std::string x = JUnitXml(run);
  EXPECT_NE(x.find(R"(<testsuite name="bot v2" tests="3" failures="1" errors="1" time="1.520")"),
            std::string::npos) << x;
  EXPECT_NE(x.find(R"(name="#1 ok &lt;fine&gt;" time="1.500"/>)"), std::string::npos) << x;
  EXPECT_NE(x.find(R"(<failure message="no-pii: &quot;x&quot;" type="assertion">attempt 1: no-pii: expected none; seen email)"),
            std::string::npos) << x;
  EXPECT_NE(x.find(R"(name="#3" time="0.000">)"), std::string::npos) << x;
}

}  // namespace
}  // namespace firebreak::regress
