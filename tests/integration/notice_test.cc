// The public banner and updates through the real binary: GET /api/v1/status needs no token,
// answers any origin, is cacheable with an ETag; notices pass the lint (refused with its
// findings, or overridden with a reason that is audited); audiences never leak.
#include <gtest/gtest.h>

#include "common/clock.h"
#include "support/server_process.h"
#include "support/stream_client.h"

namespace firebreak::testing {
namespace {

using Json = nlohmann::json;

class NoticeIntegration : public ::testing::Test {
 protected:
  void SetUp() override {
    responder_ = server_.CreateToken("alice", "responder");
    viewer_ = server_.CreateToken("victor", "viewer");
    auto declared = server_.Call("POST", "/api/v1/incidents",
                                 Json{{"title", "card numbers in replies"}, {"agent", "support-bot"},
                                      {"severity", "SEV-1"}, {"reason", "PII detector"}}
                                     .dump());
    ASSERT_EQ(declared.status, 201) << declared.body;
    id_ = declared.json["id"];
  }

  static std::string InMinutes(int minutes) {
    return FormatTime(SystemClock().NowMs() + minutes * 60'000LL);
  }

  HttpResult Put(const Json& body, const std::string& token) {
    return HttpCall(server_.port(), "PUT", "/api/v1/incidents/" + id_ + "/notice", body.dump(), token);
  }

  ServerProcess server_;
  std::string responder_, viewer_, id_;
};

TEST_F(NoticeIntegration, TheBannerIsPublicCacheableAndShowsOnlyNotices) {
  auto empty = HttpCall(server_.port(), "GET", "/api/v1/status", "", "");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.json["notices"].size(), 0u);
  EXPECT_EQ(empty.headers["access-control-allow-origin"], "*");
  EXPECT_EQ(empty.headers["cache-control"], "public, max-age=5");

  // A viewer may not raise a banner; a responder may.
  Json notice = {{"status", "investigating"},
                 {"message", "Some replies showed payment details. We turned the feature off."},
                 {"next_update_at", InMinutes(30)}};
  EXPECT_EQ(Put(notice, viewer_).status, 403);
  auto set = Put(notice, responder_);
  ASSERT_EQ(set.status, 200) << set.body;

  // An internal update never reaches the banner.
  auto internal = HttpCall(server_.port(), "POST", "/api/v1/incidents/" + id_ + "/updates",
                           Json{{"audience", "internal"}, {"impact", "v2 leaks card numbers; rolling back"},
                                {"next_update_at", InMinutes(20)}}.dump(), responder_);
  ASSERT_EQ(internal.status, 201) << internal.body;
  auto status = HttpCall(server_.port(), "GET", "/api/v1/status", "", "");
  ASSERT_EQ(status.status, 200);
  ASSERT_EQ(status.json["notices"].size(), 1u);
  const Json& n = status.json["notices"][0];
  EXPECT_EQ(n["incident"], id_);
  EXPECT_EQ(n["severity"], "SEV-1");
  EXPECT_EQ(n["status"], "investigating");
  EXPECT_EQ(n["overdue"], false);
  EXPECT_FALSE(n["next_update_at"].is_null());
  EXPECT_EQ(status.body.find("rolling back"), std::string::npos);
  // Publishing as internal is refused.
  Json as_internal = notice;
  as_internal["audience"] = "internal";
  EXPECT_EQ(Put(as_internal, responder_).status, 409);

  // The same content again: 304 for the ETag the client holds.
  ASSERT_FALSE(status.headers["etag"].empty());
  auto cached = HttpCall(server_.port(), "GET", "/api/v1/status", "", "",
                         {{"If-None-Match", status.headers["etag"]}});
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());

