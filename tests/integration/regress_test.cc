// The regression battery as CI meets it: the real binary on 127.0.0.1, a leaking trace that
// opens an incident, the trace made a case through the CLI, `firebreak regress run` against a
// committed exec agent (tests/integration/regress/agent.sh) with its exit codes and JUnit file,
// then the promotion and close gates over HTTP.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "support/server_process.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

// The manifest of a support-bot version whose regression provider runs the committed agent.
Json Manifest(const std::string& version) {
  return {{"model", "gpt-4o"},
          {"prompt_hash", "sha256:" + version},
          {"tools", {{{"name", "lookup_order"}, {"effect_class", "read-only"}}}},
          {"regression",
           {{"provider", "exec"}, {"command", {REGRESS_AGENT, version}}, {"timeout_ms", 10000}}}};
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RegressIntegration : public ::testing::Test {
 protected:
  explicit RegressIntegration(std::vector<std::string> flags = {})
      : server_(std::move(flags)) {}

  void SetUp() override {
    for (const char* v : {"v2", "v3", "v3b", "slow"}) {
      auto r = server_.Call("POST", "/api/v1/agents/support-bot/versions",
                            Json{{"version", v}, {"manifest", Manifest(v)}}.dump());
      ASSERT_EQ(r.status, 201) << r.body;
    }
    ASSERT_EQ(server_.Call("POST", "/api/v1/agents/support-bot/deploy", R"({"version":"v2"})").status, 200);
  }

  // Ingests v2's leaking run (the detectors open a SEV-1 incident on it) and returns its hash.
  std::string IngestLeak() {
    std::string agent_token = server_.CreateToken("bot", "agent", "support-bot");
    Json trace = {{"trace_id", "leak-1"},
                  {"agent", "support-bot"},
                  {"version", "v2"},
                  {"user_id", "u-42"},
                  {"session_id", "s-7"},
                  {"input", "where is my order A-1001?"},
                  {"retrieved", {{{"source", "kb/returns"}, {"content", "Returns within 30 days."}}}},
                  {"tool_calls",
                   {{{"name", "lookup_order"},
                     {"arguments", R"({"order_id":"A-1001"})"},
                     {"result", R"({"status":"shipped"})"}}}},
                  {"output", "Your order A-1001 is shipped. Questions? Write to jane.doe@example.com."}};
    auto r = server_.Call("POST", "/api/v1/traces", Json{{"traces", {trace}}}.dump(), &agent_token);
    EXPECT_EQ(r.status, 201) << r.body;
    return Json::parse(r.body)["hashes"][0];
  }

  // `firebreak regress run` here, through the manifest's provider of `version`.
  CommandResult Run(const std::string& version, const std::string& junit,
                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"regress", "run", "--agent", "support-bot", "--version",
                                     version, "--junit", junit};
    args.insert(args.end(), extra.begin(), extra.end());
    return server_.Cli(args);
  }

  std::string Path(const std::string& name) const { return server_.data_dir() + "/" + name; }

  ServerProcess server_;
};

