// Durability as users meet it, through the real binary: retries with an Idempotency-Key write
// once, an agent token cannot page SEV-1 on its own word, and `audit verify` catches a chain
// whose tail was removed behind the server's back.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <fstream>

#include "support/server_process.h"
#include "support/test_util.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

class DurabilityIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>();
    agent_ = server_->CreateToken("bot", "agent", "support-bot");
    responder_ = server_->CreateToken("alice", "responder");
    responder2_ = server_->CreateToken("bob", "responder");
  }

  HttpResult Post(const std::string& path, const Json& body, const std::string& token,
                  const std::string& key) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (!key.empty()) headers.push_back({"Idempotency-Key", key});
    return HttpCall(server_->port(), "POST", path, body.dump(), token, headers);
  }

  Json Get(const std::string& path) {
    HttpResult r = server_->Call("GET", path);
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.json;
  }

  std::unique_ptr<ServerProcess> server_;
  std::string agent_, responder_, responder2_;
};

// The same request twice with one key: one write, the second answer replays the first.
void ExpectReplay(const HttpResult& first, const HttpResult& second) {
  EXPECT_EQ(second.status, first.status);
  EXPECT_EQ(second.body, first.body);
  EXPECT_EQ(second.headers.count("idempotent-replayed"), 1u);
  if (second.headers.count("idempotent-replayed")) {
    EXPECT_EQ(second.headers.at("idempotent-replayed"), "true");
  }
  EXPECT_EQ(first.headers.count("idempotent-replayed"), 0u);
}

TEST_F(DurabilityIntegration, ARetriedMemoryWriteWritesOneRecord) {
  Json rec = {{"namespace", "notes"}, {"text", "customer prefers email"}};
  auto first = Post("/api/v1/memory/support-bot/records", rec, agent_, "mem-0001");
  ASSERT_EQ(first.status, 201) << first.body;
  auto second = Post("/api/v1/memory/support-bot/records", rec, agent_, "mem-0001");
  ExpectReplay(first, second);
  // The next record takes the very next id: the retry wrote nothing.
  auto next = Post("/api/v1/memory/support-bot/records", rec, agent_, "");
  ASSERT_EQ(next.status, 201) << next.body;
  EXPECT_EQ(next.json["id"].get<int64_t>(), first.json["id"].get<int64_t>() + 1);
}

TEST_F(DurabilityIntegration, ARetriedDeclareAndNoteCreateOneIncidentAndOneNote) {
  Json declare = {{"title", "refunds stuck"}, {"agent", "support-bot"}, {"severity", "SEV-3"},
                  {"reason", "queue growing"}};
  auto first = Post("/api/v1/incidents", declare, responder_, "declare-42");
  ASSERT_EQ(first.status, 201) << first.body;
  auto second = Post("/api/v1/incidents", declare, responder_, "declare-42");
  ExpectReplay(first, second);
  EXPECT_EQ(Get("/api/v1/incidents")["incidents"].size(), 1u);

  std::string id = first.json["id"];
  Json note = {{"text", "restarted the refund worker"}};
  auto n1 = Post("/api/v1/incidents/" + id + "/timeline", note, responder_, "note-1");
  ASSERT_EQ(n1.status, 201) << n1.body;
  auto n2 = Post("/api/v1/incidents/" + id + "/timeline", note, responder_, "note-1");
  ExpectReplay(n1, n2);
  int notes = 0;
  Json timeline = Get("/api/v1/incidents/" + id + "/timeline");
  for (const auto& e : timeline["events"]) {
    if (e["kind"] == "note") ++notes;
  }
  EXPECT_EQ(notes, 1);
}

TEST_F(DurabilityIntegration, ARetriedSignalRecordsOneSignal) {
  Json signal = {{"kind", "alert.latency"}, {"agent", "support-bot"}, {"reason", "p99 over 8 s"},
                 {"severity", "SEV-3"}};
  auto first = Post("/api/v1/signals", signal, agent_, "sig:2026-12-02/1");
  ASSERT_EQ(first.status, 201) << first.body;
  auto second = Post("/api/v1/signals", signal, agent_, "sig:2026-12-02/1");
  ExpectReplay(first, second);
  EXPECT_EQ(Get("/api/v1/signals")["signals"].size(), 1u);
}

TEST_F(DurabilityIntegration, AKeyIsBoundToItsRequestAndToItsToken) {
  Json declare = {{"title", "one"}, {"agent", "support-bot"}, {"severity", "SEV-4"},
                  {"reason", "seen"}};
  ASSERT_EQ(Post("/api/v1/incidents", declare, responder_, "k-1").status, 201);
  // Another body with the same key: refused, nothing written.
  Json other = {{"title", "two"}, {"agent", "support-bot"}, {"severity", "SEV-4"},
                  {"reason", "seen"}};
  auto reused = Post("/api/v1/incidents", other, responder_, "k-1");
  EXPECT_EQ(reused.status, 409) << reused.body;
  EXPECT_EQ(reused.json["error"]["code"], "conflict");
  EXPECT_EQ(Get("/api/v1/incidents")["incidents"].size(), 1u);
  // Another token with the same key does not get alice's answer: its request runs.
  auto bobs = Post("/api/v1/incidents", declare, responder2_, "k-1");
  EXPECT_EQ(bobs.status, 201) << bobs.body;
  EXPECT_EQ(bobs.headers.count("idempotent-replayed"), 0u);
  EXPECT_EQ(Get("/api/v1/incidents")["incidents"].size(), 2u);
}

