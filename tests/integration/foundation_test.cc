// The foundation as a user meets it: the real binary on 127.0.0.1, driven over HTTP and
// through the CLI.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include "support/server_process.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

int CountEvents(const ServerProcess& server) {
  HttpResult r = server.Call("GET", "/api/v1/audit/verify");
  return r.json["events_checked"].get<int>();
}

TEST(Foundation, HealthNeedsNoTokenAndFirstStartWritesAdminTokenFile) {
  ServerProcess server;
  HttpResult health = HttpCall(server.port(), "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json["status"], "ok");

  struct stat st {};
  ASSERT_EQ(stat((server.data_dir() + "/admin.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  EXPECT_EQ(server.admin_token().rfind("fbk_", 0), 0u);
}

TEST(Foundation, NoTokenIs401WrongRoleIs403) {
  ServerProcess server;
  HttpResult none = HttpCall(server.port(), "GET", "/api/v1/incidents");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.json["error"]["code"], "unauthenticated");
  EXPECT_EQ(HttpCall(server.port(), "GET", "/metrics").status, 401);
  EXPECT_EQ(HttpCall(server.port(), "GET", "/api/v1/incidents", "", "fbk_not-a-token").status, 401);

  std::string viewer = server.CreateToken("vera", "viewer");
  HttpResult declared = server.Call("POST", "/api/v1/incidents",
                                    R"({"title":"PII in reply","agent":"support-bot"})");
  ASSERT_EQ(declared.status, 201) << declared.body;
  HttpResult classify = server.Call("POST", "/api/v1/incidents/INC-1/classify",
                                    R"({"severity":"SEV-1","reason":"card number"})", &viewer);
  EXPECT_EQ(classify.status, 403);
  EXPECT_EQ(classify.json["error"]["code"], "permission_denied");
  // The viewer can read, and the refused classification changed nothing.
  HttpResult read = server.Call("GET", "/api/v1/incidents/INC-1", "", &viewer);
  EXPECT_EQ(read.status, 200);
  EXPECT_TRUE(read.json["severity"].is_null());

  // The CLI says why, in one line, and exits non-zero.
  CommandResult cli = server.Cli({"incident", "classify", "INC-1", "SEV-1", "--reason", "x"}, &viewer);
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE(cli.err.find("needs responder"), std::string::npos) << cli.err;

  // A revoked token stops working at once.
  std::string responder = server.CreateToken("rob", "responder");
  EXPECT_EQ(server.Cli({"token", "revoke", "rob"}).exit_code, 0);
  EXPECT_EQ(server.Call("GET", "/api/v1/incidents", "", &responder).status, 401);
}

TEST(Foundation, CliLifecycleShowsEveryEventAndSurvivesRestart) {
  ServerProcess server;
  std::string alice = server.CreateToken("alice", "responder");
  ASSERT_EQ(server.Cli({"incident", "declare", "--title", "Card number in reply", "--agent",
                        "support-bot"}, &alice).exit_code, 0);
  ASSERT_EQ(server.Cli({"incident", "classify", "INC-1", "SEV-1", "--reason",
                        "PAN in the final response"}, &alice).exit_code, 0);
  ASSERT_EQ(server.Cli({"incident", "ack", "INC-1"}, &alice).exit_code, 0);
  ASSERT_EQ(server.Cli({"incident", "note", "INC-1", "rolled back to v41"}, &alice).exit_code, 0);
  ASSERT_EQ(server.Cli({"incident", "resolve", "INC-1"}, &alice).exit_code, 0);

  auto check = [&](const ServerProcess& s) -> Json {
    CommandResult show = s.Cli({"incident", "show", "INC-1"});
    EXPECT_EQ(show.exit_code, 0) << show.err;
    for (const char* want : {"incident.declared", "incident.classified", "incident.acknowledged",
                             "rolled back to v41", "incident.state_changed", "to=resolved",
                             "after detection", "alice"}) {
      EXPECT_NE(show.out.find(want), std::string::npos) << want << " missing in:\n" << show.out;
    }
    CommandResult json = s.Cli({"--json", "incident", "show", "INC-1"});
    Json j = Json::parse(json.out);
    EXPECT_EQ(j["state"], "resolved");
    EXPECT_EQ(j["severity"], "SEV-1");
    EXPECT_EQ(j["commander"], "alice");
    EXPECT_GE(j["time_to_classify_ms"].get<int64_t>(), 0);
    // Five events of people, plus the pager's (page queued and/or escalation stopped: the
    // acknowledgement may come before or after the pager thread fired the SEV-1 page).
    size_t people = 0, pager = 0;
    for (const auto& e : j["timeline"]) (e["actor"] == "pager" ? pager : people)++;
    EXPECT_EQ(people, 5u);
    EXPECT_GE(pager, 1u);
    for (const auto& e : j["timeline"]) EXPECT_TRUE(e["at"].is_string());
    return j["timeline"];
  };
  Json before = check(server);
  EXPECT_EQ(server.Stop(), 0);
  server.Start();
  Json after = check(server);
  EXPECT_EQ(before, after);
  CommandResult verify = server.Cli({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

TEST(Foundation, AcknowledgedWritesSurviveAKill) {
  ServerProcess server;
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(server.Call("POST", "/api/v1/incidents",
                          Json{{"title", "t" + std::to_string(i)}, {"agent", "a"}}.dump()).status, 201);
  }
  server.Kill();
  server.Start();
  HttpResult list = server.Call("GET", "/api/v1/incidents?limit=100");
  EXPECT_EQ(list.json["incidents"].size(), 20u);
  EXPECT_TRUE(server.Call("GET", "/api/v1/audit/verify").json["intact"].get<bool>());
}

TEST(Foundation, ChangedEventRowIsNamedByAuditVerify) {
  ServerProcess server;
  server.Cli({"incident", "declare", "--title", "t", "--agent", "a"});
  server.Cli({"incident", "note", "INC-1", "first note"});
  server.Cli({"incident", "note", "INC-1", "second note"});
  ASSERT_EQ(server.Stop(), 0);

  // Someone with write access to the file edits the first note (event 3).
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((server.data_dir() + "/firebreak.db").c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_NE(sqlite3_exec(db, "UPDATE events SET details='{\"text\":\"x\"}' WHERE seq=3", nullptr,
                         nullptr, &err), SQLITE_OK) << "the table should refuse updates";
  sqlite3_free(err);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER events_no_update;"
                         "UPDATE events SET details='{\"text\":\"nothing happened\"}' WHERE seq=3",
                         nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);

  server.Start();
  CommandResult verify = server.Cli({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_NE(verify.out.find("BROKEN at event 3 (note on INC-1"), std::string::npos) << verify.out;
  HttpResult api = server.Call("GET", "/api/v1/audit/verify");
  EXPECT_FALSE(api.json["intact"].get<bool>());
  EXPECT_EQ(api.json["first_broken"]["seq"], 3);
  EXPECT_EQ(api.json["events_checked"], 2);
}

TEST(Foundation, BadInputGetsAClearErrorAndChangesNothing) {
  ServerProcess server;
  ASSERT_EQ(server.Call("POST", "/api/v1/incidents", R"({"title":"t","agent":"a"})").status, 201);
  int events = CountEvents(server);

  struct Case {
    std::string method, path, body;
    int status;
    std::string code;
  };
  std::vector<Case> cases = {
      {"POST", "/api/v1/incidents", "{not json", 400, "invalid_argument"},
      {"POST", "/api/v1/incidents", "[1,2]", 400, "invalid_argument"},
      {"POST", "/api/v1/incidents", R"({"title":5,"agent":"a"})", 400, "invalid_argument"},
      {"POST", "/api/v1/incidents", R"({"agent":"a"})", 400, "invalid_argument"},
      {"POST", "/api/v1/incidents", R"({"title":"t","agent":"a b"})", 400, "invalid_argument"},
      {"POST", "/api/v1/incidents", R"({"title":"t","agent":"a","severity":"SEV-9","reason":"r"})", 400, "invalid_argument"},
      {"POST", "/api/v1/incidents/INC-1/classify", R"({"severity":"SEV-1"})", 400, "invalid_argument"},
      {"POST", "/api/v1/incidents/INC-99/classify", R"({"severity":"SEV-1","reason":"r"})", 404, "not_found"},
      {"GET", "/api/v1/incidents/banana", "", 404, "not_found"},
      {"POST", "/api/v1/incidents/INC-1/resolve", "", 409, "conflict"},  // still unclassified
      {"POST", "/api/v1/incidents/INC-1/state", R"({"state":"closed"})", 409, "conflict"},
      {"POST", "/api/v1/incidents/INC-1/timeline", R"({"text":""})", 400, "invalid_argument"},
      {"POST", "/api/v1/tokens", R"({"name":"x","role":"god"})", 400, "invalid_argument"},
      {"GET", "/api/v1/nothing-here", "", 404, "not_found"},
  };
  for (const Case& c : cases) {
    HttpResult r = server.Call(c.method, c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.method << " " << c.path << " " << c.body << " -> " << r.body;
    EXPECT_EQ(r.json["error"]["code"], c.code) << c.path << " " << r.body;
    EXPECT_FALSE(r.json["error"]["message"].get<std::string>().empty());
  }
  HttpResult wrong_method = server.Call("DELETE", "/api/v1/incidents");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers["allow"], "POST, GET");

  // Garbage bytes on the socket: a JSON 400, and the server keeps serving.
  static constexpr char kGarbage[] = "\x16\x03\x01\x02\x00garbage\r\n\r\n";  // a TLS hello, say
  std::string garbage = RawExchange(server.port(), std::string(kGarbage, sizeof(kGarbage) - 1));
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  EXPECT_NE(garbage.find("\"invalid_argument\""), std::string::npos);
  // A body over the limit: 413 before it is read.
  HttpResult huge = server.Call("POST", "/api/v1/incidents", std::string(17 << 20, 'x'));
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(huge.json["error"]["code"], "too_large");

  EXPECT_EQ(HttpCall(server.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(CountEvents(server), events);
  EXPECT_EQ(server.Call("GET", "/api/v1/incidents").json["incidents"].size(), 1u);
}

TEST(Foundation, KeepAliveAndChunkedBodies) {
  ServerProcess server;
  const std::string auth = "Authorization: Bearer " + server.admin_token() + "\r\n";
  std::string body = R"({"title":"chunked","agent":"a"})";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", body.size());
  std::string two_requests =
      "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\n" + auth +
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
      size + "\r\n" + body + "\r\n0\r\n\r\n";
  std::string answer = RawExchange(server.port(), two_requests);
  EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
  EXPECT_NE(answer.find("HTTP/1.1 201"), std::string::npos) << answer;
  EXPECT_NE(answer.find("\"title\":\"chunked\""), std::string::npos);
}

TEST(Foundation, MetricsArePrometheusText) {
  ServerProcess server;
  server.Call("GET", "/api/v1/incidents");
  HttpResult m = server.Call("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.headers["content-type"].find("text/plain"), std::string::npos);
  EXPECT_NE(m.body.find("firebreak_http_requests_total{method=\"GET\",route=\"/api/v1/incidents\",status=\"200\"} 1"),
            std::string::npos) << m.body;
  EXPECT_NE(m.body.find("firebreak_http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/incidents\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(m.body.find("firebreak_store_write_transactions_total{backend=\"sqlite\"}"), std::string::npos);
}

TEST(Foundation, SigtermStopsCleanly) {
  ServerProcess server;
  server.Call("POST", "/api/v1/incidents", R"({"title":"t","agent":"a"})");
  EXPECT_EQ(server.Stop(), 0);
  server.Start();
  EXPECT_EQ(server.Call("GET", "/api/v1/incidents").json["incidents"].size(), 1u);
  EXPECT_NE(server.Log().find("stopped cleanly"), std::string::npos);
}

TEST(Foundation, SeveritiesTablePrintsPagingClasses) {
  ServerProcess server;
  CommandResult r = server.Cli({"incident", "severities"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("SEV-3     business-hours"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("SEV-4     backlog"), std::string::npos);
}

}  // namespace
}  // namespace firebreak::testing
