#include "paging/sender.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "support/receiver.h"

namespace firebreak::paging {
namespace {

using firebreak::testing::Receiver;

class SenderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(receiver_.Start()); }

  HttpPost Post(const std::string& path = "/pd") {
    HttpPost p;
    p.url = receiver_.url(path);
    p.body = R"({"event_action":"trigger"})";
    return p;
  }

  Receiver receiver_;
  HttpSender sender_;
};

TEST_F(SenderTest, Accepted202IsDelivered) {
  HttpPost p = Post();
  p.headers = {{"X-Firebreak-Signature", "v1=abc"}};
  SendResult r = sender_.Post(p);
  EXPECT_EQ(r.outcome, Outcome::kDelivered);
  EXPECT_EQ(r.http_status, 202);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.response_body, R"({"status":"success","message":"Event processed"})");
  ASSERT_TRUE(receiver_.WaitForRequests(1));
  auto reqs = receiver_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/pd");
  EXPECT_EQ(reqs[0].body, R"({"event_action":"trigger"})");
  EXPECT_EQ(reqs[0].Header("content-type"), "application/json");
  EXPECT_EQ(reqs[0].Header("X-Firebreak-Signature"), "v1=abc");
  EXPECT_EQ(reqs[0].Json()["event_action"], "trigger");
}

TEST_F(SenderTest, GivenContentTypeIsKept) {
  HttpPost p = Post();
  p.headers = {{"content-type", "application/vnd.custom+json"}};
  EXPECT_EQ(sender_.Post(p).outcome, Outcome::kDelivered);
  auto reqs = receiver_.requests();
  ASSERT_EQ(reqs.size(), 1u);
  int n = 0;
  for (const auto& [k, v] : reqs[0].headers) n += (k == "content-type" || k == "Content-Type");
  EXPECT_EQ(n, 1);
  EXPECT_EQ(reqs[0].Header("Content-Type"), "application/vnd.custom+json");
}

TEST_F(SenderTest, ServiceUnavailableRetriesWithRetryAfter) {
  receiver_.FailNext(1, 503, "7");
  SendResult r = sender_.Post(Post());
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_EQ(r.http_status, 503);
  EXPECT_EQ(r.error, "HTTP 503");
  EXPECT_EQ(r.retry_after_ms, 7000);
}

TEST_F(SenderTest, TooManyRequestsRetriesWithRetryAfter) {
  receiver_.FailNext(1, 429, "30");
  SendResult r = sender_.Post(Post());
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.retry_after_ms, 30000);
}

TEST_F(SenderTest, ServerErrorsRetryWithoutRetryAfter) {
  receiver_.FailNext(1, 500);
  receiver_.FailNext(1, 502);
  for (int status : {500, 502}) {
    SendResult r = sender_.Post(Post());
    EXPECT_EQ(r.outcome, Outcome::kRetry);
    EXPECT_EQ(r.http_status, status);
    EXPECT_FALSE(r.retry_after_ms.has_value());
  }
}

TEST_F(SenderTest, ClientErrorsArePermanent) {
  receiver_.FailNext(1, 400);
  receiver_.FailNext(1, 404);
  receiver_.FailNext(1, 301);
  SendResult bad = sender_.Post(Post());
  EXPECT_EQ(bad.outcome, Outcome::kPermanent);
  EXPECT_EQ(bad.http_status, 400);
  EXPECT_EQ(bad.error.rfind("HTTP 400", 0), 0u) << bad.error;
  EXPECT_EQ(sender_.Post(Post()).outcome, Outcome::kPermanent);
  SendResult moved = sender_.Post(Post());
  EXPECT_EQ(moved.outcome, Outcome::kPermanent);
  EXPECT_EQ(moved.error, "HTTP 301 (redirects are not followed)");
  EXPECT_EQ(receiver_.request_count(), 3u);
}

TEST_F(SenderTest, FailsTwiceThenDelivers) {
  receiver_.FailNext(2, 503);
  EXPECT_EQ(sender_.Post(Post()).outcome, Outcome::kRetry);
  EXPECT_EQ(sender_.Post(Post()).outcome, Outcome::kRetry);
  EXPECT_EQ(sender_.Post(Post()).outcome, Outcome::kDelivered);
  auto reqs = receiver_.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].answered_status, 503);
  EXPECT_EQ(reqs[1].answered_status, 503);
  EXPECT_EQ(reqs[2].answered_status, 202);
}

