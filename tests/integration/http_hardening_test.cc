// The HTTP layer of the real binary against a hostile client, on 127.0.0.1: request smuggling,
// encoded slashes, made-up methods against /metrics, connection limits, the per-token request
// rate, and slow senders and idle connections. Every limit is set through the same flags a user
// has. (Running out of descriptors is tested in-process: `serve` raises its own soft limit to
// the hard one, tests/http/server_hardening_test.cc.)
#include <gtest/gtest.h>

#include <random>

#include "http/raw_conn.h"
#include "support/server_process.h"

namespace firebreak::testing {
namespace {

size_t Count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string Get(const std::string& path, const std::string& extra = "") {
  return "GET " + path + " HTTP/1.1\r\nHost: t\r\n" + extra + "\r\n";
}

TEST(HttpHardening, TransferEncodingOtherThanChunkedIsRefusedAndNothingIsSmuggled) {
  ServerProcess server;
  // The smuggled request would declare an incident with the admin token.
  std::string body = R"({"title":"smuggled","agent":"a"})";
  std::string smuggled = "POST /api/v1/incidents HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                         server.admin_token() + "\r\nContent-Type: application/json\r\n"
                         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (std::string framing : {"Transfer-Encoding: chunked, identity\r\n",
                              "Transfer-Encoding: xchunked\r\n", "Transfer-Encoding: identity\r\n",
                              "Transfer-Encoding: gzip, chunked\r\n",
                              "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n"}) {
    std::string raw = RawExchange(server.port(), "POST /api/v1/signals HTTP/1.1\r\nHost: t\r\n" +
                                                     framing + "\r\n" + smuggled);
    EXPECT_EQ(raw.rfind("HTTP/1.1 400 ", 0), 0u) << framing << raw;
    EXPECT_EQ(Count(raw, "HTTP/1.1 "), 1u) << framing << raw;
    EXPECT_NE(raw.find("\"code\":\"invalid_argument\""), std::string::npos) << raw;
  }
  HttpResult list = server.Call("GET", "/api/v1/incidents");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body.find("smuggled"), std::string::npos) << list.body;
}

TEST(HttpHardening, EncodedSlashDoesNotRouteLikeARealOne) {
  ServerProcess server;
  for (std::string path : {"/api%2Fv1%2Ftokens", "/api%2fv1%2ftokens", "/api/v1/x/../tokens",
                           "/api/v1/tokens%00", "/api/v1/incidents/%2e%2e"}) {
    HttpResult r = server.Call("GET", path);
    EXPECT_EQ(r.status, 400) << path << r.body;
    EXPECT_EQ(r.json["error"]["code"], "invalid_argument") << path;
  }
  EXPECT_EQ(server.Call("GET", "/api/v1/tokens").status, 200);
}

TEST(HttpHardening, MadeUpMethodsAndPathsLeaveMetricsTheSameSize) {
  ServerProcess server({"--rate-limit-per-second", "0"});
  std::mt19937 rng(11);
  auto random_text = [&](size_t n, std::string_view alphabet) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  auto junk = [&](int n) {
    for (int i = 0; i < n; ++i) {
      std::string path = rng() % 2 ? "/api/v1/incidents"
                                   : "/" + random_text(30, "abcdefghijklmnopqrstuvwxyz0123456789");
      std::string raw = RawExchange(server.port(), random_text(2000, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") +
                                                       " " + path + " HTTP/1.1\r\nHost: t\r\n"
                                                       "Connection: close\r\n\r\n");
      ASSERT_TRUE(raw.rfind("HTTP/1.1 404 ", 0) == 0 || raw.rfind("HTTP/1.1 405 ", 0) == 0) << raw;
    }
  };
  junk(20);
  HttpResult before = server.Call("GET", "/metrics");
  ASSERT_EQ(before.status, 200);
  junk(500);
  HttpResult after = server.Call("GET", "/metrics");
  ASSERT_EQ(after.status, 200);
  // The second /metrics read adds its own series once; everything else only counts.
  HttpResult again = server.Call("GET", "/metrics");
  EXPECT_LT(after.body.size(), before.body.size() + 3000);
  EXPECT_LT(again.body.size(), after.body.size() + 300);
  EXPECT_EQ(after.body.find("AAAAAAAA"), std::string::npos);
  EXPECT_NE(after.body.find("method=\"other\",route=\"unmatched\",status=\"404\""), std::string::npos);
  std::printf("/metrics: %zu bytes after 20 junk requests, %zu after 520\n", before.body.size(),
              after.body.size());
}

TEST(HttpHardening, ConnectionsOverThePerClientLimitGet503WithRetryAfter) {
  ServerProcess server({"--max-connections-per-client", "2"});
  RawConn a(server.port()), b(server.port());
  for (RawConn* c : {&a, &b}) {
    ASSERT_TRUE(c->Send(Get("/healthz")));
    ASSERT_TRUE(c->ReadAnswer());
    EXPECT_EQ(c->received().rfind("HTTP/1.1 200 ", 0), 0u);
  }
  RawConn third(server.port());
  third.Send(Get("/healthz"));
  ASSERT_TRUE(third.ReadUntilClosed());
  EXPECT_EQ(third.received().rfind("HTTP/1.1 503 ", 0), 0u) << third.received();
  EXPECT_NE(third.received().find("Retry-After: 1\r\n"), std::string::npos);
  EXPECT_NE(third.received().find("\"code\":\"unavailable\""), std::string::npos);
  RawConn elsewhere(server.port(), "127.0.0.2");
  ASSERT_TRUE(elsewhere.Send(Get("/healthz")));
  EXPECT_TRUE(elsewhere.ReadAnswer());
  EXPECT_EQ(elsewhere.received().rfind("HTTP/1.1 200 ", 0), 0u);
}

TEST(HttpHardening, RequestRateIsLimitedPerTokenAndALimitedWriteDoesNothing) {
  ServerProcess server({"--rate-limit-per-second", "1", "--rate-limit-burst", "5"});
  std::string responder = server.CreateToken("rita", "responder");
  ASSERT_EQ(server.Call("POST", "/api/v1/incidents", R"({"title":"t","agent":"a"})").status, 201);
  int written = 0, limited = 0;
  for (int i = 0; i < 10; ++i) {
    HttpResult r = server.Call("POST", "/api/v1/incidents/INC-1/timeline",
                               R"({"text":"rate-note-)" + std::to_string(i) + "\"}", &responder);
    if (r.status == 201 || r.status == 200) {
      ++written;
    } else {
      ASSERT_EQ(r.status, 429) << r.body;
      EXPECT_EQ(r.json["error"]["code"], "rate_limited");
      ASSERT_TRUE(r.headers.count("retry-after"));
      EXPECT_GE(std::stoi(r.headers["retry-after"]), 1);
      ++limited;
    }
  }
  EXPECT_GE(written, 5);
  EXPECT_GE(limited, 1);
  // Another token has its own bucket: the admin reads the timeline, with only the answered notes.
  HttpResult timeline = server.Call("GET", "/api/v1/incidents/INC-1/timeline");
  ASSERT_EQ(timeline.status, 200) << timeline.body;
  EXPECT_EQ(static_cast<int>(Count(timeline.body, "rate-note-")), written) << timeline.body;
}

TEST(HttpHardening, SlowSendersAndIdleConnectionsAreCutOff) {
  ServerProcess server({"--header-timeout-seconds", "1", "--body-timeout-seconds", "1",
                        "--idle-timeout-seconds", "1"});
  // One byte every 100 ms: the request would take about 6 s.
  auto trickle = [](RawConn& c, const std::string& bytes) {
    for (char byte : bytes) {
      if (!c.Send(std::string(1, byte))) return true;
      c.ReadUntilClosed(100);
      if (c.closed()) return true;
    }
    return false;
  };
  RawConn slowloris(server.port());
  EXPECT_TRUE(trickle(slowloris, Get("/healthz", "X-Padding: " + std::string(30, 'p') + "\r\n")));
  EXPECT_EQ(slowloris.received().find("HTTP/1.1 200"), std::string::npos);

  RawConn slow_body(server.port());
  ASSERT_TRUE(slow_body.Send("POST /api/v1/incidents HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer " +
                             server.admin_token() + "\r\nContent-Length: 60\r\n\r\n"));
  EXPECT_TRUE(trickle(slow_body, R"({"title":"slow body","agent":"a","description":"xxxxxxxxxx"})"));
  EXPECT_EQ(server.Call("GET", "/api/v1/incidents").body.find("slow body"), std::string::npos);

  RawConn idle(server.port());
  ASSERT_TRUE(idle.Send(Get("/healthz")));
  ASSERT_TRUE(idle.ReadAnswer());
  EXPECT_TRUE(idle.ReadUntilClosed(5000));
  HttpResult metrics = server.Call("GET", "/metrics");
  EXPECT_NE(metrics.body.find("firebreak_http_read_timeouts_total 2"), std::string::npos)
      << metrics.body;
}

}  // namespace
}  // namespace firebreak::testing