TEST_F(DurabilityIntegration, AMalformedKeyIsRefusedAndWritesNothing) {
  Json declare = {{"title", "x"}, {"agent", "support-bot"}, {"severity", "SEV-4"},
                  {"reason", "seen"}};
  for (const std::string& key : {std::string(256, 'a'), std::string("has space"),
                                 std::string("semi;colon"), std::string("caf\xc3\xa9")}) {
    auto r = Post("/api/v1/incidents", declare, responder_, key);
    EXPECT_EQ(r.status, 400) << key << ": " << r.body;
    EXPECT_EQ(r.json["error"]["code"], "invalid_argument");
  }
  EXPECT_EQ(Post("/api/v1/incidents", declare, responder_, std::string(255, 'a')).status, 201);
  EXPECT_EQ(Get("/api/v1/incidents")["incidents"].size(), 1u);
}

TEST_F(DurabilityIntegration, AnAgentTokenCannotSuggestMoreThanSev2) {
  Json signal = {{"kind", "self.report"}, {"agent", "support-bot"}, {"reason", "I leaked a card"},
                 {"severity", "SEV-1"}};
  auto agent = Post("/api/v1/signals", signal, agent_, "");
  ASSERT_EQ(agent.status, 201) << agent.body;
  const Json& s = agent.json["signals"][0];
  EXPECT_EQ(s["severity"], "SEV-2");
  EXPECT_EQ(s["suggested_severity"], "SEV-1") << "the agent's word is kept as it said it";
  const Json& inc = s["incident_detail"];
  EXPECT_EQ(inc["severity"], "SEV-2");
  std::string reason = inc["classification_reason"];
  EXPECT_NE(reason.find("lowered to SEV-2"), std::string::npos) << reason;
  EXPECT_NE(reason.find("max_agent_severity"), std::string::npos) << reason;

  // Naming a kind whose rule says SEV-1 (personal data) does not get past the ceiling either.
  auto pii = Post("/api/v1/signals",
                  Json{{"kind", "pii"}, {"agent", "support-bot"}, {"reason", "self-reported leak"}},
                  agent_, "");
  ASSERT_EQ(pii.status, 201) << pii.body;
  EXPECT_EQ(pii.json["signals"][0]["severity"], "SEV-2") << pii.body;

  // A responder's suggestion is taken as given.
  signal["kind"] = "human.report";
  auto person = Post("/api/v1/signals", signal, responder_, "");
  ASSERT_EQ(person.status, 201) << person.body;
  EXPECT_EQ(person.json["signals"][0]["severity"], "SEV-1");
}

TEST(DurabilityPolicy, TheCeilingForAgentTokensIsAPolicySetting) {
  TempDir dir;
  std::string config = dir.path() + "/firebreak.toml";
  std::ofstream(config) << "[classification]\nmax_agent_severity = 3\n";
  ServerProcess server({"--config", config});
  std::string agent = server.CreateToken("bot", "agent", "support-bot");
  Json signal = {{"kind", "self.report"}, {"agent", "support-bot"}, {"reason", "odd"},
                 {"severity", "SEV-1"}};
  auto r = HttpCall(server.port(), "POST", "/api/v1/signals", signal.dump(), agent);
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.json["signals"][0]["severity"], "SEV-3");
}

void ExecRaw(const std::string& db_path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

TEST_F(DurabilityIntegration, AuditVerifyNamesTheLastAnchorAndCatchesARemovedTail) {
  for (int i = 0; i < 3; ++i) {
    Json declare = {{"title", "t" + std::to_string(i)}, {"agent", "support-bot"},
                    {"severity", "SEV-4"}, {"reason", "seen"}};
    ASSERT_EQ(Post("/api/v1/incidents", declare, responder_, "").status, 201);
  }
  // A clean stop anchors the head.
  ASSERT_EQ(server_->Stop(), 0);
  struct stat st {};
  ASSERT_EQ(::stat((server_->data_dir() + "/audit.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  server_->Start();
  HttpResult ok = server_->Call("GET", "/api/v1/audit/verify");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_TRUE(ok.json["intact"].get<bool>()) << ok.body;
  ASSERT_TRUE(ok.json["last_anchor"].is_object()) << ok.body;
  int64_t anchored = ok.json["last_anchor"]["seq"];
  EXPECT_EQ(anchored, ok.json["events_checked"].get<int64_t>());
  CommandResult cli = server_->Cli({"audit", "verify"});
  EXPECT_EQ(cli.exit_code, 0) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("last anchored event: " + std::to_string(anchored)), std::string::npos)
      << cli.out;

  // Someone with the database file drops the newest events.
  server_->Kill();
  ExecRaw(server_->data_dir() + "/firebreak.db",
          ("DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > " +
           std::to_string(anchored - 2))
              .c_str());
  server_->Start();
  HttpResult broken = server_->Call("GET", "/api/v1/audit/verify");
  ASSERT_EQ(broken.status, 200) << broken.body;
  EXPECT_FALSE(broken.json["intact"].get<bool>()) << broken.body;
  std::string problem = broken.json["problem"];
  EXPECT_NE(problem.find("removed from its tail"), std::string::npos) << problem;
  CommandResult bad = server_->Cli({"audit", "verify"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("audit chain BROKEN"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace firebreak::testing