TEST_F(SenderTest, SlowAnswerTimesOutAndRetries) {
  receiver_.SetDelayMs(3000);
  HttpPost p = Post();
  p.timeout_ms = 500;
  SendResult r = sender_.Post(p);
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.error, "timeout after 500 ms");
  EXPECT_EQ(receiver_.request_count(), 1u);  // it arrived; the answer did not
}

TEST_F(SenderTest, ClosedPortRetries) {
  Receiver closed;
  ASSERT_TRUE(closed.Start());
  std::string url = closed.url("/pd");
  closed.Stop();
  HttpPost p = Post();
  p.url = url;
  SendResult r = sender_.Post(p);
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_EQ(r.error, "connection refused");
}

TEST_F(SenderTest, ConnectionClosedWithoutAnswerRetries) {
  receiver_.FailNext(1, 0);
  SendResult r = sender_.Post(Post());
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_EQ(r.http_status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(sender_.Post(Post()).outcome, Outcome::kDelivered);
  EXPECT_EQ(receiver_.request_count(), 2u);
}

TEST_F(SenderTest, OneSenderServesManyThreads) {
  constexpr int kThreads = 4, kEach = 5;
  std::atomic<int> delivered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        HttpPost p = Post("/t" + std::to_string(t));
        if (sender_.Post(p).outcome == Outcome::kDelivered) ++delivered;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(delivered.load(), kThreads * kEach);
  EXPECT_TRUE(receiver_.WaitForRequests(kThreads * kEach));
  EXPECT_EQ(receiver_.request_count(), size_t{kThreads * kEach});
}

TEST(Receiver, WaitForRequestsIsBounded) {
  Receiver r;
  ASSERT_TRUE(r.Start());
  EXPECT_FALSE(r.WaitForRequests(1, std::chrono::milliseconds(50)));
  EXPECT_FALSE(r.WaitForRequests(1, 50));
  r.Stop();
  r.Stop();  // idempotent
}

TEST_F(SenderTest, OnlyHttpAndHttpsAreAllowed) {
  for (const char* url :
       {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/", "", "http://[bad"}) {
    HttpPost p = Post();
    p.url = url;
    SendResult r = sender_.Post(p);
    EXPECT_EQ(r.outcome, Outcome::kPermanent) << url << ": " << r.error;
    EXPECT_FALSE(r.error.empty());
  }
  EXPECT_EQ(receiver_.request_count(), 0u);
}

TEST_F(SenderTest, HeaderInjectionIsRefused) {
  HttpPost p = Post();
  p.headers = {{"X-Test", "a\r\nX-Evil: 1"}};
  EXPECT_EQ(sender_.Post(p).outcome, Outcome::kPermanent);
  EXPECT_EQ(receiver_.request_count(), 0u);
}

TEST_F(SenderTest, ResponseBodyIsCappedAt64KiB) {
  receiver_.SetDefaultResponse(200, std::string(200 * 1024, 'x'));
  SendResult r = sender_.Post(Post());
  EXPECT_EQ(r.outcome, Outcome::kDelivered);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.response_body.size(), HttpSender::kMaxResponseBytes);
}

TEST(Backoff, ExponentialWithFullJitter) {
  EXPECT_EQ(BackoffMs(1, 2000, 600000, 0.5), 1000);
  EXPECT_EQ(BackoffMs(2, 2000, 600000, 0.5), 2000);
  EXPECT_EQ(BackoffMs(3, 2000, 600000, 0.5), 4000);
  EXPECT_EQ(BackoffMs(3, 2000, 600000, 0.0), 0);
  EXPECT_EQ(BackoffMs(3, 2000, 600000, 0.999), 7992);
  EXPECT_EQ(BackoffMs(0, 2000, 600000, 0.5), 1000);  // counts from 1
  // Capped at max, also for attempts whose power of two would overflow.
  EXPECT_EQ(BackoffMs(12, 2000, 600000, 0.5), 300000);
  EXPECT_EQ(BackoffMs(1000, 2000, 600000, 0.5), 300000);
  EXPECT_LT(BackoffMs(1000, 2000, 600000, 1.0), 600000);
}

TEST(RetryAfter, SecondsOrHttpDate) {
  TimeMs now = *ParseTime("2015-10-21T07:27:00Z");
  EXPECT_EQ(ParseRetryAfter("120", now), 120000);
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), 0);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), 60000);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), 0);
  EXPECT_FALSE(ParseRetryAfter("soon", now).has_value());
  EXPECT_FALSE(ParseRetryAfter("", now).has_value());
}

}  // namespace
}  // namespace firebreak::paging
