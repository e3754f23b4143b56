// The isolation playbook as a responder meets it (issue 12): the real binary, its CLI, an agent
// holding its runtime stream, memory with a derivation chain, traces in and out of the window.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "common/clock.h"
#include "support/server_process.h"
#include "support/stream_client.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

constexpr char kManifestV1[] =
    R"({"label":"baseline","model":"gpt-4o","prompt_hash":"sha256:1111","tools":[{"name":"lookup","effect_class":"read-only"}]})";
constexpr char kManifestV2[] =
    R"({"label":"new prompt","model":"gpt-4o","prompt_hash":"sha256:2222","tools":[{"name":"lookup","effect_class":"read-only"}]})";

class Isolation : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ = server_.CreateToken("bot-runtime", "agent", "support-bot");
    for (const auto& [version, manifest] :
         {std::pair{"v1", kManifestV1}, std::pair{"v2", kManifestV2}}) {
      std::string path = server_.data_dir() + "/" + version + ".json";
      std::ofstream(path) << manifest;
      CommandResult r = server_.Cli(
          {"agent", "register", "support-bot", "--version", version, "--manifest", path});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    ASSERT_EQ(server_.Cli({"agent", "deploy", "support-bot", "v1"}).exit_code, 0);
    ASSERT_EQ(server_.Cli({"agent", "promote", "support-bot", "v1"}).exit_code, 0);
    ASSERT_EQ(server_.Cli({"agent", "deploy", "support-bot", "v2"}).exit_code, 0);
    HttpResult versions = server_.Call("GET", "/api/v1/agents/support-bot/versions");
    ASSERT_EQ(versions.status, 200);
    v2_at_ = *ParseTime(versions.json["history"][0]["at"].get<std::string>());
  }

  int64_t WriteMemory(const Json& body) {
    HttpResult r = server_.Call("POST", "/api/v1/memory/support-bot/records", body.dump(), &agent_);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json["records"][0]["id"].get<int64_t>();
  }

  std::set<int64_t> Visible() {
    HttpResult r = server_.Call("POST", "/api/v1/memory/support-bot/search",
                                Json{{"text", "memory"}, {"k", 100}}.dump(), &agent_);
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<int64_t> ids;
    for (const auto& hit : r.json["results"]) ids.insert(hit["id"].get<int64_t>());
    return ids;
  }

  // Ingests one native trace of the agent started at `at`; returns its hash.
  std::string Trace(const std::string& id, TimeMs at) {
    Json body = {{"traces",
                  {{{"trace_id", id},
                    {"agent", "support-bot"},
                    {"version", "v2"},
                    {"input", "where is my parcel " + id},
                    {"output", "it is on its way " + id},
                    {"started_at", FormatTime(at)},
                    {"ended_at", FormatTime(at + 1)}}}}};
    HttpResult r = server_.Call("POST", "/api/v1/traces", body.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json["hashes"][0].get<std::string>();
  }

  std::string FlagOf(const std::string& hash) {
    Json flag = server_.Call("GET", "/api/v1/traces/" + hash).json["flag"];
    return flag.is_string() ? flag.get<std::string>() : "";
  }

  Json Isolate(const std::vector<std::string>& extra, int want_exit = 0) {
    std::vector<std::string> args = {"--json", "incident", "isolate", "INC-1"};
    args.insert(args.end(), extra.begin(), extra.end());
    CommandResult r = server_.Cli(args);
    EXPECT_EQ(r.exit_code, want_exit) << r.out << r.err;
    return Json::parse(r.out, nullptr, false);
  }

  static const Json& Step(const Json& report, const std::string& name) {
    for (const auto& s : report["steps"]) {
      if (s["step"] == name) return s;
    }
    static const Json kNone;
    return kNone;
  }

  // The incident's timeline without the pager's events: its thread pages a classified incident
  // on its own schedule, so they are not part of what a request wrote.
  Json Timeline() {
    Json out = Json::array();
    HttpResult all = server_.Call("GET", "/api/v1/incidents/INC-1/timeline");
    for (const auto& e : all.json["events"]) {
      if (e["actor"] != "pager") out.push_back(e);
    }
    return out;
  }

  ServerProcess server_;
  std::string agent_;
  TimeMs v2_at_ = 0;
};

