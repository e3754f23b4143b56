// Providers against real processes and a real local HTTP endpoint: the case goes in as JSON,
// the answer comes back; hangs, floods, crashes and garbage are the case's error, bounded.
#include "regress/provider.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "support/receiver.h"
#include "support/test_util.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

ProviderConfig Exec(std::vector<std::string> command, int64_t timeout_ms = 5000) {
  ProviderConfig c;
  c.provider = "exec";
  c.command = std::move(command);
  c.timeout_ms = timeout_ms;
  return c;
}

StatusOr<Json> Call(const ProviderConfig& c, const Json& request = {{"input", "hi"}}) {
  paging::HttpSender sender;
  return MakeProvider(c, sender)->Call(request);
}

TEST(ExecProvider, TheCaseGoesOnStdinAndTheAnswerComesFromStdout) {
  // cat echoes the request: what the agent reads is what the provider sent.
  auto echo = Call(Exec({"cat"}), {{"input", "where is A-1?"}, {"output", "x"}});
  ASSERT_TRUE(echo.ok()) << echo.status().message();
  EXPECT_EQ((*echo)["input"], "where is A-1?");
}

TEST(ExecProvider, NoShellUnlessTheCommandNamesOne) {
  // Without a shell, `$HOME` and `;` are plain arguments: printf prints them as they are.
  auto plain = Call(Exec({"printf", R"({"output":"%s"})", "$HOME; echo"}));
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  EXPECT_EQ((*plain)["output"], "$HOME; echo");
  auto shell = Call(Exec({"sh", "-c", R"(cat >/dev/null; echo '{"output":"from sh"}')"}));
  ASSERT_TRUE(shell.ok()) << shell.status().message();
  EXPECT_EQ((*shell)["output"], "from sh");
}

TEST(ExecProvider, FailuresAreErrorsThatSayWhy) {
  auto missing = Call(Exec({"/nonexistent/agent"}));
  EXPECT_EQ(missing.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.status().message().find("cannot run '/nonexistent/agent'"), std::string::npos);
  auto exit3 = Call(Exec({"sh", "-c", "echo broken prompt >&2; exit 3"}));
  EXPECT_NE(exit3.status().message().find("exited with status 3: broken prompt"), std::string::npos)
      << exit3.status().message();
  auto killed = Call(Exec({"sh", "-c", "kill -9 $$"}));
  EXPECT_NE(killed.status().message().find("killed by signal 9"), std::string::npos);
  auto garbage = Call(Exec({"echo", "not json"}));
  EXPECT_NE(garbage.status().message().find("is not a JSON object"), std::string::npos);
  std::string deep(200, '[');
  auto nested = Call(Exec({"echo", deep}));
  EXPECT_NE(nested.status().message().find("nests deeper"), std::string::npos);
}

TEST(ExecProvider, AHangIsKilledWithItsWholeGroupAtTheTimeout) {
  testing::TempDir dir;
  std::string marker = dir.path() + "/child-survived";
  // The shell's background child would write the marker after 300 ms unless the group dies.
  auto started = std::chrono::steady_clock::now();
  auto hung = Call(Exec({"sh", "-c", "(sleep 0.3; touch " + marker + ") & sleep 30"}, 100));
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_NE(hung.status().message().find("did not answer within 100 ms"), std::string::npos)
      << hung.status().message();
  EXPECT_LT(took, std::chrono::seconds(5));
  // Wait past the child's 300 ms: nothing may appear (real processes, so real time).
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  EXPECT_FALSE(std::ifstream(marker).good()) << "the background child outlived the kill";
}

TEST(ExecProvider, AFloodOfOutputIsCutAtTheLimit) {
  auto flood = Call(Exec({"sh", "-c", "cat >/dev/null; yes aaaaaaaaaaaaaaaa"}, 10000));
  EXPECT_NE(flood.status().message().find("more than 1048576 bytes"), std::string::npos)
      << flood.status().message();
}

TEST(ExecProvider, AnAgentThatIgnoresStdinDoesNotHurtTheCaller) {
  // A large case and an agent that exits without reading it: no SIGPIPE for the caller.
  Json big = {{"input", std::string(1 << 20, 'x')}};
  auto r = Call(Exec({"echo", R"({"output":"early"})"}), big);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["output"], "early");
}

TEST(HttpProvider, PostsTheCaseAndReadsTheAnswer) {
  testing::Receiver receiver;
  ASSERT_TRUE(receiver.Start());
  receiver.SetDefaultResponse(200, R"({"output":"from http","tool_calls":[]})");
  ProviderConfig c;
  c.provider = "http";
  c.url = receiver.url("/agent");
  c.timeout_ms = 2000;
  auto r = Call(c, {{"case", 4}, {"input", "hi"}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["output"], "from http");
  ASSERT_TRUE(receiver.WaitForRequests(1));
  EXPECT_EQ(receiver.requests()[0].Json()["case"], 4);
  receiver.FailNext(1, 500);
  EXPECT_NE(Call(c).status().message().find("HTTP 500"), std::string::npos);
}

TEST(ProviderConfig, IsValidatedLikeTheManifest) {
  auto bad = [](const Json& j) {
    auto c = ProviderConfigFromJson(j, "manifest.regression");
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << j.dump();
    return c.status().message();
  };
  EXPECT_NE(bad({{"provider", "grpc"}}).find("exec or http"), std::string::npos);
  EXPECT_NE(bad({{"provider", "exec"}}).find("'manifest.regression.command'"), std::string::npos);
  EXPECT_NE(bad({{"provider", "exec"}, {"command", {""}}}).find("command[0]"), std::string::npos);
  EXPECT_NE(bad({{"provider", "exec"}, {"command", {"a"}}, {"timeout_ms", 0}}).find("timeout_ms"),
            std::string::npos);
  EXPECT_NE(bad({{"provider", "http"}, {"url", "file:///etc/passwd"}}).find("http://"), std::string::npos);
  EXPECT_NE(bad({{"provider", "http"}, {"url", "http://x"}, {"shell", true}}).find("shell"), std::string::npos);
  auto ok = ProviderConfigFromJson({{"provider", "exec"}, {"command", {"./agent", "v3"}}}, "p");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->timeout_ms, 30000);
}

}  // namespace
}  // namespace firebreak::regress
