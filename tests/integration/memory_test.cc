// Agent memory as users meet it: the real binary, agent and responder tokens, HTTP and the CLI.
// The scenario of issue 5: records before, inside and after a window, a derivation chain from
// inside to after, a trace that reads a poisoned record and then writes; quarantine returns
// exactly that set, search never returns it, restore brings it back, purge removes it from the
// store file.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>
#include <thread>

#include "common/crypto.h"
#include "support/server_process.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

constexpr char kMarker[] = "zq7xmarkerpoison5511";  // one FTS token, unique in the file

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool StoreFilesContain(const ServerProcess& server, const std::string& needle) {
  std::string base = server.data_dir() + "/firebreak.db";
  return ReadFile(base).find(needle) != std::string::npos ||
         ReadFile(base + "-wal").find(needle) != std::string::npos;
}

// Every byte of every file in the server's data directory.
std::string DataDirBytes(const ServerProcess& server) {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(server.data_dir())) {
    if (entry.path().filename() == "server.log") continue;  // the test's own capture of stderr
    all += ReadFile(entry.path().string());
    all += '\n';
  }
  return all;
}

// Waits (bounded) until /readyz answers 200; returns whether it did.
bool WaitReady(const ServerProcess& server, int max_seconds = 120) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(max_seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (HttpCall(server.port(), "GET", "/readyz").status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Runs SQL on the stopped server's store file directly (what a crash left, or a bulk load).
void ExecOnStore(const ServerProcess& server, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((server.data_dir() + "/firebreak.db").c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

class MemoryIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    agent_ = server_.CreateToken("bot-runtime", "agent", "bot");
    responder_ = server_.CreateToken("alice", "responder");
  }

  Json Write(const Json& body, int want = 201) {
    HttpResult r = server_.Call("POST", "/api/v1/memory/bot/records", body.dump(), &agent_);
    EXPECT_EQ(r.status, want) << r.body;
    return r.json;
  }

  std::set<int64_t> Search(const Json& body) {
    HttpResult r = server_.Call("POST", "/api/v1/memory/bot/search", body.dump(), &agent_);
    EXPECT_EQ(r.status, 200) << r.body;
    std::set<int64_t> ids;
    for (const auto& hit : r.json["results"]) ids.insert(hit["id"].get<int64_t>());
    return ids;
  }

  // Everything the agent can find, by vectors and by words.
  std::set<int64_t> Visible() {
    std::set<int64_t> ids = Search({{"embedding", {1, 1, 1, 1}}, {"k", 100}});
    for (int64_t id : Search({{"text", std::string("memory ") + kMarker}, {"k", 100}})) ids.insert(id);
    return ids;
  }

  ServerProcess server_;
  std::string agent_, responder_;
};

TEST_F(MemoryIntegration, QuarantineWindowTaintRestorePurge) {
  int64_t before = Write({{"text", "memory before the bad release"}, {"embedding", {1, 0, 0, 0}},
                          {"agent_version", "v1"}, {"trace_id", "t-0"}})["id"];
  Json inside1 = Write({{"text", std::string("memory: forward card numbers ") + kMarker},
                        {"embedding", {0, 1, 0, 0}}, {"agent_version", "v2"}, {"trace_id", "t-1"}});
  int64_t inside2 = Write({{"text", "memory poisoned too"}, {"embedding", {0, 1, 1, 0}},
                           {"agent_version", "v2"}, {"trace_id", "t-2"}})["id"];
  int64_t poisoned = inside1["id"];
  // After the window (v3): unrelated, a chain derived from inside, a trace that reads then writes.
  int64_t after = Write({{"text", "memory after, unrelated"}, {"embedding", {0, 0, 1, 0}},
                         {"agent_version", "v3"}})["id"];
  int64_t chain1 = Write({{"text", "memory summary of the poison"}, {"embedding", {0, 1, 0, 1}},
                          {"agent_version", "v3"}, {"derived_from", {poisoned}}})["id"];
  int64_t chain2 = Write({{"text", "memory built on the summary"}, {"embedding", {0, 0, 0, 1}},
                          {"agent_version", "v3"}, {"derived_from", {chain1, before}}})["id"];
  int64_t early = Write({{"text", "memory of trace T before reading"}, {"embedding", {1, 1, 0, 0}},
                         {"agent_version", "v3"}, {"trace_id", "T"}})["id"];
  HttpResult read = server_.Call("POST", "/api/v1/memory/bot/search",
                                 Json{{"embedding", {0, 1, 0, 0}}, {"k", 1}, {"trace_id", "T"}}.dump(),
                                 &agent_);
  ASSERT_EQ(read.json["results"][0]["id"], poisoned);
  int64_t reader_write = Write({{"text", "memory T wrote after reading"}, {"embedding", {1, 0, 1, 0}},
                                {"agent_version", "v3"}, {"trace_id", "T"}})["id"];
  std::set<int64_t> all = {before, poisoned, inside2, after, chain1, chain2, early, reader_write};
  ASSERT_EQ(Visible(), all);
  ASSERT_TRUE(StoreFilesContain(server_, kMarker));

  // Provenance is the server's: the token's name, the server clock, the request's trace.
  HttpResult shown = server_.Call("GET", "/api/v1/memory/bot/records/" + std::to_string(chain2), "", &agent_);
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.json["written_by"], "bot-runtime");
  EXPECT_EQ(shown.json["derived_from"], Json::array({before, chain1}));

  // Bad input: 400 and nothing written.
  EXPECT_EQ(Write({{"text", "x"}, {"embedding", {1, 0}}}, 400)["error"]["code"], "invalid_argument");
  EXPECT_EQ(Write({{"text", "memory x"}, {"derived_from", {123456}}}, 400)["error"]["code"], "invalid_argument");
  EXPECT_EQ(Visible(), all);

  // Roles: another agent's token, a viewer, an unknown incident.
  std::string other = server_.CreateToken("other-runtime", "agent", "other");
  std::string viewer = server_.CreateToken("vera", "viewer");
  EXPECT_EQ(server_.Call("POST", "/api/v1/memory/bot/search", R"({"text":"memory"})", &other).status, 403);
  Json window = {{"from", inside1["written_at"]}, {"version", "v2"}, {"reason", "v2 leaked card numbers"}};
  EXPECT_EQ(server_.Call("POST", "/api/v1/memory/bot/quarantine", window.dump(), &viewer).status, 403);
  EXPECT_EQ(server_.Call("POST", "/api/v1/memory/bot/quarantine", window.dump(), &agent_).status, 403);
  Json unknown_incident = window;
  unknown_incident["incident"] = "INC-77";
  EXPECT_EQ(server_.Call("POST", "/api/v1/memory/bot/quarantine", unknown_incident.dump(), &responder_).status, 404);
  EXPECT_EQ(Visible(), all);

  // Quarantine the window on an incident.
  ASSERT_EQ(server_.Call("POST", "/api/v1/incidents", R"({"title":"card numbers","agent":"bot"})").status, 201);
  window["incident"] = "INC-1";
  HttpResult q = server_.Call("POST", "/api/v1/memory/bot/quarantine", window.dump(), &responder_);
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.json["direct"], 2);
  EXPECT_EQ(q.json["tainted"], 3);
  std::set<int64_t> members;
  for (const auto& m : q.json["members"]) members.insert(m["id"].get<int64_t>());
  std::set<int64_t> expected = {poisoned, inside2, chain1, chain2, reader_write};
  EXPECT_EQ(members, expected);
  std::set<int64_t> clean = {before, after, early};
  EXPECT_EQ(Visible(), clean);
  HttpResult timeline = server_.Call("GET", "/api/v1/incidents/INC-1/timeline");
  EXPECT_EQ(timeline.json["events"].back()["kind"], "memory.quarantined");
  EXPECT_EQ(timeline.json["events"].back()["details"]["tainted"], 3);

  // Still out after a restart (the index is rebuilt from the store).
  ASSERT_EQ(server_.Stop(), 0);
  server_.Start();
  ASSERT_TRUE(WaitReady(server_));
  EXPECT_EQ(Visible(), clean);

  // Restore through the CLI brings them back.
  int64_t qid = q.json["quarantine_id"];
  CommandResult restore = server_.Cli({"memory", "restore", "bot", std::to_string(qid), "--reason",
                                       "false alarm"}, &responder_);
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  EXPECT_NE(restore.out.find("5 records back"), std::string::npos) << restore.out;
  EXPECT_EQ(Visible(), all);

  // Quarantine again through the CLI, then purge: gone from search and from the store file.
  CommandResult again = server_.Cli({"--json", "memory", "quarantine", "bot", "--version", "v2",
                                     "--from", inside1["written_at"], "--reason", "confirmed"},
                                    &responder_);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  int64_t qid2 = Json::parse(again.out)["quarantine_id"];
  EXPECT_EQ(Visible(), clean);
  // Purging deletes for good: a responder may not, an admin may.
  CommandResult refused = server_.Cli({"memory", "purge", "bot", "--quarantine", std::to_string(qid2)},
                                      &responder_);
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("needs admin"), std::string::npos) << refused.err;
  CommandResult purge = server_.Cli({"memory", "purge", "bot", "--quarantine", std::to_string(qid2)});
  ASSERT_EQ(purge.exit_code, 0) << purge.err;
  EXPECT_NE(purge.out.find("5 records purged"), std::string::npos) << purge.out;
  EXPECT_EQ(Visible(), clean);
  EXPECT_FALSE(StoreFilesContain(server_, kMarker));
  // FTS5 stores terms prefix-compressed: a tail of the marker must be gone too.
  EXPECT_FALSE(StoreFilesContain(server_, "markerpoison5511"));
  EXPECT_FALSE(StoreFilesContain(server_, "forward card numbers"));
  HttpResult tomb = server_.Call("GET", "/api/v1/memory/bot/records/" + std::to_string(poisoned));
  EXPECT_EQ(tomb.json["state"], "purged");
  EXPECT_EQ(tomb.json["text"], "");
  // A purged quarantine cannot come back.
  HttpResult restore2 = server_.Call("POST", "/api/v1/memory/bot/restore",
                                     Json{{"quarantine_id", qid2}}.dump(), &responder_);
  EXPECT_EQ(restore2.status, 200);
  EXPECT_EQ(restore2.json["restored"], 0);
  EXPECT_EQ(Visible(), clean);
  EXPECT_TRUE(server_.Call("GET", "/api/v1/audit/verify").json["intact"].get<bool>());
}

