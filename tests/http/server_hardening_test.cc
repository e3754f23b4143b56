// The server against a hostile or broken client, over real sockets on 127.0.0.1: request
// smuggling through Transfer-Encoding, encoded slashes and dot segments, made-up methods that
// would grow /metrics, the descriptor limit, connection limits, the per-token request rate
// (with a FakeClock), slow senders and idle connections, and handlers that throw.
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <gtest/gtest.h>
#include <random>
#include <stdexcept>
#include <thread>

#include "http/rate_limiter.h"
#include "http/raw_conn.h"
#include "http/server.h"
#include "support/server_process.h"

namespace firebreak::http {
namespace {

using testing::RawConn;
using testing::RawExchange;

size_t Count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Returns the JSON body of the first answer in `raw` (null when there is none).
nlohmann::json BodyOf(const std::string& raw) {
  size_t start = raw.find("\r\n\r\n");
  if (start == std::string::npos) return nullptr;
  size_t end = raw.find("\r\nHTTP/1.1 ", start + 4);
  auto j = nlohmann::json::parse(raw.substr(start + 4, end == std::string::npos
                                                           ? std::string::npos
                                                           : end - start - 4),
                                 nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

class HardenedServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/healthz", [](const Request&) { return Json(200, {{"status", "ok"}}); });
    router_.Add("POST", "/echo", [this](const Request& req) {
      ++echoed_;
      Response r;
      r.content_type = "text/plain";
      r.body = req.body;
      return r;
    });
    router_.Add("GET", "/smuggled", [this](const Request&) {
      ++smuggled_;
      return Json(200, {{"smuggled", true}});
    });
    router_.Add("GET", "/api/v1/tokens", [this](const Request&) {
      ++tokens_listed_;
      return Json(200, {{"tokens", nlohmann::json::array()}});
    });
    router_.Add("GET", "/items/{id}", [](const Request& req) {
      return Json(200, {{"id", req.params.at("id")}});
    });
    router_.Add("GET", "/throw", [](const Request&) -> Response {
      throw std::runtime_error("handler bug");
    });
    router_.Add("GET", "/throw-int", [](const Request&) -> Response { throw 42; });
    router_.AddAsync("GET", "/async-throw", [](const Request&, std::shared_ptr<Completion>) {
      throw std::runtime_error("async handler bug");
    });
    router_.AddAsync("GET", "/deadline-throw", [](const Request&, std::shared_ptr<Completion> c) {
      c->SetDeadline(std::chrono::milliseconds(10),
                     []() -> Response { throw std::runtime_error("deadline bug"); });
    });
    options_.port = 0;
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::milliseconds(2000));
  }

