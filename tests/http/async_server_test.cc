// The server's asynchronous routes: answers completed later from another thread, deadlines,
// server-sent-event streams with keep-alive comments, and shutdown with streams open.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "http/server.h"
#include "support/stream_client.h"

namespace firebreak::http {
namespace {

using testing::StreamClient;

// Hands what asynchronous handlers received over to the test thread.
struct Mailbox {
  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<Completion> completion;
  std::shared_ptr<EventStream> stream;

  template <typename T>
  T Wait(T Mailbox::*field) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return this->*field != nullptr; });
    return this->*field;
  }
};

class AsyncServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("GET", "/sync", [](const Request&) { return Json(200, {{"sync", true}}); });
    router_.AddAsync("GET", "/later", [this](const Request&, std::shared_ptr<Completion> c) {
      std::lock_guard<std::mutex> lock(box_.mu);
      box_.completion = std::move(c);
      box_.cv.notify_all();
    });
    router_.AddAsync("GET", "/deadline", [](const Request&, std::shared_ptr<Completion> c) {
      c->SetDeadline(std::chrono::milliseconds(20), [] {
        return Json(200, {{"timed_out", true}});
      });
    });
    router_.AddAsync("GET", "/stream", [this](const Request& req, std::shared_ptr<Completion> c) {
      auto s = c->OpenStream({{"X-Test", "yes"}});
      s->Send({"1", "hello", "first\nsecond"});
      std::lock_guard<std::mutex> lock(box_.mu);
      box_.stream = std::move(s);
      box_.cv.notify_all();
    });
    ServerOptions options;
    options.port = 0;
    options.sse_keepalive = std::chrono::milliseconds(30);
    auto server = Server::Create(options, router_, metrics_, clock_);
    ASSERT_TRUE(server.ok());
    server_ = std::move(*server);
    server_->Start();
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::milliseconds(2000));
  }

  Router router_;
  HttpMetrics metrics_;
  SystemClock clock_;
  Mailbox box_;
  std::unique_ptr<Server> server_;
};

TEST_F(AsyncServerTest, CompletionAnsweredFromAnotherThread) {
  StreamClient client(server_->port());
  client.Get("/later", "");
  auto completion = box_.Wait(&Mailbox::completion);
  ASSERT_NE(completion, nullptr);
  std::thread([completion] { completion->Respond(Json(200, {{"late", true}})); }).join();
  EXPECT_TRUE(client.ReadUntil("{\"late\":true}"));
  EXPECT_TRUE(completion->done());
  // The connection is kept alive and serves the next request (a synchronous one).
  client.Get("/sync", "");
  EXPECT_TRUE(client.ReadUntil("{\"sync\":true}"));
}

TEST_F(AsyncServerTest, DeadlineAnswersWhenNobodyElseDoes) {
  StreamClient client(server_->port());
  client.Get("/deadline", "");
  EXPECT_TRUE(client.ReadUntil("{\"timed_out\":true}"));
}

TEST_F(AsyncServerTest, StreamSendsEventsAndKeepAliveComments) {
  StreamClient client(server_->port());
  client.Get("/stream", "");
  ASSERT_TRUE(client.ReadUntil("data: second\n\n"));
  EXPECT_EQ(client.received().rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(client.received().find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(client.received().find("X-Test: yes"), std::string::npos);
  EXPECT_NE(client.received().find("id: 1\nevent: hello\ndata: first\ndata: second\n\n"),
            std::string::npos);
  auto stream = box_.Wait(&Mailbox::stream);
  EXPECT_TRUE(stream->Send({"2", "", "more"}));
  EXPECT_TRUE(client.ReadUntil("id: 2\ndata: more\n\n"));
  EXPECT_TRUE(client.ReadUntil(": keep-alive\n\n"));
}

TEST_F(AsyncServerTest, StreamNoticesTheClientLeaving) {
  auto client = std::make_unique<StreamClient>(server_->port());
  client->Get("/stream", "");
  ASSERT_TRUE(client->ReadUntil("data: second"));
  auto stream = box_.Wait(&Mailbox::stream);
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  stream->OnClose([&] {
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
    cv.notify_all();
  });
  client.reset();
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(5), [&] { return closed; }));
  EXPECT_TRUE(stream->closed());
  EXPECT_FALSE(stream->Send({"3", "", "nobody listens"}));
}

TEST_F(AsyncServerTest, ShutdownClosesStreamsAndAnswersWaiters) {
  StreamClient streaming(server_->port());
  streaming.Get("/stream", "");
  ASSERT_TRUE(streaming.ReadUntil("data: second"));
  StreamClient waiting(server_->port());
  waiting.Get("/later", "");
  auto completion = box_.Wait(&Mailbox::completion);
  completion->SetDeadline(std::chrono::hours(1), [] { return Json(200, {{"bye", true}}); });
  server_->Shutdown(std::chrono::milliseconds(5000));
  server_.reset();
  EXPECT_TRUE(streaming.ReadUntilClosed());
  EXPECT_TRUE(waiting.ReadUntil("{\"bye\":true}"));
  EXPECT_TRUE(box_.stream->closed());
}

TEST(FormatSse, MultiLineDataAndOptionalFields) {
  EXPECT_EQ(FormatSse({"", "", "x"}), "data: x\n\n");
  EXPECT_EQ(FormatSse({"7", "runtime", "a\nb"}), "id: 7\nevent: runtime\ndata: a\ndata: b\n\n");
}

}  // namespace
}  // namespace firebreak::http
