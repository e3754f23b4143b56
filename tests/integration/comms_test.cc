// Affected users and per-user notices as users meet them: the real binary with a webhook
// notice target on a local receiver, traces of several users, an incident with a flagged
// trace, and notify called twice and across a restart.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

#include "common/clock.h"
#include "support/receiver.h"
#include "support/server_process.h"
#include "support/test_util.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

std::string WriteConfig(const TempDir& dir, const Receiver& receiver) {
  std::string path = dir.path() + "/firebreak.toml";
  std::ofstream(path) << "[comms]\n"
                      << "notify_target = \"notices\"\n"
                      << "[paging]\n"
                      << "retry_base_ms = 200\n"
                      << "retry_max_ms = 400\n"
                      << "[paging.targets.notices]\n"
                      << "type = \"webhook\"\n"
                      << "url = \"" << receiver.url("/notices") << "\"\n"
                      << "secret = \"n0tice-secret\"\n";
  return path;
}

// Returns an RFC 3339 time `ago` before now.
std::string Ago(std::chrono::milliseconds ago) {
  auto t = std::chrono::system_clock::now() - ago;
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&secs));
  return buf;
}

Json Trace(const std::string& id, const std::string& agent, const std::string& user,
           std::chrono::milliseconds ago) {
  Json t = {{"trace_id", id},
            {"agent", agent},
            {"input", "where is my order " + id},
            {"output", "it ships tomorrow"},
            {"started_at", Ago(ago)},
            {"ended_at", Ago(ago)}};
  if (!user.empty()) t["user_id"] = user;
  return t;
}

class CommsIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(receiver_.Start());
    server_ = std::make_unique<ServerProcess>(
        std::vector<std::string>{"--config", WriteConfig(config_dir_, receiver_)});
    using std::chrono::hours;
    using std::chrono::minutes;
    Json traces = {{"traces",
                    {Trace("t-alice-1", "support-bot", "alice", minutes(50)),
                     Trace("t-alice-2", "support-bot", "alice", minutes(20)),
                     Trace("t-bob", "support-bot", "bob", minutes(40)),
                     Trace("t-carol", "support-bot", "carol", minutes(30)),
                     Trace("t-anon", "support-bot", "", minutes(10)),
                     // Outside the window (detection - 24 h) and another agent's trace.
                     Trace("t-frank-old", "support-bot", "frank", hours(72)),
                     Trace("t-erin", "other-bot", "erin", minutes(15))}}};
    HttpResult in = server_->Call("POST", "/api/v1/traces", traces.dump());
    ASSERT_EQ(in.status, 201) << in.body;
    hashes_ = in.json["hashes"].get<std::vector<std::string>>();
    HttpResult inc = server_->Call("POST", "/api/v1/incidents",
                                   R"({"title":"wrong orders","agent":"support-bot"})");
    ASSERT_EQ(inc.status, 201) << inc.body;
    // Evidence: bob's trace, and erin's trace of another agent (reached through the flag only).
    Json flag = {{"flag", "toxic"},
                 {"reason", "wrong order"},
                 {"hashes", {hashes_[2], hashes_[6]}},
                 {"incident", "INC-1"}};
    HttpResult flagged = server_->Call("POST", "/api/v1/traces/flags", flag.dump());
    ASSERT_EQ(flagged.status, 200) << flagged.body;
  }

  int64_t Deliveries() {
    return static_cast<int64_t>(
        server_->Call("GET", "/api/v1/deliveries?limit=1000").json["deliveries"].size());
  }

  TempDir config_dir_;
  Receiver receiver_;
  std::unique_ptr<ServerProcess> server_;
  std::vector<std::string> hashes_;
};