TEST_F(RegressIntegration, ALeakBecomesACaseThatGatesPromotionAndClose) {
  std::string hash = IngestLeak();
  auto incidents = Json::parse(server_.Call("GET", "/api/v1/incidents").body)["incidents"];
  ASSERT_EQ(incidents.size(), 1u);
  ASSERT_EQ(incidents[0]["severity"], "SEV-1");

  // The trace becomes a case: default assertions from the pii signal, the tool call a mock.
  CommandResult add = server_.Cli(
      {"--json", "regress", "add", "--trace", hash.substr(0, 12), "--incident", "INC-1"});
  ASSERT_EQ(add.exit_code, 0) << add.err;
  Json c = Json::parse(add.out);
  EXPECT_EQ(c["agent"], "support-bot");
  EXPECT_EQ(c["incident"], "INC-1");
  EXPECT_EQ(c["source"]["trace"], hash);
  EXPECT_EQ(c["input"], "where is my order A-1001?");
  EXPECT_EQ(c["context"]["session_id"], "s-7");
  EXPECT_EQ(c["retrieved"][0]["content"], "Returns within 30 days.");
  EXPECT_EQ(c["assertions"], Json::parse(R"([{"type":"no-pii","target":"output"},
                                              {"type":"no-pii","target":"tool-args"}])"));
  EXPECT_EQ(c["tool_mocks"], Json::parse(R"([{"tool":"lookup_order","args":{"order_id":"A-1001"},
                                              "output":{"status":"shipped"}}])"));
  EXPECT_TRUE(c["required"].get<bool>());

  // The incident is resolved, but it has no passing case yet: closing is refused.
  ASSERT_EQ(server_.Call("POST", "/api/v1/incidents/INC-1/resolve", R"({"reason":"rolled out"})").status, 200);
  auto refused_close = server_.Call("POST", "/api/v1/incidents/INC-1/close", R"({"reason":"done"})");
  EXPECT_EQ(refused_close.status, 409) << refused_close.body;
  EXPECT_NE(refused_close.body.find("stable version"), std::string::npos) << refused_close.body;

  // v2 fails, naming the personal data; exit 100 and a JUnit file.
  CommandResult v2 = Run("v2", Path("v2.xml"));
  EXPECT_EQ(v2.exit_code, 100) << v2.out << v2.err;
  EXPECT_NE(v2.out.find("FAIL  #1"), std::string::npos) << v2.out;
  EXPECT_NE(v2.out.find("email j***@example.com in the output"), std::string::npos) << v2.out;
  std::string junit = ReadAll(Path("v2.xml"));
  EXPECT_NE(junit.find("<testsuite name=\"support-bot v2\" tests=\"1\" failures=\"1\" errors=\"0\""),
            std::string::npos) << junit;
  EXPECT_NE(junit.find("<failure message=\"no-pii: expected no personal data in the output; found email "
                       "j***@example.com in the output\" type=\"assertion\">"),
            std::string::npos) << junit;
  EXPECT_EQ(junit.find("jane.doe@example.com"), std::string::npos) << "no raw personal data in reports";

  // Promoting v2 is refused, naming the failing case.
  auto refused = server_.Call("POST", "/api/v1/agents/support-bot/versions/v2/promote", "{}");
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_NE(refused.body.find("failing: #1 'INC-1: "), std::string::npos) << refused.body;

  // v3 passes: exit 0.
  CommandResult v3 = Run("v3", Path("v3.xml"), {"--json", Path("v3.json")});
  EXPECT_EQ(v3.exit_code, 0) << v3.out << v3.err;
  EXPECT_NE(v3.out.find("PASS  #1"), std::string::npos) << v3.out;
  EXPECT_NE(ReadAll(Path("v3.xml")).find("failures=\"0\" errors=\"0\""), std::string::npos);
  Json v3run = Json::parse(ReadAll(Path("v3.json")));
  EXPECT_EQ(v3run["status"], "passed");
  EXPECT_EQ(v3run["executed_by"], "cli");
  Json replay = v3run["results"][0]["attempts"][0]["replay"];
  EXPECT_EQ(replay["served"], 1);
  EXPECT_EQ(replay["unconsumed"], 0);
  EXPECT_EQ(replay["live"], 0);

  // Still refused: the case passed on v3, but v3 is not the stable version yet.
  auto not_yet = server_.Call("POST", "/api/v1/incidents/INC-1/close", R"({"reason":"done"})");
  EXPECT_EQ(not_yet.status, 409) << not_yet.body;

  // v3b calls the tool with other arguments: a replay mismatch, apart from assertions.
  CommandResult v3b = Run("v3b", Path("v3b.xml"));
  EXPECT_EQ(v3b.exit_code, 100) << v3b.out << v3b.err;
  EXPECT_NE(v3b.out.find("replay-mismatch: lookup_order called with {\"order_id\":\"A-1002\"}"),
            std::string::npos) << v3b.out;
  EXPECT_NE(ReadAll(Path("v3b.xml")).find("type=\"replay-mismatch\""), std::string::npos);

  // v3 promotes (its latest whole-battery run passed): the case no longer holds the close,
  // the post-mortem still does; once it is published, the incident closes.
  auto promoted = server_.Call("POST", "/api/v1/agents/support-bot/versions/v3/promote", "{}");
  EXPECT_EQ(promoted.status, 200) << promoted.body;
  auto no_postmortem = server_.Call("POST", "/api/v1/incidents/INC-1/close", R"({"reason":"done"})");
  EXPECT_EQ(no_postmortem.status, 409) << no_postmortem.body;
  EXPECT_NE(no_postmortem.body.find("no post-mortem"), std::string::npos) << no_postmortem.body;
  EXPECT_EQ(no_postmortem.body.find("stable version"), std::string::npos) << no_postmortem.body;
  ASSERT_EQ(server_.Cli({"postmortem", "generate", "INC-1"}).exit_code, 0);
  CommandResult edited = server_.Cli(
      {"postmortem", "edit", "INC-1", "--set",
       "failure_mode=Replies gave out a support address that belongs to a customer.", "--set",
       "root_cause=The v2 prompt told the model to sign with the last contact it saw.", "--set",
       "follow_up=2026-12-24"});
  ASSERT_EQ(edited.exit_code, 0) << edited.out << edited.err;
  ASSERT_EQ(server_.Cli({"postmortem", "review", "INC-1"}).exit_code, 0);
  CommandResult published = server_.Cli({"postmortem", "publish", "INC-1"});
  ASSERT_EQ(published.exit_code, 0) << published.out << published.err;
  auto closed = server_.Call("POST", "/api/v1/incidents/INC-1/close", R"({"reason":"v3 is a test now"})");
  EXPECT_EQ(closed.status, 200) << closed.body;
  EXPECT_EQ(Json::parse(closed.body)["state"], "closed");

  // Rollback stays ungated: to a version that never passed a run.
  auto rollback = server_.Call("POST", "/api/v1/agents/support-bot/rollback",
                               R"({"to":"slow","reason":"isolation never waits for tests"})");
  EXPECT_EQ(rollback.status, 200) << rollback.body;
}