  void Start() {
    auto server = Server::Create(options_, router_, metrics_, clock_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    server_->Start();
  }
  uint16_t port() const { return server_->port(); }

  Router router_;
  HttpMetrics metrics_;
  FakeClock clock_{1'800'000'000'000};
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  std::atomic<int> echoed_{0};
  std::atomic<int> smuggled_{0};
  std::atomic<int> tokens_listed_{0};
};

TEST_F(HardenedServerTest, TransferEncodingOtherThanChunkedIsRefusedAndTheBodyNeverRuns) {
  Start();
  const std::string smuggled = Get("/smuggled");
  const std::vector<std::string> framings = {
      "Transfer-Encoding: chunked, identity\r\n",
      "Transfer-Encoding: xchunked\r\n",
      "Transfer-Encoding: identity\r\n",
      "Transfer-Encoding: gzip, chunked\r\n",
      "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
      "Transfer-Encoding: chunked\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n",
      "Content-Length: " + std::to_string(smuggled.size()) + "\r\nTransfer-Encoding: chunked\r\n",
  };
  for (const std::string& framing : framings) {
    std::string raw = RawExchange(port(), "POST /echo HTTP/1.1\r\nHost: t\r\n" + framing +
                                              "\r\n" + smuggled);
    EXPECT_EQ(raw.rfind("HTTP/1.1 400 ", 0), 0u) << framing << raw;
    EXPECT_EQ(Count(raw, "HTTP/1.1 "), 1u) << framing << raw;  // one answer, then closed
    EXPECT_EQ(BodyOf(raw)["error"]["code"], "invalid_argument") << framing << raw;
  }
  EXPECT_EQ(smuggled_.load(), 0);
  EXPECT_EQ(echoed_.load(), 0);

  // Plain chunked bodies (any letter case) still work, and keep-alive after them.
  std::string raw = RawExchange(port(),
                                "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: Chunked\r\n\r\n"
                                "5\r\nhello\r\n0\r\n\r\n" +
                                    Get("/healthz", "Connection: close\r\n"));
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 ", 0), 0u) << raw;
  EXPECT_NE(raw.find("\r\n\r\nhello"), std::string::npos) << raw;
  EXPECT_EQ(Count(raw, "HTTP/1.1 200 "), 2u) << raw;
}

// Found by fuzz/http_request_fuzzer: a chunked body whose last chunk's line ends arrive one
// packet at a time ("0\r\n", then "\r", then "\n") reaches a false assertion of Beast 1.74
// that aborted Debug and sanitizer builds (common/boost_assert.cc). The request is answered
// and the connection serves the next one. The pauses only let each piece arrive on its own.
TEST_F(HardenedServerTest, ALastChunkSentByteByByteIsAnswered) {
  Start();
  for (const std::string& body : {std::string(""), std::string("5\r\nhello\r\n")}) {
    RawConn conn(port());
    ASSERT_TRUE(conn.connected());
    ASSERT_TRUE(conn.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          body + "0\r\n"));
    for (std::string_view piece : {"\r", "\n"}) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      ASSERT_TRUE(conn.Send(piece));
    }
    ASSERT_TRUE(conn.ReadAnswer()) << conn.received();
    EXPECT_EQ(conn.received().rfind("HTTP/1.1 200 ", 0), 0u) << conn.received();
    ASSERT_TRUE(conn.Send(Get("/healthz", "Connection: close\r\n")));
    EXPECT_TRUE(conn.ReadUntilClosed()) << conn.received();
    EXPECT_EQ(Count(conn.received(), "HTTP/1.1 200 "), 2u) << conn.received();
  }
  EXPECT_EQ(echoed_.load(), 2);
}

TEST_F(HardenedServerTest, EncodedSlashesNulAndDotSegmentsDoNotRoute) {
  Start();
  for (const char* path : {"/api%2Fv1%2Ftokens", "/api%2fv1%2ftokens", "/api/v1%2Ftokens",
                           "/api/v1/x/../tokens", "/api/v1/./tokens", "/api/v1/x/%2e%2e/tokens",
                           "/api/v1/tokens%00", "/items/a%00b", "/items/..", "/items/a%5Cb",
                           "/items/%0d%0a", "/items/%ff"}) {
    std::string raw = RawExchange(port(), Get(path, "Connection: close\r\n"));
    EXPECT_EQ(raw.rfind("HTTP/1.1 400 ", 0), 0u) << path << "\n" << raw;
    EXPECT_EQ(BodyOf(raw)["error"]["code"], "invalid_argument") << path;
  }
  EXPECT_EQ(tokens_listed_.load(), 0);
  // Ordinary escapes still decode into parameters, and the real path still routes.
  std::string raw = RawExchange(port(), Get("/items/a%20b%C3%A9", "Connection: close\r\n"));
  EXPECT_EQ(BodyOf(raw)["id"], "a b\xC3\xA9") << raw;
  raw = RawExchange(port(), Get("/api/v1/tokens", "Connection: close\r\n"));
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 ", 0), 0u) << raw;
  EXPECT_EQ(tokens_listed_.load(), 1);
}