TEST_F(Isolation, PlaybookRollsBackQuarantinesFlagsAndContains) {
  // Memory written while v2 was current: a poisoned record, one derived from it, one unrelated.
  int64_t poisoned = WriteMemory({{"records", {{{"text", "memory poisoned refund rule"}}}}});
  int64_t derived = WriteMemory(
      {{"records", {{{"text", "memory derived rule"}, {"derived_from", {poisoned}}}}}});
  int64_t other = WriteMemory({{"records", {{{"text", "memory other note"}}}}});
  // Traces: one long before v2, three while v2 was current, one of them the evidence.
  std::string old_trace = Trace("t-old", v2_at_ - 3'600'000);
  std::string w1 = Trace("t-w1", v2_at_ + 1);
  std::string w2 = Trace("t-w2", v2_at_ + 2);
  std::string evidence = Trace("t-ev", v2_at_ + 3);
  ASSERT_EQ(server_.Call("POST", "/api/v1/incidents",
                         Json{{"title", "Refunds without approval"},
                              {"agent", "support-bot"},
                              {"severity", "SEV-1"},
                              {"reason", "refunds issued without approval"}}
                             .dump())
                .status,
            201);
  CommandResult flagged = server_.Cli({"trace", "flag", "suspect", "--hash", evidence, "--reason",
                                       "the refund in question", "--incident", "INC-1"});
  ASSERT_EQ(flagged.exit_code, 0) << flagged.err;

  StreamClient stream(server_.port());
  ASSERT_TRUE(stream.connected());
  stream.Get("/api/v1/agents/support-bot/runtime/stream", agent_);
  ASSERT_TRUE(stream.ReadUntil("id: 3\n")) << stream.received();

  // A dry run shows every step with its counts and writes nothing.
  size_t events_before = Timeline().size();
  Json dry = Isolate({"--dry-run"});
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(Step(dry, "rollback")["outcome"], "would");
  EXPECT_EQ(Step(dry, "rollback")["counts"]["to"], "v1");
  EXPECT_EQ(Step(dry, "memory")["outcome"], "would");
  EXPECT_EQ(Step(dry, "memory")["counts"]["direct"], 3);
  EXPECT_EQ(Step(dry, "traces")["counts"]["suspect"], 2);
  EXPECT_EQ(Step(dry, "traces")["counts"]["toxic"], 1);
  EXPECT_EQ(Step(dry, "banner")["outcome"], "would");
  EXPECT_EQ(server_.Call("GET", "/api/v1/status").json["notices"].size(), 0u);
  EXPECT_EQ(Timeline().size(), events_before);
  EXPECT_EQ(server_.Call("GET", "/api/v1/agents/support-bot/runtime").json["version"], "v2");
  EXPECT_EQ(Visible(), (std::set<int64_t>{poisoned, derived, other}));
  EXPECT_EQ(FlagOf(w1), "");
  EXPECT_EQ(server_.Call("GET", "/api/v1/incidents/INC-1").json["state"], "triaged");

  // The rollback alone: the held stream receives v1 at once; not contained yet.
  Json rolled = Isolate({"--steps", "rollback"});
  EXPECT_EQ(Step(rolled, "rollback")["outcome"], "done");
  EXPECT_EQ(Step(rolled, "rollback")["counts"]["listeners"], 1);
  EXPECT_EQ(Step(rolled, "memory")["outcome"], "skipped");
  ASSERT_TRUE(stream.ReadUntil("id: 4\n")) << stream.received();
  ASSERT_TRUE(stream.ReadUntil("}\n\n"));
  EXPECT_NE(stream.received().find("\"version\":\"v1\""), std::string::npos) << stream.received();
  EXPECT_EQ(server_.Call("GET", "/api/v1/incidents/INC-1").json["state"], "triaged");

  // v1 writes a record derived from the window's memory after the rollback: taint takes it.
  int64_t late = WriteMemory(
      {{"records", {{{"text", "memory late copy"}, {"derived_from", {derived}}}}}});

  Json done = Isolate({});
  EXPECT_EQ(done["failed"], false);
  EXPECT_EQ(Step(done, "rollback")["outcome"], "already");
  EXPECT_EQ(Step(done, "memory")["outcome"], "done") << done.dump();
  EXPECT_EQ(Step(done, "memory")["counts"]["direct"], 3);
  EXPECT_EQ(Step(done, "memory")["counts"]["tainted"], 1);
  EXPECT_EQ(Step(done, "traces")["outcome"], "done");
  EXPECT_EQ(Step(done, "traces")["counts"]["suspect"], 2);
  EXPECT_EQ(Step(done, "traces")["counts"]["toxic"], 1);
  EXPECT_EQ(Step(done, "banner")["outcome"], "done");
  EXPECT_NE(Step(done, "banner")["summary"].get<std::string>().find("banner raised"), std::string::npos);
  // The public banner is up, with its next update, for anyone (no token).
  HttpResult status = HttpCall(server_.port(), "GET", "/api/v1/status", "", "");
  ASSERT_EQ(status.json["notices"].size(), 1u) << status.body;
  EXPECT_EQ(status.json["notices"][0]["incident"], "INC-1");
  EXPECT_FALSE(status.json["notices"][0]["next_update_at"].is_null());
  EXPECT_EQ(status.json["notices"][0]["overdue"], false);
  EXPECT_EQ(done["isolated_now"], true);
  EXPECT_NE(done["window"]["source"].get<std::string>().find("v2 became current"),
            std::string::npos);

  // Quarantined memory is out of search; new memory is not.
  int64_t fresh = WriteMemory({{"records", {{{"text", "memory fresh note"}}}}});
  EXPECT_EQ(Visible(), (std::set<int64_t>{fresh}));
  (void)late;
  EXPECT_EQ(FlagOf(w1), "suspect");
  EXPECT_EQ(FlagOf(w2), "suspect");
  EXPECT_EQ(FlagOf(evidence), "toxic");
  EXPECT_EQ(FlagOf(old_trace), "");

  // The incident is isolated with its time to contain; the timeline lists each step.
  Json inc = server_.Call("GET", "/api/v1/incidents/INC-1").json;
  EXPECT_EQ(inc["state"], "isolated");
  ASSERT_TRUE(inc["time_to_contain_ms"].is_number_integer()) << inc.dump();
  EXPECT_GE(inc["time_to_contain_ms"].get<int64_t>(), 0);
  EXPECT_FALSE(inc["contained_at"].is_null());
  std::map<std::string, Json> by_kind;
  for (const auto& e : Timeline()) by_kind[e["kind"]] = e;
  for (const char* kind : {"isolation.rollback", "isolation.memory", "isolation.traces",
                           "isolation.banner", "incident.isolated", "agent.rolled_back",
                           "memory.quarantined", "traces.flagged"}) {
    ASSERT_TRUE(by_kind.count(kind)) << kind;
    EXPECT_FALSE(by_kind[kind]["at"].get<std::string>().empty());
  }
  EXPECT_EQ(by_kind["isolation.memory"]["details"]["tainted"], 1);
  EXPECT_EQ(by_kind["isolation.traces"]["details"]["toxic"], 1);
  EXPECT_EQ(by_kind["incident.isolated"]["details"]["time_to_contain_ms"], inc["time_to_contain_ms"]);
  CommandResult shown = server_.Cli({"incident", "show", "INC-1"});
  EXPECT_NE(shown.out.find("time to contain"), std::string::npos) << shown.out;

  HttpResult metrics = server_.Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("firebreak_incident_time_to_contain_seconds_count 1"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("# TYPE firebreak_incident_time_to_contain_seconds histogram"),
            std::string::npos);

  // A second run changes nothing and says so per step.
  size_t events = Timeline().size();
  Json again = Isolate({});
  EXPECT_EQ(Step(again, "rollback")["outcome"], "already");
  EXPECT_EQ(Step(again, "memory")["outcome"], "already");
  EXPECT_EQ(Step(again, "traces")["outcome"], "already") << again.dump();
  EXPECT_EQ(again["isolated_now"], false);
  EXPECT_EQ(Step(again, "banner")["outcome"], "already");
  EXPECT_EQ(Timeline().size(), events);
  CommandResult text = server_.Cli({"incident", "isolate", "INC-1"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("already rolled back from v2 to v1"), std::string::npos) << text.out;
  EXPECT_EQ(server_.Call("GET", "/api/v1/audit/verify").json["intact"], true);
}

TEST_F(Isolation, BadInputIsRefusedAndWritesNothing) {
  ASSERT_EQ(server_.Call("POST", "/api/v1/incidents",
                         Json{{"title", "t"}, {"agent", "support-bot"}}.dump())
                .status,
            201);
  size_t events = Timeline().size();
  auto call = [&](const std::string& path, const Json& body) {
    return server_.Call("POST", path, body.dump());
  };
  // Not classified yet: the playbook follows the severity.
  EXPECT_EQ(call("/api/v1/incidents/INC-1/isolate", Json::object()).status, 409);
  EXPECT_EQ(call("/api/v1/incidents/INC-99/isolate", Json::object()).status, 404);
  EXPECT_EQ(call("/api/v1/incidents/nope/isolate", Json::object()).status, 404);
  ASSERT_EQ(server_.Cli({"incident", "classify", "INC-1", "SEV-2", "--reason", "r"}).exit_code, 0);
  events = Timeline().size();
  HttpResult step = call("/api/v1/incidents/INC-1/isolate", {{"steps", {"rollback", "reboot"}}});
  EXPECT_EQ(step.status, 400);
  EXPECT_NE(step.body.find("reboot"), std::string::npos);
  EXPECT_EQ(call("/api/v1/incidents/INC-1/isolate", {{"steps", "rollback"}}).status, 400);
  EXPECT_EQ(call("/api/v1/incidents/INC-1/isolate", {{"since", "yesterday"}}).status, 400);
  EXPECT_EQ(call("/api/v1/incidents/INC-1/isolate", {{"since", 12}}).status, 400);
  EXPECT_EQ(call("/api/v1/incidents/INC-1/isolate", {{"since", "2999-01-01T00:00:00Z"}}).status, 400);
  EXPECT_EQ(call("/api/v1/incidents/INC-1/isolate", {{"dry_run", "yes"}}).status, 400);
  EXPECT_EQ(server_.Call("POST", "/api/v1/incidents/INC-1/isolate", "[1]").status, 400);
  CommandResult cli = server_.Cli({"incident", "isolate", "INC-1", "--since", "not-a-time"});
  EXPECT_NE(cli.exit_code, 0);
  CommandResult cli_step = server_.Cli({"incident", "isolate", "INC-1", "--steps", "memory,nap"});
  EXPECT_NE(cli_step.exit_code, 0);
  // A viewer may not run it.
  std::string viewer = server_.CreateToken("val", "viewer");
  EXPECT_EQ(server_.Call("POST", "/api/v1/incidents/INC-1/isolate", "{}", &viewer).status, 403);
  // Setting the state by hand stays refused: the playbook is the way.
  EXPECT_EQ(call("/api/v1/incidents/INC-1/state", {{"state", "isolated"}}).status, 409);
  EXPECT_EQ(Timeline().size(), events);
  EXPECT_EQ(server_.Call("GET", "/api/v1/agents/support-bot/runtime").json["version"], "v2");
}

// The runbook end to end: v2 leaks a card number in a reply, detection opens the SEV-1 before
// the ingest is answered, and one isolate contains it: the agent's stream gets v1, the memory
// v2 wrote and what derives from it is quarantined, the leaking trace is toxic, the public
// banner is up with its next update, and the incident is isolated with its time to contain.
TEST_F(Isolation, TheSev1DetectionOpenedOnALeakIsContainedInOneAction) {
  int64_t poisoned = WriteMemory({{"records", {{{"text", "memory card on file 5555"}}}}});
  int64_t derived = WriteMemory(
      {{"records", {{{"text", "memory reuse the card"}, {"derived_from", {poisoned}}}}}});
  HttpResult leak = server_.Call(
      "POST", "/api/v1/traces",
      Json{{"traces", {{{"trace_id", "leak-1"}, {"agent", "support-bot"}, {"version", "v2"},
                        {"user_id", "customer-9"}, {"input", "refund my order please"},
                        {"output", "Refunded to 5555-5555-5555-4444. Anything else?"}}}}}.dump(),
      &agent_);
  ASSERT_EQ(leak.status, 201) << leak.body;
  std::string hash = leak.json["hashes"][0];
  Json incidents = server_.Call("GET", "/api/v1/incidents").json["incidents"];
  ASSERT_EQ(incidents.size(), 1u) << incidents.dump();
  EXPECT_EQ(incidents[0]["severity"], "SEV-1");
  EXPECT_EQ(incidents[0]["classified_by"], "rule:personal-data");
  std::string id = incidents[0]["id"];

  StreamClient stream(server_.port());
  stream.Get("/api/v1/agents/support-bot/runtime/stream", agent_);
  ASSERT_TRUE(stream.ReadUntil("\"version\":\"v2\"")) << stream.received();

  CommandResult run = server_.Cli({"--json", "incident", "isolate", id});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  Json done = Json::parse(run.out);
  for (const char* step : {"rollback", "memory", "traces", "banner"}) {
    EXPECT_EQ(Step(done, step)["outcome"], "done") << step << ": " << done.dump();
  }
  EXPECT_TRUE(stream.ReadUntil("\"version\":\"v1\"")) << stream.received();
  EXPECT_EQ(Step(done, "memory")["counts"]["direct"], 2);
  EXPECT_TRUE(Visible().empty());
  (void)derived;
  EXPECT_EQ(FlagOf(hash), "toxic");
  HttpResult status = HttpCall(server_.port(), "GET", "/api/v1/status", "", "");
  ASSERT_EQ(status.json["notices"].size(), 1u) << status.body;
  EXPECT_EQ(status.json["notices"][0]["incident"], id);
  EXPECT_FALSE(status.json["notices"][0]["next_update_at"].is_null());
  Json inc = server_.Call("GET", "/api/v1/incidents/" + id).json;
  EXPECT_EQ(inc["state"], "isolated");
  EXPECT_TRUE(inc["time_to_contain_ms"].is_number_integer()) << inc.dump();
  int steps = 0;
  HttpResult timeline = server_.Call("GET", "/api/v1/incidents/" + id + "/timeline");
  for (const auto& e : timeline.json["events"]) {
    if (e["kind"].get<std::string>().rfind("isolation.", 0) == 0) {
      ++steps;
      EXPECT_FALSE(e["at"].get<std::string>().empty());
      EXPECT_FALSE(e["details"].empty()) << e.dump();
    }
  }
  EXPECT_EQ(steps, 4) << timeline.body;
  // Once more: nothing changes, and it says so.
  CommandResult again = server_.Cli({"--json", "incident", "isolate", id});
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  for (const char* step : {"rollback", "memory", "traces", "banner"}) {
    EXPECT_EQ(Step(Json::parse(again.out), step)["outcome"], "already") << step;
  }
}

}  // namespace
}  // namespace firebreak::testing
