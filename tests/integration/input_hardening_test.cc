// Hostile input through the API, as an agent or an attacker sends it: multi-byte text at every
// length limit, deep nesting, wrong JSON types, numbers that do not fit, impossible dates and
// names that look like paths. Each is answered (a clean 4xx, or a success that stores valid
// text) and none of them changes what the next request can do.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/text.h"
#include "support/server_process.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

// `n` copies of a character `width` bytes long (1: 'a', 2: é, 3: €, 4: 🔥).
std::string Chars(int width, size_t n) {
  static const char* kChar[] = {"", "a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x94\xA5"};
  std::string out;
  for (size_t i = 0; i < n; ++i) out += kChar[width];
  return out;
}

// Byte lengths around a limit, reachable with `width`-byte characters.
std::vector<size_t> LengthsAround(size_t limit, int width) {
  std::vector<size_t> out;
  for (size_t bytes = limit > 8 ? limit - 8 : 0; bytes <= limit + 8; ++bytes) {
    if (bytes % static_cast<size_t>(width) == 0) out.push_back(bytes / static_cast<size_t>(width));
  }
  return out;
}

class InputHardening : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<ServerProcess>();
    agent_ = server_->CreateToken("bot", "agent", "support-bot");
    responder_ = server_->CreateToken("am", "responder");
  }

  // Every write path still works: declare an incident and add a note to it.
  void ExpectWritesStillWork() {
    auto declared = server_->Call("POST", "/api/v1/incidents",
                                  Json{{"title", "still writable"}, {"agent", "support-bot"}}.dump());
    ASSERT_EQ(declared.status, 201) << declared.body;
    std::string id = declared.json["id"].is_string() ? declared.json["id"].get<std::string>()
                                                     : std::to_string(declared.json["id"].get<int64_t>());
    auto note = server_->Call("POST", "/api/v1/incidents/" + id + "/timeline",
                              Json{{"text", "a note " + Chars(2, 10)}}.dump());
    EXPECT_EQ(note.status, 201) << note.body;
  }

  std::unique_ptr<ServerProcess> server_;
  std::string agent_;
  std::string responder_;
};

// The defect that stopped production: a reason of 120 × "é" cut mid-character made the strict
// JSON dump throw inside a write transaction, and every later write failed until a restart.
TEST_F(InputHardening, MultiByteSignalReasonsAtEveryLimitAreStoredWhole) {
  auto first = server_->Call("POST", "/api/v1/signals",
                             Json{{"kind", "quality"}, {"agent", "support-bot"}, {"severity", "SEV-2"},
                                  {"reason", Chars(2, 120)}}.dump(),
                             &agent_);
  ASSERT_EQ(first.status, 201) << first.body;
  ExpectWritesStillWork();

  // The signal title is cut at 180 bytes and the classification reason at 2000, both on
  // character boundaries; the reason itself may be up to 2000 bytes.
  int n = 0;
  for (int width = 2; width <= 4; ++width) {
    for (size_t limit : {size_t{180}, size_t{2000}}) {
      for (size_t count : LengthsAround(limit, width)) {
        std::string reason = Chars(width, count);
        auto r = server_->Call("POST", "/api/v1/signals",
                               Json{{"kind", "k" + std::to_string(++n)}, {"agent", "support-bot"},
                                    {"severity", "SEV-3"}, {"reason", reason}}.dump(),
                               &agent_);
        if (reason.size() > 2000) {
          EXPECT_EQ(r.status, 400) << reason.size();
          EXPECT_EQ(r.json["error"]["code"], "invalid_argument") << r.body;
          continue;
        }
        ASSERT_EQ(r.status, 201) << width << " " << count << " " << r.body;
        EXPECT_EQ(r.json["signals"][0]["reason"], reason);
      }
    }
  }
  auto incidents = server_->Call("GET", "/api/v1/incidents?limit=1000");
  ASSERT_EQ(incidents.status, 200);
  ASSERT_FALSE(incidents.json["incidents"].empty());
  for (const auto& inc : incidents.json["incidents"]) {
    std::string title = inc["title"];
    EXPECT_LE(title.size(), 180u);
    EXPECT_TRUE(IsValidUtf8(title));
  }
  ExpectWritesStillWork();
}