TEST_F(CommsIntegration, AffectedUsersFromEvidenceAndWindow) {
  HttpResult r = server_->Call("GET", "/api/v1/incidents/INC-1/affected-users");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json["total_users"], 4);  // alice, bob, carol, erin; not frank (too old)
  EXPECT_EQ(r.json["traces"], 5);
  EXPECT_EQ(r.json["evidence_traces"], 2);
  EXPECT_EQ(r.json["unknown_user_traces"], 1);
  EXPECT_EQ(r.json["window"]["agent"], "support-bot");
  ASSERT_EQ(r.json["users"].size(), 4u);
  EXPECT_FALSE(r.json.contains("next_cursor"));
  const Json& alice = r.json["users"][0];
  EXPECT_EQ(alice["user_id"], "alice");
  EXPECT_EQ(alice["traces"], 2);
  EXPECT_EQ(alice["evidence_traces"], 0);
  EXPECT_LT(alice["first_at"].get<std::string>(), alice["last_at"].get<std::string>());
  EXPECT_EQ(r.json["users"][1]["user_id"], "bob");
  EXPECT_EQ(r.json["users"][1]["evidence_traces"], 1);
  EXPECT_EQ(r.json["users"][3]["user_id"], "erin");
  EXPECT_EQ(r.json["users"][3]["evidence_traces"], 1);

  // Paged by user id.
  HttpResult p1 = server_->Call("GET", "/api/v1/incidents/INC-1/affected-users?limit=3");
  ASSERT_EQ(p1.json["users"].size(), 3u);
  ASSERT_EQ(p1.json["next_cursor"], "carol");
  HttpResult p2 =
      server_->Call("GET", "/api/v1/incidents/INC-1/affected-users?limit=3&cursor=carol");
  ASSERT_EQ(p2.json["users"].size(), 1u);
  EXPECT_EQ(p2.json["users"][0]["user_id"], "erin");
  EXPECT_EQ(p2.json["total_users"], 4);

  // A window given: three days back reaches frank.
  HttpResult wide = server_->Call(
      "GET", "/api/v1/incidents/INC-1/affected-users?from=" + Ago(std::chrono::hours(80)));
  EXPECT_EQ(wide.json["total_users"], 5) << wide.body;

  // Bad input.
  EXPECT_EQ(server_->Call("GET", "/api/v1/incidents/INC-9/affected-users").status, 404);
  EXPECT_EQ(server_->Call("GET", "/api/v1/incidents/INC-1/affected-users?from=yesterday").status,
            400);
  EXPECT_EQ(server_->Call("GET", "/api/v1/incidents/INC-1/affected-users?limit=0").status, 400);
  EXPECT_EQ(server_->Call("GET", "/api/v1/incidents/INC-1/affected-users?from=" +
                                     Ago(std::chrono::hours(1)) + "&to=" +
                                     Ago(std::chrono::hours(2)))
                .status,
            400);
  const std::string no_token;
  EXPECT_EQ(server_->Call("GET", "/api/v1/incidents/INC-1/affected-users", "", &no_token).status,
            401);

  // The CLI.
  CommandResult cli = server_->Cli({"comms", "affected", "INC-1"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("4 affected users"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("erin"), std::string::npos);
  CommandResult json = server_->Cli({"--json", "comms", "affected", "INC-1", "--limit", "2"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(Json::parse(json.out)["next_cursor"], "bob");
}

TEST_F(CommsIntegration, NotifyReachesEachUserOnceAcrossRetriesAndRestarts) {
  std::string viewer = server_->CreateToken("v", "viewer");
  // Notices belong to an update meant for the affected users.
  auto post_update = [&](const std::string& audience, const std::string& impact) {
    HttpResult u = server_->Call("POST", "/api/v1/incidents/INC-1/updates",
                                 Json{{"audience", audience}, {"impact", impact},
                                      {"next_update_at", FormatTime(SystemClock().NowMs() + 3'600'000)}}
                                     .dump());
    EXPECT_EQ(u.status, 201) << u.body;
    return u.json["update"]["id"].get<int64_t>();
  };
  const int64_t u1 = post_update("affected", "Orders placed today may be wrong.");
  const int64_t u2 = post_update("affected", "Orders are right again.");
  const int64_t internal = post_update("internal", "the pricing agent v2 is rounding wrong");
  const std::string body = Json{{"update", u1},
                                {"message", "Orders placed today may be wrong; next update 15:00 UTC. ✅"}}.dump();

  // Refusals write nothing.
  EXPECT_EQ(server_->Call("POST", "/api/v1/incidents/INC-1/notify", body, &viewer).status, 403);
  EXPECT_EQ(server_->Call("POST", "/api/v1/incidents/INC-9/notify", body).status, 404);
  EXPECT_EQ(server_->Call("POST", "/api/v1/incidents/INC-1/notify",
                          Json{{"update", u1}, {"message", std::string(4097, 'x')}}.dump())
                .status,
            413);
  for (const char* bad : {R"({"update": 0, "message": "m"})", R"({"update": -1, "message": "m"})",
                          R"({"update": "7", "message": "m"})", R"({"message": "m"})",
                          R"({"update": 7})", R"({"update": 7, "message": ""})",
                          R"({"update": 7, "message": 5})", R"([1])"}) {
    EXPECT_EQ(server_->Call("POST", "/api/v1/incidents/INC-1/notify", bad).status, 400) << bad;
  }
  // An internal update is never sent to users; an unknown update is not found; a message the
  // lint refuses is refused with its findings, and goes out once a person overrides it.
  EXPECT_EQ(server_->Call("POST", "/api/v1/incidents/INC-1/notify",
                          Json{{"update", internal}, {"message", "hello"}}.dump()).status, 409);
  EXPECT_EQ(server_->Call("POST", "/api/v1/incidents/INC-1/notify",
                          Json{{"update", 999}, {"message", "hello"}}.dump()).status, 404);
  HttpResult blamed = server_->Call("POST", "/api/v1/incidents/INC-1/notify",
                                    Json{{"update", u1}, {"message", "This was caused by OpenAI."}}.dump());
  EXPECT_EQ(blamed.status, 409) << blamed.body;
  EXPECT_FALSE(blamed.json["findings"].empty()) << blamed.body;
  EXPECT_EQ(Deliveries(), 0);

  HttpResult first = server_->Call("POST", "/api/v1/incidents/INC-1/notify", body);
  ASSERT_EQ(first.status, 202) << first.body;
  EXPECT_EQ(first.json["queued"], 4);
  EXPECT_EQ(first.json["already_queued"], 0);
  ASSERT_TRUE(receiver_.WaitForRequests(4));

  HttpResult second = server_->Call("POST", "/api/v1/incidents/INC-1/notify", body);
  ASSERT_EQ(second.status, 202) << second.body;
  EXPECT_EQ(second.json["queued"], 0);
  EXPECT_EQ(second.json["already_queued"], 4);

  // Let the outbox record the deliveries, then crash and start again.
  for (int i = 0; i < 100; ++i) {
    auto d = server_->Call("GET", "/api/v1/deliveries?status=delivered");
    if (d.json["deliveries"].size() >= 4) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  server_->Kill();
  server_->Start();
  CommandResult cli =
      server_->Cli({"comms", "notify", "INC-1", "--update", std::to_string(u1), "--message", "again"});
  EXPECT_EQ(cli.exit_code, 0) << cli.err;
  EXPECT_NE(cli.out.find("queued 0 notice(s); 4 user(s) already had update " + std::to_string(u1)), std::string::npos)
      << cli.out;
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  std::vector<ReceivedRequest> got = receiver_.requests();
  ASSERT_EQ(got.size(), 4u);
  std::set<std::string> users;
  for (const auto& q : got) {
    EXPECT_EQ(q.target, "/notices");
    EXPECT_FALSE(q.Header("X-Firebreak-Signature").empty());
    EXPECT_FALSE(q.Header("X-Firebreak-Timestamp").empty());
    Json j = q.Json();
    EXPECT_EQ(j["event"], "incident.user_notice");
    EXPECT_EQ(j["incident"], "INC-1");
    EXPECT_EQ(j["update"], u1);
    EXPECT_EQ(j["message"], "Orders placed today may be wrong; next update 15:00 UTC. ✅");
    users.insert(j["user_id"].get<std::string>());
  }
  EXPECT_EQ(users, (std::set<std::string>{"alice", "bob", "carol", "erin"}));

  // Another update is another notice to each user.
  HttpResult next = server_->Call("POST", "/api/v1/incidents/INC-1/notify",
                                  Json{{"update", u2}, {"message", "fixed"}}.dump());
  EXPECT_EQ(next.json["queued"], 4) << next.body;
  EXPECT_TRUE(receiver_.WaitForRequests(8));

  // On the timeline: one event per notify call.
  HttpResult timeline = server_->Call("GET", "/api/v1/incidents/INC-1/timeline");
  int notifies = 0;
  for (const auto& e : timeline.json["events"]) notifies += e["kind"] == "comms.notify";
  EXPECT_EQ(notifies, 4);
}

TEST(CommsWithoutTarget, NotifyIsAConflictAndCommsLintRunsLocally) {
  ServerProcess server;
  ASSERT_EQ(server.Call("POST", "/api/v1/incidents", R"({"title":"t","agent":"bot"})").status,
            201);
  HttpResult r = server.Call("POST", "/api/v1/incidents/INC-1/notify",
                             R"({"update": 1, "message": "hello"})");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_NE(r.body.find("notify_target"), std::string::npos);
  EXPECT_EQ(server.Call("GET", "/api/v1/deliveries").json["deliveries"].size(), 0u);

  CommandResult lint =
      RunCommand({FirebreakBinary(), "comms", "lint",
                  "Only a few users were affected; this was caused by OpenAI", "--affected",
                  "40", "--next-update", "2026-12-02T15:00:00Z"},
                 {});
  EXPECT_EQ(lint.exit_code, 1);
  EXPECT_NE(lint.out.find("unconfirmed-cause"), std::string::npos) << lint.out;
  EXPECT_NE(lint.out.find("provider-blame"), std::string::npos);
  EXPECT_NE(lint.out.find("minimising"), std::string::npos);
  CommandResult clean = RunCommand({FirebreakBinary(), "comms", "lint", "We are investigating.",
                                    "--eta", "2026-12-02T15:00:00Z"},
                                   {});
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
}

// Internal updates also go to the team's Slack-compatible channel ([comms] internal_targets),
// through the outbox; other audiences do not.
TEST(CommsInternalChannel, InternalUpdatesArePostedToTheTeamsChannel) {
  Receiver receiver;
  ASSERT_TRUE(receiver.Start());
  TempDir dir;
  std::string config = dir.path() + "/firebreak.toml";
  std::ofstream(config) << "[comms]\n"
                        << "internal_targets = [\"team\"]\n"
                        << "[paging.targets.team]\n"
                        << "type = \"slack\"\n"
                        << "url = \"" << receiver.url("/team") << "\"\n";
  ServerProcess server({"--config", config});
  ASSERT_EQ(server.Call("POST", "/api/v1/incidents",
                        R"({"title":"t","agent":"bot","severity":"SEV-2","reason":"r"})").status, 201);
  std::string next = FormatTime(SystemClock().NowMs() + 3'600'000);
  for (const char* audience : {"internal", "public"}) {
    HttpResult u = server.Call("POST", "/api/v1/incidents/INC-1/updates",
                               Json{{"audience", audience},
                                    {"impact", std::string(audience) + " text: rollback to v41 done"},
                                    {"next_update_at", next}}.dump());
    ASSERT_EQ(u.status, 201) << u.body;
  }
  ASSERT_TRUE(receiver.WaitForRequests(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // nothing else arrives
  std::vector<ReceivedRequest> got = receiver.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/team");
  EXPECT_NE(got[0].body.find("internal text: rollback to v41 done"), std::string::npos) << got[0].body;
  EXPECT_EQ(got[0].body.find("public text"), std::string::npos);
}

}  // namespace
}  // namespace firebreak::testing
