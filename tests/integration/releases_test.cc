// Agent releases as users meet them: the real binary, its CLI, a held server-sent-event stream
// and long-polls on 127.0.0.1.
#include <gtest/gtest.h>

#include <fstream>

#include "support/server_process.h"
#include "support/stream_client.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

constexpr char kManifestV1[] =
    R"({"label":"baseline","model":"gpt-4o","prompt_hash":"sha256:1111","tools":[{"name":"lookup","effect_class":"read-only"}]})";
constexpr char kManifestV2[] =
    R"({"label":"new prompt","model":"gpt-4o","prompt_hash":"sha256:2222","tools":[{"name":"refund","effect_class":"payment","requires_approval":true}]})";

std::string WriteFile(const ServerProcess& server, const std::string& name,
                      const std::string& text) {
  std::string path = server.data_dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// v1 deployed and promoted, v2 deployed on top of it (revision 3), all through the CLI.
void V1StableV2Current(const ServerProcess& server) {
  for (const auto& [version, manifest] :
       {std::pair{"v1", kManifestV1}, std::pair{"v2", kManifestV2}}) {
    CommandResult r =
        server.Cli({"agent", "register", "support-bot", "--version", version, "--manifest",
                    WriteFile(server, std::string(version) + ".json", manifest)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ASSERT_EQ(server.Cli({"agent", "deploy", "support-bot", "v1"}).exit_code, 0);
  ASSERT_EQ(server.Cli({"agent", "promote", "support-bot", "v1"}).exit_code, 0);
  ASSERT_EQ(server.Cli({"agent", "deploy", "support-bot", "v2"}).exit_code, 0);
}

// Returns the data of the SSE event with this id in `text`, parsed; null when absent.
Json EventData(const std::string& text, int64_t id) {
  std::string head = "id: " + std::to_string(id) + "\nevent: runtime\ndata: ";
  size_t at = text.find(head);
  if (at == std::string::npos) return nullptr;
  size_t start = at + head.size();
  return Json::parse(text.substr(start, text.find('\n', start) - start), nullptr, false);
}

TEST(Releases, RollbackReachesAHeldStreamAndTheIncidentTimeline) {
  ServerProcess server;
  V1StableV2Current(server);
  std::string agent_token = server.CreateToken("bot-runtime", "agent", "support-bot");
  ASSERT_EQ(
      server.Cli({"incident", "declare", "--title", "PII in replies", "--agent", "support-bot"})
          .exit_code,
      0);

  // The agent holds the stream open and gets the current state at connect.
  StreamClient stream(server.port());
  ASSERT_TRUE(stream.connected());
  stream.Get("/api/v1/agents/support-bot/runtime/stream", agent_token);
  ASSERT_TRUE(stream.ReadUntil("id: 3\n")) << stream.received();
  EXPECT_EQ(stream.received().rfind("HTTP/1.1 200 OK", 0), 0u);
  ASSERT_TRUE(stream.ReadUntil("\n\n"));
  EXPECT_EQ(EventData(stream.received(), 3)["version"], "v2");

  CommandResult rb = server.Cli({"agent", "rollback", "support-bot", "--reason",
                                 "card numbers in replies", "--incident", "INC-1"});
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  EXPECT_NE(rb.out.find("pulled v2"), std::string::npos) << rb.out;

  // The held stream receives the stable version.
  ASSERT_TRUE(stream.ReadUntil("id: 4\n")) << stream.received();
  ASSERT_TRUE(stream.ReadUntil("}\n\n"));
  Json pushed = EventData(stream.received(), 4);
  EXPECT_EQ(pushed["version"], "v1");
  EXPECT_EQ(pushed["enabled"], true);
  EXPECT_EQ(pushed["revision"], 4);
  EXPECT_EQ(pushed["manifest"]["prompt_hash"], "sha256:1111");

  // The incident's timeline shows the rollback, with its time.
  CommandResult shown = server.Cli({"--json", "incident", "show", "INC-1"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  Json timeline = Json::parse(shown.out)["timeline"];
  const Json& last = timeline.back();
  EXPECT_EQ(last["kind"], "agent.rolled_back");
  EXPECT_EQ(last["details"]["from"], "v2");
  EXPECT_EQ(last["details"]["to"], "v1");
  EXPECT_EQ(last["details"]["reason"], "card numbers in replies");
  EXPECT_FALSE(last["at"].get<std::string>().empty());
  CommandResult table = server.Cli({"incident", "show", "INC-1"});
  EXPECT_NE(table.out.find("agent.rolled_back"), std::string::npos) << table.out;

  // The versions view shows v2 pulled and the history names the incident.
  HttpResult versions = server.Call("GET", "/api/v1/agents/support-bot/versions");
  ASSERT_EQ(versions.status, 200);
  EXPECT_EQ(versions.json["versions"][1]["pulled"], true);
  EXPECT_EQ(versions.json["history"][0]["action"], "rollback");
  EXPECT_EQ(versions.json["history"][0]["incident"], "INC-1");
  EXPECT_EQ(versions.json["history"][0]["at"], last["at"]);
  EXPECT_EQ(server.Call("GET", "/api/v1/audit/verify").json["intact"], true);
}

TEST(Releases, LongPollWakesWhenTheRevisionMoves) {
  ServerProcess server;
  V1StableV2Current(server);
  HttpResult now = server.Call("GET", "/api/v1/agents/support-bot/runtime");
  ASSERT_EQ(now.status, 200);
  EXPECT_EQ(now.json["revision"], 3);
  EXPECT_EQ(now.json["version"], "v2");

  // A stale revision answers at once.
  HttpResult stale = server.Call("GET", "/api/v1/agents/support-bot/runtime?wait=30&revision=1");
  EXPECT_EQ(stale.json["revision"], 3);

  StreamClient poll(server.port());
  poll.Get("/api/v1/agents/support-bot/runtime?wait=30&revision=3", server.admin_token());
  ASSERT_EQ(server.Cli({"agent", "kill", "support-bot", "--reason", "stop it"}).exit_code, 0);
  ASSERT_TRUE(poll.ReadUntil("\"revision\":4")) << poll.received();
  EXPECT_NE(poll.received().find("\"enabled\":false"), std::string::npos);

  // The CLI view agrees.
  CommandResult rt = server.Cli({"agent", "runtime", "support-bot"});
  EXPECT_NE(rt.out.find("KILLED"), std::string::npos) << rt.out;
}

TEST(Releases, StreamResumesFromLastEventIdAfterRestart) {
  ServerProcess server;
  V1StableV2Current(server);
  ASSERT_EQ(server.Cli({"agent", "rollback", "support-bot", "--reason", "bad"}).exit_code,
            0);  // rev 4
  server.Stop();
  server.Start();

  // A client that saw revision 3 catches up with revision 4 at once.
  StreamClient behind(server.port());
  behind.Get("/api/v1/agents/support-bot/runtime/stream", server.admin_token(),
             "Last-Event-ID: 3\r\n");
  ASSERT_TRUE(behind.ReadUntil("}\n\n")) << behind.received();
  EXPECT_EQ(EventData(behind.received(), 4)["version"], "v1");

  // An id the server never issued (a store restored from a backup) gets the current state.
  StreamClient confused(server.port());
  confused.Get("/api/v1/agents/support-bot/runtime/stream", server.admin_token(),
               "Last-Event-ID: 99\r\n");
  ASSERT_TRUE(confused.ReadUntil("}\n\n")) << confused.received();
  EXPECT_EQ(EventData(confused.received(), 4)["version"], "v1");

  // A client already at revision 4 gets nothing until the next change, then only that.
  StreamClient current(server.port());
  current.Get("/api/v1/agents/support-bot/runtime/stream", server.admin_token(),
              "Last-Event-ID: 4\r\n");
  ASSERT_TRUE(current.ReadUntil("\r\n\r\n"));
  ASSERT_EQ(server.Cli({"agent", "kill", "support-bot"}).exit_code, 0);
  ASSERT_TRUE(current.ReadUntil("id: 5\n")) << current.received();
  EXPECT_EQ(current.received().find("id: 4\n"), std::string::npos);
  ASSERT_TRUE(behind.ReadUntil("id: 5\n"));
}

TEST(Releases, RolesForChangesAndRuntime) {
  ServerProcess server;
  V1StableV2Current(server);
  std::string viewer = server.CreateToken("vera", "viewer");
  std::string mine = server.CreateToken("bot-runtime", "agent", "support-bot");
  std::string other = server.CreateToken("other-runtime", "agent", "billing-bot");

  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/versions", "", &viewer).status, 200);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/runtime", "", &viewer).status, 200);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/runtime", "", &mine).status, 200);
  HttpResult foreign = server.Call("GET", "/api/v1/agents/support-bot/runtime", "", &other);
  EXPECT_EQ(foreign.status, 403);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/runtime/stream", "", &other).status,
            403);
  EXPECT_EQ(HttpCall(server.port(), "GET", "/api/v1/agents/support-bot/runtime").status, 401);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/versions", "", &mine).status, 403);

  for (const std::string* token : {&viewer, &mine}) {
    HttpResult r =
        server.Call("POST", "/api/v1/agents/support-bot/rollback", R"({"reason":"x"})", token);
    EXPECT_EQ(r.status, 403);
    EXPECT_EQ(server.Call("POST", "/api/v1/agents/support-bot/kill", "", token).status, 403);
  }
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/runtime").json["revision"], 3);
}

TEST(Releases, BadInputGetsAClearErrorAndChangesNothing) {
  ServerProcess server;
  auto events = [&] {
    return server.Call("GET", "/api/v1/audit/verify").json["events_checked"].get<int>();
  };
  int before = events();

  HttpResult bad = server.Call(
      "POST", "/api/v1/agents/support-bot/versions",
      R"({"version":"v1","manifest":{"model":"m","prompt_hash":"sha256:1","tools":[{"name":"t","effect_class":"nuke"}]}})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.json["error"]["message"].get<std::string>().find("manifest.tools[0].effect_class"),
            std::string::npos);
  EXPECT_EQ(
      server.Call("POST", "/api/v1/agents/support-bot/versions", R"({"version":"v1"})").status,
      400);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/versions").status, 404);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/runtime").status, 404);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/runtime/stream").status, 404);
  EXPECT_EQ(events(), before);

  ASSERT_EQ(server
                .Call("POST", "/api/v1/agents/support-bot/versions",
                      std::string(R"({"version":"v1","manifest":)") + kManifestV1 + "}")
                .status,
            201);
  ASSERT_EQ(server.Call("POST", "/api/v1/agents/support-bot/deploy", R"({"version":"v1"})").status,
            200);
  before = events();
  EXPECT_EQ(server.Call("POST", "/api/v1/agents/support-bot/deploy", R"({"version":"v9"})").status,
            404);
  EXPECT_EQ(server.Call("POST", "/api/v1/agents/support-bot/versions/v9/promote").status, 404);
  EXPECT_EQ(server.Call("POST", "/api/v1/agents/ghost/kill").status, 404);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/runtime?wait=abc&revision=1").status,
            400);

  // No stable version: refused, and the message says what to do instead.
  CommandResult rb = server.Cli({"agent", "rollback", "support-bot", "--reason", "bad"});
  EXPECT_NE(rb.exit_code, 0);
  EXPECT_NE(rb.err.find("agent kill support-bot"), std::string::npos) << rb.err;
  EXPECT_NE(rb.err.find("HTTP 409"), std::string::npos) << rb.err;
  // An unknown incident is 404 and changes nothing.
  ASSERT_EQ(server.Call("POST", "/api/v1/agents/support-bot/versions/v1/promote").status, 200);
  before = events();
  HttpResult no_incident =
      server.Call("POST", "/api/v1/agents/support-bot/kill", R"({"incident":"INC-77"})");
  EXPECT_EQ(no_incident.status, 404);
  EXPECT_EQ(server.Call("GET", "/api/v1/agents/support-bot/runtime").json["enabled"], true);
  EXPECT_EQ(events(), before);

  // Deploying a pulled version needs --force.
  ASSERT_EQ(server
                .Call("POST", "/api/v1/agents/support-bot/versions",
                      std::string(R"({"version":"v2","manifest":)") + kManifestV2 + "}")
                .status,
            201);
  ASSERT_EQ(server.Cli({"agent", "deploy", "support-bot", "v2"}).exit_code, 0);
  ASSERT_EQ(server.Cli({"agent", "rollback", "support-bot", "--reason", "bad"}).exit_code, 0);
  CommandResult again = server.Cli({"agent", "deploy", "support-bot", "v2"});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("--force"), std::string::npos) << again.err;
  EXPECT_EQ(server.Cli({"agent", "deploy", "support-bot", "v2", "--force"}).exit_code, 0);
}

}  // namespace
}  // namespace firebreak::testing