TEST(DecodePath, RefusesWhatMustNotRoute) {
  EXPECT_EQ(*DecodePath("/a/b%20c"), "/a/b c");
  EXPECT_EQ(*DecodePath("/a/.b/c."), "/a/.b/c.");  // dots inside names are fine
  for (const char* bad : {"", "a/b", "/a%2Fb", "/a%2fb", "/a%5cb", "/a/%2E%2E/b", "/a/./b",
                          "/..", "/a%00", "/a%1Fb", "/a%7F", "/a%", "/a%zz", "/%C3%28"}) {
    auto r = DecodePath(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST_F(HardenedServerTest, MadeUpMethodsAndPathsDoNotGrowMetrics) {
  options_.rate_limit_per_second = 0;  // 500 requests from one address in a moment
  Start();
  std::mt19937 rng(7);
  auto random_text = [&](size_t n, std::string_view alphabet) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  auto send_junk = [&] {
    std::string method = random_text(2000, "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
    // Half the paths exist (405 with the route's pattern), half are made up (404, unmatched).
    std::string path = rng() % 2 ? "/echo" : "/" + random_text(40, "abcdefghijklmnopqrstuvwxyz0123456789");
    std::string raw = RawExchange(port(), method + " " + path + " HTTP/1.1\r\nHost: t\r\n"
                                                             "Connection: close\r\n\r\n");
    EXPECT_TRUE(raw.rfind("HTTP/1.1 404 ", 0) == 0 || raw.rfind("HTTP/1.1 405 ", 0) == 0) << raw;
  };
  for (int i = 0; i < 20; ++i) send_junk();  // every label combination exists once
  std::string before;
  metrics_.Render(before);
  for (int i = 0; i < 500; ++i) send_junk();
  std::string after;
  metrics_.Render(after);
  // Only counters grew: a few more digits, no new series.
  EXPECT_LT(after.size(), before.size() + 200) << after;
  EXPECT_EQ(Count(after, "\n"), Count(before, "\n"));
  EXPECT_NE(after.find("method=\"other\",route=\"unmatched\",status=\"404\"}"), std::string::npos)
      << after;
  EXPECT_NE(after.find("method=\"other\",route=\"/echo\",status=\"405\"}"), std::string::npos);
  EXPECT_EQ(after.find("AAAA"), std::string::npos);
}

TEST(HttpMetrics, LabelsOnlyKnownMethods) {
  for (const char* m : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}) {
    EXPECT_EQ(HttpMetrics::MethodLabel(m), m);
  }
  for (const char* m : {"get", "BREW", "", "-", "PROPFIND", "GETT"}) {
    EXPECT_EQ(HttpMetrics::MethodLabel(m), "other") << m;
  }
}

int HighestOpenFd() {
  int highest = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    highest = std::max(highest, std::stoi(entry.path().filename().string()));
  }
  return highest;
}

TEST_F(HardenedServerTest, AcceptBacksOffAtTheDescriptorLimitAndRecovers) {
  Start();
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &original), 0);
  rlimit low = original;
  low.rlim_cur = static_cast<rlim_t>(HighestOpenFd() + 16);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
  // Take every descriptor left, then give one back for the client socket: the server's accept
  // finds none.
  std::vector<int> fillers;
  for (int fd; (fd = dup(2)) >= 0;) fillers.push_back(fd);
  ASSERT_EQ(errno, EMFILE);
  close(fillers.back());
  fillers.pop_back();
  auto client = std::make_unique<RawConn>(port());
  ASSERT_TRUE(client->connected());
  ASSERT_TRUE(client->Send(Get("/healthz", "Connection: close\r\n")));
  // Wait until accept has failed a few times (each retry after a longer pause).
  auto started = std::chrono::steady_clock::now();
  while (metrics_.accept_errors.load() < 4 &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
    pollfd none{-1, 0, 0};
    poll(&none, 0, 10);
  }
  int64_t errors = metrics_.accept_errors.load();
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  for (int fd : fillers) close(fd);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &original), 0);
  EXPECT_GE(errors, 4);
  // Backing off 50, 100, 200 ms...: a spinning loop fails thousands of times in that time.
  EXPECT_LE(errors, 8) << "in " << waited << " s";
  // The waiting client is served once descriptors are free again.
  EXPECT_TRUE(client->ReadUntil("\"status\":\"ok\"")) << client->received();
  EXPECT_EQ(client->received().rfind("HTTP/1.1 200 ", 0), 0u);
}