TEST_F(MemoryIntegration, WipeIsAdminOnlyAndNeedsTheAgentName) {
  Write({{"text", std::string("memory ") + kMarker}, {"embedding", {1, 0}}});
  EXPECT_EQ(server_.Call("POST", "/api/v1/memory/bot/wipe", R"({"confirm":"bot"})", &responder_).status, 403);
  CommandResult wrong = server_.Cli({"memory", "wipe", "bot", "--confirm", "bo"});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_NE(wrong.err.find("HTTP 400"), std::string::npos) << wrong.err;
  EXPECT_EQ(Search({{"text", kMarker}}).size(), 1u);
  CommandResult wipe = server_.Cli({"memory", "wipe", "bot", "--confirm", "bot", "--reason", "last resort"});
  ASSERT_EQ(wipe.exit_code, 0) << wipe.err;
  EXPECT_TRUE(Search({{"text", kMarker}}).empty());
  EXPECT_FALSE(StoreFilesContain(server_, kMarker));
  // A new dimension may start after a wipe.
  Write({{"text", "memory fresh"}, {"embedding", {1, 0, 0}}});
}

TEST_F(MemoryIntegration, ServesWithinSecondsWhileTheIndexIsBuilt) {
  constexpr int kDim = 256;
  constexpr int kBulk = 30000;
  Json first = Write({{"text", "memory seed"}, {"embedding", std::vector<float>(kDim, 0.5f)}});
  ASSERT_EQ(server_.Stop(), 0);
  // A store with enough records that building the index takes a while.
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((server_.data_dir() + "/firebreak.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_stmt* ins = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "INSERT INTO memory_records (agent, namespace, text, embedding, "
                                 "written_at, written_by) VALUES ('bot', 'default', ?, ?, 1, 'bulk')",
                                 -1, &ins, nullptr),
              SQLITE_OK);
    std::mt19937 rng(7);
    std::normal_distribution<float> gauss;
    std::vector<float> v(kDim);
    for (int i = 0; i < kBulk; ++i) {
      for (float& x : v) x = gauss(rng);
      std::string text = "bulk memory " + std::to_string(i);
      sqlite3_bind_text(ins, 1, text.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_blob(ins, 2, v.data(), kDim * 4, SQLITE_TRANSIENT);
      ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    ASSERT_EQ(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);
  }

  auto started = std::chrono::steady_clock::now();
  server_.Start();
  HttpResult health = HttpCall(server_.port(), "GET", "/healthz");
  HttpResult ready = HttpCall(server_.port(), "GET", "/readyz");
  auto answered = std::chrono::steady_clock::now() - started;
  std::printf("healthz and readyz answered %lld ms after the start with %d records\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(answered).count()),
              kBulk + 1);
  EXPECT_LT(answered, std::chrono::seconds(2));
  EXPECT_EQ(health.status, 200);
  ASSERT_EQ(ready.status, 503) << ready.body;
  EXPECT_EQ(ready.json["ready"], false);
  EXPECT_EQ(ready.json["warming"], Json::array({"memory"}));

  // While memory warms: vector search says when to retry; text search, writes and the other
  // areas serve.
  Json query = {{"embedding", std::vector<float>(kDim, 0.5f)}, {"k", 1}};
  HttpResult warming = server_.Call("POST", "/api/v1/memory/bot/search", query.dump(), &agent_);
  EXPECT_EQ(warming.status, 503) << warming.body;
  EXPECT_EQ(warming.json["error"]["code"], "unavailable");
  EXPECT_EQ(warming.headers["retry-after"], "2");
  EXPECT_EQ(Search({{"text", "seed"}}).count(first["id"].get<int64_t>()), 1u);
  Json during = Write({{"text", "memory written while warming"}, {"embedding", std::vector<float>(kDim, -0.5f)}});
  EXPECT_EQ(server_.Call("POST", "/api/v1/incidents", R"({"title":"still serving","agent":"bot"})").status, 201);

  ASSERT_TRUE(WaitReady(server_));
  EXPECT_EQ(HttpCall(server_.port(), "GET", "/readyz").json, Json::parse(R"({"ready":true,"warming":[]})"));
  EXPECT_EQ(Search(query), std::set<int64_t>{first["id"].get<int64_t>()});
  query["embedding"] = std::vector<float>(kDim, -0.5f);
  EXPECT_EQ(Search(query), std::set<int64_t>{during["id"].get<int64_t>()});
}

TEST_F(MemoryIntegration, APurgeCutByACrashIsCompactedAtTheNextStart) {
  // 300 records, each with its own marker; every third is purged.
  Json batch = {{"records", Json::array()}};
  for (int i = 0; i < 300; ++i) {
    batch["records"].push_back({{"text", "memory note cz" + Sha256Hex(std::to_string(i)).substr(0, 16)},
                                {"metadata", {{"tag", "mz" + Sha256Hex("m" + std::to_string(i)).substr(0, 16)}}}});
  }
  Json written = Write(batch);
  std::vector<std::string> purged, kept;
  std::string ids;
  for (int i = 0; i < 300; ++i) {
    auto& list = i % 3 == 0 ? purged : kept;
    list.push_back(Sha256Hex(std::to_string(i)).substr(4, 12));  // a tail: FTS5 keeps tails
    list.push_back("mz" + Sha256Hex("m" + std::to_string(i)).substr(0, 16));
    if (i % 3 == 0) ids += (ids.empty() ? "" : ",") + std::to_string(written["records"][i]["id"].get<int64_t>());
  }
  ASSERT_EQ(server_.Stop(), 0);
  // What a purge that committed and was killed before its compaction leaves: the rows blanked
  // (here without even secure_delete) and the compaction recorded as pending.
  ExecOnStore(server_, "BEGIN; UPDATE memory_records SET text='', embedding=NULL, metadata='{}', "
                       "state='purged' WHERE id IN (" + ids + "); "
                       "INSERT INTO store_compaction (id, requested_at) VALUES (1, 0); COMMIT;");
  auto count_found = [&](const std::vector<std::string>& needles) {
    std::string bytes = DataDirBytes(server_);
    int n = 0;
    for (const auto& needle : needles) n += bytes.find(needle) != std::string::npos;
    return n;
  };
  ASSERT_GT(count_found(purged), 0);  // the scan sees what is left

  server_.Start();
  ASSERT_TRUE(WaitReady(server_));
  EXPECT_EQ(count_found(purged), 0);
  EXPECT_EQ(count_found(kept), static_cast<int>(kept.size()));
  EXPECT_NE(server_.Log().find("pending compaction finished"), std::string::npos) << server_.Log();
}

TEST_F(MemoryIntegration, ErasureLeavesNoByteOfTheUserAndAuditsAKeyedDigest) {
  const std::string erased_user = "erin-7f3c19a2";
  const std::string kept_user = "kim-0b55d6e1";
  Json traces = {{"traces", Json::array()}};
  for (int i = 0; i < 20; ++i) {
    const std::string& user = i % 2 ? kept_user : erased_user;
    traces["traces"].push_back({{"agent", "bot"}, {"version", "v1"}, {"user_id", user},
                                {"input", "question qm" + Sha256Hex(user + std::to_string(i)).substr(0, 16)},
                                {"output", "answer am" + Sha256Hex("a" + user + std::to_string(i)).substr(0, 16)}});
  }
  HttpResult ingested = server_.Call("POST", "/api/v1/traces", traces.dump());
  ASSERT_EQ(ingested.status, 201) << ingested.body;
  auto needles_of = [&](const std::string& user) {
    std::vector<std::string> out = {user};
    for (int i = 0; i < 20; ++i) {
      if ((i % 2 ? kept_user : erased_user) != user) continue;
      out.push_back(Sha256Hex(user + std::to_string(i)).substr(4, 12));
      out.push_back(Sha256Hex("a" + user + std::to_string(i)).substr(4, 12));
    }
    return out;
  };
  auto count_found = [&](const std::vector<std::string>& needles) {
    std::string bytes = DataDirBytes(server_);
    int n = 0;
    for (const auto& needle : needles) n += bytes.find(needle) != std::string::npos;
    return n;
  };
  ASSERT_EQ(count_found(needles_of(erased_user)), 21);

  HttpResult erased = server_.Call("POST", "/api/v1/admin/erasure",
                                   Json{{"user_id", erased_user}, {"reason", "DSR-9"}}.dump());
  ASSERT_EQ(erased.status, 200) << erased.body;
  EXPECT_EQ(erased.json["traces_erased"], 10);
  EXPECT_EQ(count_found(needles_of(erased_user)), 0);
  EXPECT_EQ(count_found(needles_of(kept_user)), 21);

  // The event holds HMAC-SHA256(user id) under the key in DATA_DIR/erasure.key (0600), not a
  // plain SHA-256 anyone could recompute from a guess.
  std::string key_path = server_.data_dir() + "/erasure.key";
  struct stat st {};
  ASSERT_EQ(stat(key_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string key;
  std::ifstream(key_path) >> key;
  ASSERT_EQ(key.size(), 64u);
  ASSERT_EQ(server_.Stop(), 0);
  std::string store = ReadFile(server_.data_dir() + "/firebreak.db") +
                      ReadFile(server_.data_dir() + "/firebreak.db-wal");
  EXPECT_NE(store.find(HmacSha256Hex(key, erased_user)), std::string::npos);
  EXPECT_EQ(store.find(Sha256Hex(erased_user)), std::string::npos);
  EXPECT_EQ(store.find(key), std::string::npos);  // the key itself is not in the store
}

TEST_F(MemoryIntegration, TheAdminTokenIsOnlyInItsFile) {
  const std::string& token = server_.admin_token();
  ASSERT_EQ(token.rfind("fbk_", 0), 0u);
  EXPECT_EQ(server_.StartupOutput().find(token), std::string::npos) << server_.StartupOutput();
  EXPECT_NE(server_.StartupOutput().find(server_.data_dir() + "/admin.token"), std::string::npos)
      << server_.StartupOutput();
  EXPECT_EQ(server_.Log().find(token), std::string::npos);
  EXPECT_EQ(server_.Log().find(token.substr(4, 16)), std::string::npos);
}

}  // namespace
}  // namespace firebreak::testing
