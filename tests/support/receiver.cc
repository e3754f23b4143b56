#include "support/receiver.h"

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

namespace firebreak::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

bool EqualsIgnoreCase(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class Session;

}  // namespace

struct Receiver::Impl {
  struct Scripted {
    int status;
    std::string retry_after;
  };
  struct Answer {
    int status;
    std::string retry_after;
    std::string body;
    int delay_ms;
  };

  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::thread thread;
  bool started = false;
  bool stopped = false;

  mutable std::mutex mu;
  std::condition_variable cv;
  std::vector<ReceivedRequest> requests;  // guarded by mu
  std::deque<Scripted> script;            // guarded by mu
  int default_status = 202;               // guarded by mu
  std::string default_body =
      R"({"status":"success","message":"Event processed"})";  // guarded by mu
  int delay_ms = 0;                                           // guarded by mu

  // Sessions, to close their sockets on Stop(). Touched only on the io thread, or after it
  // has been joined.
  std::vector<std::weak_ptr<Session>> sessions;

  void Accept();

  // Records one request and picks its answer from the script.
  Answer Record(ReceivedRequest r) {
    std::lock_guard<std::mutex> lock(mu);
    Answer a{default_status, "", default_body, delay_ms};
    if (!script.empty()) {
      a.status = script.front().status;
      a.retry_after = script.front().retry_after;
      a.body = R"({"status":"failure","message":"scripted failure"})";
      script.pop_front();
    }
    r.answered_status = a.status;
    requests.push_back(std::move(r));
    cv.notify_all();
    return a;
  }
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Receiver::Impl& impl)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), impl_(impl) {}

  void Read() {
    parser_.emplace();
    parser_->body_limit(64 << 20);
    http::async_read(
        socket_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void Close() {
    beast::error_code ec;
    timer_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec) return Close();
    http::request<http::string_body> req = parser_->release();
    ReceivedRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    for (const auto& field : req) {
      r.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    r.body = req.body();
    r.received_at_ms = NowMs();
    Receiver::Impl::Answer answer = impl_.Record(std::move(r));
    if (answer.status == 0) return Close();

    res_ = {};
    res_.version(req.version());
    res_.result(static_cast<unsigned>(answer.status));
    res_.set(http::field::content_type, "application/json");
    if (!answer.retry_after.empty()) res_.set(http::field::retry_after, answer.retry_after);
    res_.body() = answer.body;
    res_.keep_alive(req.keep_alive());
    res_.prepare_payload();
    if (answer.delay_ms > 0) {
      timer_.expires_after(std::chrono::milliseconds(answer.delay_ms));
      timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (!ec) self->Write();
      });
    } else {
      Write();
    }
  }

  void Write() {
    http::async_write(socket_, res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      if (!self->res_.keep_alive()) return self->Close();
      self->Read();
    });
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  Receiver::Impl& impl_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

}  // namespace

void Receiver::Impl::Accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // closed by Stop()
    auto session = std::make_shared<Session>(std::move(socket), *this);
    sessions.erase(std::remove_if(sessions.begin(), sessions.end(),
                                  [](const std::weak_ptr<Session>& w) { return w.expired(); }),
                   sessions.end());
    sessions.push_back(session);
    session->Read();
    Accept();
  });
}

std::string ReceivedRequest::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return v;
  }
  return "";
}

nlohmann::json ReceivedRequest::Json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

Receiver::Receiver() : impl_(std::make_unique<Impl>()) {}

Receiver::~Receiver() {
  try {
    Stop();
  } catch (...) {  // a failed join must not end the test run from a destructor
  }
}

bool Receiver::Start() {
  if (impl_->started) return false;
  beast::error_code ec;
  tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return false;
  port_ = impl_->acceptor.local_endpoint().port();
  impl_->started = true;
  impl_->Accept();
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
  return true;
}

void Receiver::Stop() {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // The io thread is gone: closing from here races with nothing.
  beast::error_code ec;
  impl_->acceptor.close(ec);
  for (auto& w : impl_->sessions) {
    if (auto s = w.lock()) s->Close();
  }
  impl_->sessions.clear();
}

std::string Receiver::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void Receiver::FailNext(int n, int status, const std::string& retry_after) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (int i = 0; i < n; ++i) impl_->script.push_back({status, retry_after});
}

void Receiver::SetDefaultResponse(int status, const std::string& body) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->default_status = status;
  impl_->default_body = body;
}

void Receiver::SetDelayMs(int ms) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->delay_ms = ms;
}

bool Receiver::WaitForRequests(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->requests.size() >= n; });
}

std::vector<ReceivedRequest> Receiver::requests() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests;
}

size_t Receiver::request_count() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->requests.size();
}

void Receiver::ClearRequests() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->requests.clear();
}

}  // namespace firebreak::testing