  // Taken down: gone from the banner.
  EXPECT_EQ(HttpCall(server_.port(), "DELETE", "/api/v1/incidents/" + id_ + "/notice", "", responder_).status, 200);
  EXPECT_EQ(HttpCall(server_.port(), "GET", "/api/v1/status", "", "").json["notices"].size(), 0u);
}

TEST_F(NoticeIntegration, TheLintRefusesWithFindingsAndAnOverrideIsAudited) {
  // 12 users of the agent in the incident's window: "only a few" is contradicted.
  Json batch = {{"traces", Json::array()}};
  for (int i = 0; i < 12; ++i) {
    batch["traces"].push_back({{"agent", "support-bot"}, {"user_id", "user-" + std::to_string(i)},
                               {"input", "where is my order"}, {"output", "on its way"}});
  }
  auto ingested = server_.Call("POST", "/api/v1/traces", batch.dump());
  ASSERT_EQ(ingested.status, 201) << ingested.body;
  Json notice = {{"message", "Only a few users were affected; this was caused by OpenAI"},
                 {"next_update_at", InMinutes(30)}};
  auto refused = Put(notice, responder_);
  ASSERT_EQ(refused.status, 409) << refused.body;
  std::set<std::string> rules;
  for (const auto& f : refused.json["findings"]) rules.insert(f["rule"].get<std::string>());
  EXPECT_TRUE(rules.count("unconfirmed-cause")) << refused.body;
  EXPECT_TRUE(rules.count("provider-blame")) << refused.body;
  EXPECT_TRUE(rules.count("minimising")) << refused.body;
  EXPECT_EQ(HttpCall(server_.port(), "GET", "/api/v1/status", "", "").json["notices"].size(), 0u);

  // No next update and no ETA: refused, naming the rule.
  auto no_promise = Put(Json{{"message", "We are investigating."}}, responder_);
  EXPECT_EQ(no_promise.status, 409);
  EXPECT_NE(no_promise.body.find("no-next-update"), std::string::npos) << no_promise.body;

  notice["override_reason"] = "the vendor confirmed it on their status page";
  auto overridden = Put(notice, responder_);
  ASSERT_EQ(overridden.status, 200) << overridden.body;
  auto timeline = server_.Call("GET", "/api/v1/incidents/" + id_ + "/timeline");
  const Json& last = timeline.json["events"].back();
  EXPECT_EQ(last["kind"], "notice.raised");
  EXPECT_EQ(last["actor"], "alice");
  EXPECT_EQ(last["details"]["override_reason"], "the vendor confirmed it on their status page");
  EXPECT_FALSE(last["details"]["lint"].empty());

  // Lint without writing.
  auto lint = HttpCall(server_.port(), "POST", "/api/v1/incidents/" + id_ + "/lint",
                       Json{{"text", "This was caused by OpenAI."}, {"audience", "public"}}.dump(), viewer_);
  ASSERT_EQ(lint.status, 200) << lint.body;
  EXPECT_EQ(lint.json["blocking"], true);
  // The same from the CLI, against the incident's facts: exit 1 when a finding blocks.
  CommandResult cli = server_.Cli({"comms", "lint", "Only a few users were affected", "--incident", id_,
                                   "--audience", "public", "--next-update", InMinutes(30)});
  EXPECT_EQ(cli.exit_code, 1) << cli.out << cli.err;
  EXPECT_NE(cli.out.find("minimising"), std::string::npos) << cli.out;
}

// Internal updates fan out on GET /api/v1/stream (server-sent events, ids are the audit log's
// sequence numbers), and a client that reconnects with Last-Event-ID gets what it missed.
TEST_F(NoticeIntegration, InternalUpdatesStreamLiveAndAReconnectResumes) {
  StreamClient live(server_.port());
  ASSERT_TRUE(live.connected());
  live.Get("/api/v1/stream?incident=" + id_, viewer_);
  ASSERT_TRUE(live.ReadUntil("text/event-stream")) << live.received();
  auto first = HttpCall(server_.port(), "POST", "/api/v1/incidents/" + id_ + "/updates",
                        Json{{"audience", "internal"}, {"impact", "v2 leaks card numbers; rolling back"},
                             {"next_update_at", InMinutes(20)}}.dump(), responder_);
  ASSERT_EQ(first.status, 201) << first.body;
  ASSERT_TRUE(live.ReadUntil("rolling back")) << live.received();
  EXPECT_NE(live.received().find("event: comms.update"), std::string::npos) << live.received();
  // The id of the update's event, as the client saw it.
  const std::string& got = live.received();
  size_t at = got.rfind("id: ", got.find("event: comms.update"));
  ASSERT_NE(at, std::string::npos) << got;
  std::string last_id = got.substr(at + 4, got.find('\n', at) - at - 4);
  live.Close();

  // Missed while away: a note and a second update.
  ASSERT_EQ(HttpCall(server_.port(), "POST", "/api/v1/incidents/" + id_ + "/timeline",
                     Json{{"text", "vendor paged"}}.dump(), responder_).status, 201);
  ASSERT_EQ(HttpCall(server_.port(), "POST", "/api/v1/incidents/" + id_ + "/updates",
                     Json{{"audience", "internal"}, {"impact", "rollback done, watching"},
                          {"next_update_at", InMinutes(40)}}.dump(), responder_).status, 201);
  StreamClient again(server_.port());
  again.Get("/api/v1/stream?incident=" + id_, viewer_, "Last-Event-ID: " + last_id + "\r\n");
  ASSERT_TRUE(again.ReadUntil("rollback done, watching")) << again.received();
  EXPECT_NE(again.received().find("vendor paged"), std::string::npos);
  EXPECT_EQ(again.received().find("rolling back"), std::string::npos) << "already had it";

  // The stream needs a viewer token.
  StreamClient anonymous(server_.port());
  anonymous.Get("/api/v1/stream", "");
  EXPECT_TRUE(anonymous.ReadUntil("401")) << anonymous.received();
}

TEST_F(NoticeIntegration, BadInputChangesNothing) {
  EXPECT_EQ(HttpCall(server_.port(), "PUT", "/api/v1/incidents/INC-999/notice",
                     Json{{"message", "x"}, {"next_update_at", InMinutes(5)}}.dump(), responder_).status, 404);
  EXPECT_EQ(Put(Json{{"message", std::string(5000, 'a')}, {"next_update_at", InMinutes(5)}}, responder_).status, 413);
  EXPECT_EQ(Put(Json{{"message", 42}, {"next_update_at", InMinutes(5)}}, responder_).status, 400);
  EXPECT_EQ(Put(Json{{"message", "x"}, {"next_update_at", "tomorrow"}}, responder_).status, 400);
  auto update = HttpCall(server_.port(), "POST", "/api/v1/incidents/" + id_ + "/updates",
                         Json{{"audience", "everyone"}, {"impact", "x"}, {"eta", InMinutes(5)}}.dump(), responder_);
  EXPECT_EQ(update.status, 400);
  auto no_eta = HttpCall(server_.port(), "POST", "/api/v1/incidents/" + id_ + "/updates",
                         Json{{"audience", "public"}, {"impact", "Replies are slow."}}.dump(), responder_);
  EXPECT_EQ(no_eta.status, 409);
  EXPECT_NE(no_eta.body.find("no-next-update"), std::string::npos);
  EXPECT_EQ(server_.Call("GET", "/api/v1/incidents/" + id_ + "/updates").json["updates"].size(), 0u);
  EXPECT_EQ(HttpCall(server_.port(), "GET", "/api/v1/status", "", "").json["notices"].size(), 0u);
}

}  // namespace
}  // namespace firebreak::testing
