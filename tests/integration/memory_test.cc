// Agent memory as users meet it: the real binary, agent and responder tokens, HTTP and the CLI.
// The scenario of issue 5: records before, inside and after a window, a derivation chain from
// inside to after, a trace that reads a poisoned record and then writes; quarantine returns
// exactly that set, search never returns it, restore brings it back, purge removes it from the
// store file.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <set>

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

}  // namespace
}  // namespace firebreak::testing