TEST_F(HardenedServerTest, ConnectionsOverThePerClientLimitGet503AndAreClosed) {
  options_.max_connections_per_client = 2;
  Start();
  RawConn a(port()), b(port());
  for (RawConn* c : {&a, &b}) {
    ASSERT_TRUE(c->Send(Get("/healthz")));
    ASSERT_TRUE(c->ReadUntil("\"ok\"}"));
  }
  RawConn third(port());
  third.Send(Get("/healthz"));
  ASSERT_TRUE(third.ReadUntilClosed());
  EXPECT_EQ(third.received().rfind("HTTP/1.1 503 ", 0), 0u) << third.received();
  EXPECT_NE(third.received().find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_EQ(BodyOf(third.received())["error"]["code"], "unavailable");
  EXPECT_EQ(metrics_.connections_refused.load(), 1);
  // Another address is not held to this one's limit.
  RawConn other(port(), "127.0.0.2");
  ASSERT_TRUE(other.Send(Get("/healthz")));
  EXPECT_TRUE(other.ReadUntil("\"ok\"}")) << other.received();
  // The admitted connections still work; once one closes, the address may connect again.
  b.Clear();
  ASSERT_TRUE(b.Send(Get("/healthz")));
  EXPECT_TRUE(b.ReadUntil("\"ok\"}"));
  a.Close();
  // The server frees the slot once it has seen the close; try until then.
  bool served = false;
  for (int attempt = 0; attempt < 250 && !served; ++attempt) {
    RawConn again(port());
    again.Send(Get("/healthz", "Connection: close\r\n"));
    again.ReadUntilClosed();
    served = again.received().rfind("HTTP/1.1 200 ", 0) == 0;
    if (!served) poll(nullptr, 0, 20);
  }
  EXPECT_TRUE(served);
}

TEST_F(HardenedServerTest, ConnectionsOverTheTotalLimitGet503) {
  options_.max_connections = 1;
  Start();
  RawConn a(port());
  ASSERT_TRUE(a.Send(Get("/healthz")));
  ASSERT_TRUE(a.ReadUntil("\"ok\"}"));
  RawConn other(port(), "127.0.0.2");
  other.Send(Get("/healthz"));
  ASSERT_TRUE(other.ReadUntilClosed());
  EXPECT_EQ(other.received().rfind("HTTP/1.1 503 ", 0), 0u) << other.received();
  EXPECT_NE(other.received().find("Retry-After: "), std::string::npos);
}

TEST_F(HardenedServerTest, RequestRateIsLimitedPerTokenWithRetryAfter) {
  options_.rate_limit_per_second = 2;
  options_.rate_limit_burst = 3;
  Start();
  RawConn a(port());
  auto call = [](RawConn& c, const std::string& auth) {
    c.Clear();
    c.Send("POST /echo HTTP/1.1\r\nHost: t\r\n" + auth + "Content-Length: 2\r\n\r\nhi");
    c.ReadAnswer();
    return c.received();
  };
  const std::string token_a = "Authorization: Bearer fbk_a\r\n";
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(a, token_a).rfind("HTTP/1.1 200 ", 0), 0u);
  std::string limited = call(a, token_a);
  EXPECT_EQ(limited.rfind("HTTP/1.1 429 ", 0), 0u) << limited;
  EXPECT_NE(limited.find("Retry-After: 1\r\n"), std::string::npos) << limited;
  EXPECT_EQ(BodyOf(limited)["error"]["code"], "rate_limited");
  EXPECT_EQ(echoed_.load(), 3);  // the limited request did not run
  // The same token on another connection shares the bucket; another token and a request
  // without one (keyed by address) have their own.
  RawConn b(port());
  EXPECT_EQ(call(b, token_a).rfind("HTTP/1.1 429 ", 0), 0u);
  EXPECT_EQ(call(b, "Authorization: Bearer fbk_b\r\n").rfind("HTTP/1.1 200 ", 0), 0u);
  EXPECT_EQ(call(b, "").rfind("HTTP/1.1 200 ", 0), 0u);
  // Half a second later one request fits again; ten seconds later the whole burst.
  clock_.Advance(500);
  EXPECT_EQ(call(a, token_a).rfind("HTTP/1.1 200 ", 0), 0u);
  EXPECT_EQ(call(a, token_a).rfind("HTTP/1.1 429 ", 0), 0u);
  clock_.Advance(10'000);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call(a, token_a).rfind("HTTP/1.1 200 ", 0), 0u);
  EXPECT_EQ(call(a, token_a).rfind("HTTP/1.1 429 ", 0), 0u);
}

TEST(RateLimiter, RetryAfterIsWholeTimeUntilTheNextTokenAndMemoryIsBounded) {
  FakeClock clock(1'000'000);
  RateLimiter slow(clock, 0.25, 1);
  EXPECT_EQ(slow.Acquire("k"), 0);
  EXPECT_EQ(slow.Acquire("k"), 4000);
  clock.Advance(3000);
  EXPECT_EQ(slow.Acquire("k"), 1000);
  clock.Advance(1000);
  EXPECT_EQ(slow.Acquire("k"), 0);

  RateLimiter limiter(clock, 10, 5, /*max_keys=*/100);
  for (int i = 0; i < 1000; ++i) limiter.Acquire("key-" + std::to_string(i));
  EXPECT_LE(limiter.size(), 100u);
  // Buckets idle long enough to be full again are dropped.
  clock.Advance(500);
  limiter.Acquire("fresh");
  EXPECT_EQ(limiter.size(), 1u);

  RateLimiter off(clock, 0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(off.Acquire("k"), 0);
  EXPECT_EQ(off.size(), 0u);
}

TEST_F(HardenedServerTest, SlowHeadersSlowBodiesAndIdleConnectionsAreCutOff) {
  options_.header_timeout = std::chrono::milliseconds(300);
  options_.body_timeout = std::chrono::milliseconds(300);
  options_.idle_timeout = std::chrono::milliseconds(300);
  Start();
  // Sends one byte every 50 ms (the whole takes seconds); returns whether the server cut the
  // connection before the last byte.
  auto trickle = [](RawConn& c, const std::string& bytes) {
    for (char byte : bytes) {
      if (!c.Send(std::string(1, byte))) return true;
      c.ReadUntilClosed(50);
      if (c.closed()) return true;
    }
    return false;
  };
  RawConn headers(port());
  EXPECT_TRUE(trickle(headers, Get("/healthz", "X-Padding: " + std::string(40, 'p') + "\r\n")));
  EXPECT_EQ(headers.received().find("HTTP/1.1 200"), std::string::npos);

  RawConn body(port());
  ASSERT_TRUE(body.Send("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 60\r\n\r\n"));
  EXPECT_TRUE(trickle(body, std::string(60, 'b')));
  EXPECT_EQ(echoed_.load(), 0);
  // The socket closes before the read completes with its timeout; wait for the count.
  for (int i = 0; i < 100 && metrics_.read_timeouts.load() < 2; ++i) poll(nullptr, 0, 20);
  EXPECT_EQ(metrics_.read_timeouts.load(), 2);

  // A prompt request is answered; then the idle connection is closed.
  RawConn idle(port());
  ASSERT_TRUE(idle.Send(Get("/healthz")));
  EXPECT_TRUE(idle.ReadUntil("\"ok\"}"));
  EXPECT_TRUE(idle.ReadUntilClosed(5000));
  // A connection that never sends anything is on the header clock from the start.
  RawConn silent(port());
  EXPECT_TRUE(silent.ReadUntilClosed(5000));
}

TEST_F(HardenedServerTest, AThrowingHandlerAnswers500ForThatRequestOnly) {
  Start();
  RawConn c(port());
  for (const char* path : {"/throw", "/throw-int", "/async-throw", "/deadline-throw"}) {
    c.Clear();
    ASSERT_TRUE(c.Send(Get(path)));
    ASSERT_TRUE(c.ReadAnswer()) << path << c.received();
    EXPECT_EQ(c.received().rfind("HTTP/1.1 500 ", 0), 0u) << path << c.received();
    EXPECT_EQ(BodyOf(c.received())["error"]["code"], "internal") << path;
    // The same connection serves the next request, and so does another one.
    c.Clear();
    ASSERT_TRUE(c.Send(Get("/healthz")));
    EXPECT_TRUE(c.ReadUntil("\"ok\"}")) << path;
    std::string other = RawExchange(port(), Get("/healthz", "Connection: close\r\n"));
    EXPECT_EQ(other.rfind("HTTP/1.1 200 ", 0), 0u) << path;
  }
}

}  // namespace
}  // namespace firebreak::http