TEST_F(InputHardening, NonAsciiAlertmanagerSummariesOfAnyLengthAreAccepted) {
  for (int width = 2; width <= 4; ++width) {
    for (size_t count : {size_t{100}, size_t{181}, size_t{999}, size_t{2001}}) {
      std::string summary = Chars(width, count);
      Json payload = {{"version", "4"},
                      {"status", "firing"},
                      {"alerts",
                       {{{"status", "firing"},
                         {"labels", {{"alertname", "Err" + std::to_string(width) + "x" + std::to_string(count)},
                                     {"agent", "support-bot"}, {"severity", "warning"}}},
                         {"annotations", {{"summary", summary}}},
                         {"startsAt", "2026-11-29T10:00:00.123456789Z"},
                         {"fingerprint", "f" + std::to_string(width * 10000 + count)}}}}};
      auto r = server_->Call("POST", "/api/v1/alerts/alertmanager", payload.dump(), &responder_);
      ASSERT_EQ(r.status, 200) << width << " " << count << " " << r.body;
      std::string reason = r.json["signals"][0]["reason"];
      EXPECT_LE(reason.size(), 2000u);
      EXPECT_TRUE(IsValidUtf8(reason));
    }
  }
  ExpectWritesStillWork();
}

TEST_F(InputHardening, AlertmanagerFieldsOfTheWrongTypeAre400) {
  Json good = {{"version", "4"},
               {"alerts",
                {{{"status", "firing"},
                  {"labels", {{"alertname", "ErrorRate"}, {"agent", "support-bot"}}},
                  {"annotations", {{"summary", "errors"}}},
                  {"startsAt", "2026-11-29T10:00:00Z"},
                  {"fingerprint", "abc"}}}}};
  std::vector<Json> bad;
  for (const char* field : {"status", "startsAt", "fingerprint", "generatorURL"}) {
    for (const Json& wrong : {Json(5), Json::array({1}), Json::object(), Json(true)}) {
      Json b = good;
      b["alerts"][0][field] = wrong;
      bad.push_back(b);
    }
  }
  Json top_status = good;
  top_status["status"] = 42;
  bad.push_back(top_status);
  Json bad_time = good;
  bad_time["alerts"][0]["startsAt"] = "2024-02-31T00:00:00Z";
  bad.push_back(bad_time);
  for (const Json& b : bad) {
    auto r = server_->Call("POST", "/api/v1/alerts/alertmanager", b.dump(), &responder_);
    EXPECT_EQ(r.status, 400) << b.dump();
    EXPECT_EQ(r.json["error"]["code"], "invalid_argument") << r.body;
  }
  EXPECT_EQ(server_->Call("GET", "/api/v1/signals").json["signals"].size(), 0u);
  ExpectWritesStillWork();
}