TEST_F(RegressIntegration, SkippingTheGateNeedsAnAdminAndAReasonAndIsAudited) {
  std::string hash = IngestLeak();
  ASSERT_EQ(server_.Cli({"regress", "add", "--trace", hash, "--incident", "INC-1"}).exit_code, 0);
  ASSERT_EQ(Run("v2", Path("v2.xml")).exit_code, 100);
  std::string responder = server_.CreateToken("rita", "responder");
  auto by_responder = server_.Call("POST", "/api/v1/agents/support-bot/versions/v2/promote",
                                   R"({"skip_gate":true,"reason":"hotfix"})", &responder);
  EXPECT_EQ(by_responder.status, 403) << by_responder.body;
  auto no_reason = server_.Call("POST", "/api/v1/agents/support-bot/versions/v2/promote",
                                R"({"skip_gate":true})");
  EXPECT_EQ(no_reason.status, 400) << no_reason.body;
  CommandResult skipped = server_.Cli({"--json", "agent", "promote", "support-bot", "v2",
                                       "--skip-gate", "--reason", "legal asked for v2 today"});
  ASSERT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_NE(Json::parse(skipped.out)["gate_skipped"].get<std::string>().find("failing: #1"),
            std::string::npos) << skipped.out;
  // The audit log has who skipped it, why, and what the gate said.
  auto versions = Json::parse(server_.Call("GET", "/api/v1/agents/support-bot/versions").body);
  EXPECT_EQ(versions["stable_version"], "v2");
  CommandResult verify = server_.Cli({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST_F(RegressIntegration, BadInputIsRefusedAndChangesNothing) {
  std::string hash = IngestLeak();
  struct Case {
    std::string body;
    int status;
    std::string says;
  };
  for (const auto& k : std::vector<Case>{
           {R"({})", 400, "'from_trace' is required"},
           {R"({"from_trace":"zzzz"})", 400, "hex"},
           {R"({"from_trace":"00000000"})", 404, "no trace"},
           {Json{{"from_trace", hash}}.dump(), 400, "a case needs assertions"},
           {Json{{"from_trace", hash}, {"incident", "INC-99"}}.dump(), 404, "INC-99"},
           {Json{{"from_trace", hash}, {"assertions", {{{"type", "regex"}, {"value", "("}}}}}.dump(), 400,
            "regular expression"},
           {Json{{"from_trace", hash}, {"assertions", {{{"type", "telepathy"}}}}}.dump(), 400,
            "must be one of"},
           {Json{{"from_trace", hash}, {"assertions", {{{"type", "json-schema"}, {"value", {{"$ref", "#"}}}}}}}.dump(),
            400, "not supported"},
           {Json{{"from_trace", hash}, {"incident", "INC-1"}, {"repeat", 3}, {"pass_at_least", 4}}.dump(), 400,
            "pass_at_least"},
           {Json{{"from_trace", hash}, {"incident", "INC-1"}, {"name", std::string(201, 'n')}}.dump(), 400,
            "'name'"},
       }) {
    auto r = server_.Call("POST", "/api/v1/regressions", k.body);
    EXPECT_EQ(r.status, k.status) << k.body << " -> " << r.body;
    EXPECT_NE(r.body.find(k.says), std::string::npos) << k.body << " -> " << r.body;
  }
  EXPECT_EQ(Json::parse(server_.Call("GET", "/api/v1/regressions").body)["cases"].size(), 0u);

  // A run needs a known version, a case, and a provider the server may run.
  ASSERT_EQ(server_.Cli({"regress", "add", "--trace", hash, "--incident", "INC-1"}).exit_code, 0);
  auto unknown = server_.Call("POST", "/api/v1/regressions/runs", R"({"agent":"support-bot","version":"v9"})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto exec = server_.Call("POST", "/api/v1/regressions/runs", R"({"agent":"support-bot","version":"v3"})");
  EXPECT_EQ(exec.status, 409) << exec.body;
  EXPECT_NE(exec.body.find("does not run exec providers"), std::string::npos) << exec.body;
  auto parallel = server_.Call("POST", "/api/v1/regressions/runs",
                               R"({"agent":"support-bot","version":"v3","report":true,"parallel":65})");
  EXPECT_EQ(parallel.status, 400) << parallel.body;
  EXPECT_EQ(Json::parse(server_.Call("GET", "/api/v1/regressions/runs").body)["runs"].size(), 0u);

  // A reported result must belong to the run and come from its starter, once.
  auto run = server_.Call("POST", "/api/v1/regressions/runs",
                          R"({"agent":"support-bot","version":"v3","report":true})");
  ASSERT_EQ(run.status, 202) << run.body;
  std::string results = "/api/v1/regressions/runs/" + std::to_string(Json::parse(run.body)["id"].get<int>()) + "/results";
  std::string other = server_.CreateToken("other", "responder");
  std::string answer = R"({"case":1,"attempts":[{"answer":{"output":"fine","tool_calls":[{"tool":"lookup_order","args":{"order_id":"A-1001"}}]}}]})";
  EXPECT_EQ(server_.Call("POST", results, answer, &other).status, 409);
  EXPECT_EQ(server_.Call("POST", results, R"({"case":1,"attempts":[{}]})").status, 400);
  EXPECT_EQ(server_.Call("POST", results, R"({"case":1,"attempts":[{"answer":{"output":1}}]})").status, 201)
      << "a malformed answer is the case's error, judged by the server";
  EXPECT_EQ(server_.Call("POST", results, answer).status, 409) << "one result per case and run";
  auto finished = Json::parse(server_.Call("GET", results.substr(0, results.size() - 8)).body);
  EXPECT_EQ(finished["status"], "errored");
  EXPECT_NE(finished["results"][0]["summary"].get<std::string>().find("'output' must be a string"),
            std::string::npos) << finished.dump();
}

TEST_F(RegressIntegration, ExportWritesPromptfooYaml) {
  std::string hash = IngestLeak();
  std::string assertions = Path("assertions.json");
  std::ofstream(assertions) << R"([{"type":"icontains","value":"SHIPPED"},
                                   {"type":"tool-called","tool":"lookup_order"}])";
  ASSERT_EQ(server_.Cli({"regress", "add", "--trace", hash, "--name", "status reply",
                         "--assertions", assertions}).exit_code, 0);
  CommandResult yaml = server_.Cli({"regress", "export", "--agent", "support-bot", "--format",
                                    "promptfoo", "--version", "v3"});
  ASSERT_EQ(yaml.exit_code, 0) << yaml.err;
  EXPECT_NE(yaml.out.find("prompts:\n  - \"{{input}}\"\n"), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("providers:\n  - id: \"exec: " + std::string(REGRESS_AGENT) + " v3\"\n"),
            std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("  - description: \"#1 status reply\"\n"), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("      input: \"where is my order A-1001?\"\n"), std::string::npos) << yaml.out;
  EXPECT_NE(yaml.out.find("      - type: \"icontains\"\n        value: \"SHIPPED\"\n"), std::string::npos)
      << yaml.out;
  EXPECT_NE(yaml.out.find(R"(firebreak_assertions: [{"tool":"lookup_order","type":"tool-called"}])"),
            std::string::npos) << yaml.out;
}

class RegressOnServer : public RegressIntegration {
 protected:
  RegressOnServer() : RegressIntegration({"--regress-exec", "on"}) {}
};

TEST_F(RegressOnServer, AServerRunAnswersAtOnceAndShowsProgress) {
  std::string hash = IngestLeak();
  ASSERT_EQ(server_.Cli({"regress", "add", "--trace", hash, "--incident", "INC-1"}).exit_code, 0);
  auto started = server_.Call("POST", "/api/v1/regressions/runs",
                              R"({"agent":"support-bot","version":"v2"})");
  ASSERT_EQ(started.status, 202) << started.body;
  Json run = Json::parse(started.body);
  EXPECT_EQ(run["executed_by"], "server");
  EXPECT_EQ(run["provider"]["provider"], "exec");
  std::string path = "/api/v1/regressions/runs/" + std::to_string(run["id"].get<int>());
  for (int i = 0; i < 200 && run["status"] == "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    run = Json::parse(server_.Call("GET", path).body);
  }
  EXPECT_EQ(run["status"], "failed") << run.dump();
  EXPECT_EQ(run["progress"]["done"], 1);
  EXPECT_EQ(run["results"][0]["attempts"][0]["assertions"][0]["passed"], false);

  // The CLI follows a server run the same way, with the same exit codes.
  CommandResult v3 = server_.Cli({"regress", "run", "--server", "--agent", "support-bot",
                                  "--version", "v3", "--junit", Path("v3.xml")});
  EXPECT_EQ(v3.exit_code, 0) << v3.out << v3.err;
  EXPECT_NE(ReadAll(Path("v3.xml")).find("<testcase classname=\"support-bot.v3\" name=\"#1 INC-1: "),
            std::string::npos);

  // A provider that does not answer in time is the case's error, not the harness's.
  auto slow = server_.Call("POST", "/api/v1/regressions/runs",
                           R"({"agent":"support-bot","version":"slow","provider":{"provider":"exec",)"
                           R"("command":[")" + std::string(REGRESS_AGENT) + R"(","slow"],"timeout_ms":300}})");
  ASSERT_EQ(slow.status, 202) << slow.body;
  run = Json::parse(slow.body);
  path = "/api/v1/regressions/runs/" + std::to_string(run["id"].get<int>());
  for (int i = 0; i < 200 && run["status"] == "running"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    run = Json::parse(server_.Call("GET", path).body);
  }
  EXPECT_EQ(run["status"], "errored") << run.dump();
  EXPECT_NE(run["results"][0]["summary"].get<std::string>().find("did not answer within 300 ms"),
            std::string::npos) << run.dump();
}

}  // namespace
}  // namespace firebreak::testing