// 100,000 levels of nesting crashed the process (parsing, copying and dumping all recurse).
TEST_F(InputHardening, DeeplyNestedJsonIsRefusedEverywhere) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  std::string deep_object;
  for (int i = 0; i < 100000; ++i) deep_object += "{\"a\":";
  deep_object += "1" + std::string(100000, '}');
  struct Case {
    std::string path;
    std::string body;
    const std::string* token;
  };
  std::string admin = server_->admin_token();
  std::vector<Case> cases = {
      {"/api/v1/signals", R"({"kind":"x","agent":"support-bot","reason":"r","measured":{"m":)" + deep + "}}", &agent_},
      {"/api/v1/memory/support-bot/records", R"({"records":[{"text":"t","metadata":)" + deep_object + "}]}", &agent_},
      {"/api/v1/memory/support-bot/search", R"({"text":"t","filter":)" + deep_object + "}", &agent_},
      {"/api/v1/alerts/alertmanager", R"({"version":"4","alerts":[{"labels":)" + deep_object + "}]}", &responder_},
      {"/api/v1/agents/support-bot/versions", R"({"version":"v1","manifest":{"model":"m","config":)" + deep_object + "}}", &admin},
      {"/api/v1/traces", R"({"traces":[{"trace_id":"t1","agent":"support-bot","input":)" + deep + "}]}", &agent_},
      {"/v1/traces", R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"arrayValue":{"values":)" + deep + "}}}]}]}]}]}", &agent_},
  };
  for (const Case& c : cases) {
    auto r = server_->Call("POST", c.path, c.body, c.token);
    EXPECT_EQ(r.status, 400) << c.path << " " << r.body.substr(0, 200);
  }
  EXPECT_EQ(server_->Call("GET", "/healthz").status, 200);
  ExpectWritesStillWork();
}

TEST_F(InputHardening, NumbersThatDoNotFitAreRefusedNotWrapped) {
  // 4294967301 is 2^32 + 5: narrowed to int it would be 5.
  auto r = server_->Call("POST", "/api/v1/memory/support-bot/search",
                         R"({"text":"refund","k":4294967301})", &agent_);
  EXPECT_EQ(r.status, 400) << r.body;
  r = server_->Call("POST", "/api/v1/signals",
                    R"({"kind":"x","agent":"support-bot","reason":"r","severity":4294967297})", &agent_);
  EXPECT_EQ(r.status, 400) << r.body;
  for (const char* t : {"2024-02-31T00:00:00Z", "2026-11-29T14:24:05+99:99", "9999999999-01-01T00:00:00Z"}) {
    r = server_->Call("POST", "/api/v1/signals",
                      Json{{"kind", "x"}, {"agent", "support-bot"}, {"reason", "r"}, {"detected_at", t}}.dump(),
                      &agent_);
    EXPECT_EQ(r.status, 400) << t << " " << r.body;
  }
  EXPECT_EQ(server_->Call("GET", "/api/v1/signals").json["signals"].size(), 0u);
}

TEST_F(InputHardening, NamesThatLookLikePathsOrRunForMegabytesAreRefused) {
  std::string huge(10 << 20, 'a');
  for (const std::string& name : {std::string("../../etc/passwd"), std::string(".."), huge}) {
    auto inc = server_->Call("POST", "/api/v1/incidents", Json{{"title", "t"}, {"agent", name}}.dump());
    EXPECT_EQ(inc.status, 400) << inc.body.substr(0, 200);
    auto sig = server_->Call("POST", "/api/v1/signals",
                             Json{{"kind", "x"}, {"agent", name}, {"reason", "r"}}.dump());
    EXPECT_EQ(sig.status, 400) << sig.body.substr(0, 200);
    auto ver = server_->Call("POST", "/api/v1/agents/support-bot/versions",
                             Json{{"version", name}, {"manifest", {{"model", "m"}, {"prompt_hash", "h"}}}}.dump());
    EXPECT_EQ(ver.status, 400) << ver.body.substr(0, 200);
  }
  auto big_reason = server_->Call("POST", "/api/v1/signals",
                                  Json{{"kind", "x"}, {"agent", "support-bot"}, {"reason", huge}}.dump());
  EXPECT_EQ(big_reason.status, 400);
  auto big_title = server_->Call("POST", "/api/v1/incidents", Json{{"title", huge}, {"agent", "support-bot"}}.dump());
  EXPECT_EQ(big_title.status, 400);
  EXPECT_EQ(server_->Call("GET", "/api/v1/incidents").json["incidents"].size(), 0u);
  EXPECT_EQ(server_->Call("GET", "/api/v1/signals").json["signals"].size(), 0u);
}

}  // namespace
}  // namespace firebreak::testing
