#include "http/server.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "common/crypto.h"
#include "http/rate_limiter.h"

namespace firebreak::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Steady = std::chrono::steady_clock;

// A refused connection is answered and then drained for at most this long before it closes.
constexpr std::chrono::milliseconds kLinger{1000};
// Refused connections being answered at once; above this they are closed without an answer.
constexpr size_t kMaxRefusing = 256;
constexpr size_t kReadChunk = 4096;

// How a new connection is let in.
enum class Admission { kAdmitted, kRefused, kDropped };

// Returns the Status for a Transfer-Encoding / Content-Length combination that must not be
// read (RFC 9112 6.3: anything but a single final "chunked", or both headers), OK otherwise.
template <typename Fields>
Status CheckFraming(const Fields& fields) {
  size_t encodings = 0, lengths = 0;
  beast::string_view encoding;
  for (const auto& field : fields) {
    if (field.name() == bhttp::field::transfer_encoding) {
      ++encodings;
      encoding = field.value();
    } else if (field.name() == bhttp::field::content_length) {
      ++lengths;
    }
  }
  if (encodings == 0) return Status::Ok();
  if (lengths > 0) {
    return InvalidArgument("a request may not have both Transfer-Encoding and Content-Length");
  }
  while (!encoding.empty() && (encoding.front() == ' ' || encoding.front() == '\t')) {
    encoding.remove_prefix(1);
  }
  while (!encoding.empty() && (encoding.back() == ' ' || encoding.back() == '\t')) {
    encoding.remove_suffix(1);
  }
  if (encodings > 1 || !beast::iequals(encoding, "chunked")) {
    return InvalidArgument("unsupported Transfer-Encoding: only 'chunked' is accepted");
  }
  return Status::Ok();
}

// Runs `fn` and returns its response; an exception becomes a 500 for this request only.
template <typename Fn>
Response Guarded(std::string_view what, Fn&& fn) {
  try {
    return fn();
  } catch (const std::exception& e) {
    spdlog::error("{} threw: {}", what, e.what());
  } catch (...) {
    spdlog::error("{} threw a non-standard exception", what);
  }
  return Error(Internal("unexpected error; see the server log"));
}

class ServerImpl;

class SseStream;

// One client connection: read a request, answer it, repeat while keep-alive holds. An
// asynchronous route leaves the session waiting (no thread held) until its Completion answers,
// or turns it into a server-sent-event stream until either side closes it.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerImpl& server, std::string client);
  ~Session();
  void Start();
  // Answers 503 (too many connections) without reading a request, then closes.
  void Refuse();
  const std::string& client() const { return client_; }
  Admission admission = Admission::kAdmitted;  // set once, before Start or Refuse
  // Closes the connection when it is waiting for a request, closes an open event stream and
  // fires the deadline of a waiting asynchronous request; in-flight work finishes first.
  void StopIfIdle();

  // For AsyncCall and SseStream; each posts to the session's strand.
  void FinishAsync(Response response);
  void BeginStream(std::shared_ptr<SseStream> stream,
                   std::vector<std::pair<std::string, std::string>> headers);
  void ArmDeadline(std::shared_ptr<Completion> call, std::chrono::milliseconds after,
                   std::function<Response()> on_timeout);
  void PostEnqueue(std::string bytes);
  void PostCloseStream();

 private:
  enum class Mode { kRequest, kAsyncPending, kStreaming };

  void ReadRequest();
  void WaitForRequest();
  void ReadHeader();
  void OnHeader(beast::error_code ec, size_t bytes);
  void OnBody(beast::error_code ec, size_t bytes);
  // Answers a request that could not be read (or ends the connection quietly); false when the
  // read succeeded.
  bool FailedRead(beast::error_code ec);
  void Handle();
  void Send(Response response, bool keep_alive);
  void OnWrite(bool keep_alive, beast::error_code ec, size_t bytes);
  void Close();
  // Stops sending, reads and drops what the client still sends (so it sees the answer instead
  // of a reset) for a short while, then closes.
  void Linger();
  void Drain();
  void Enqueue(std::string bytes);
  void WriteNext();
  void WatchForHangup();
  void ArmKeepAlive();
  void CloseStream();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> response_;
  ServerImpl& server_;
  const std::string client_;  // the peer's address, for per-client limits and rate keys
  // Everything below is touched on the strand only.
  bool served_ = false;  // a request was answered on this connection
  bool busy_ = false;  // a request is being handled, awaited, answered or streamed
  Mode mode_ = Mode::kRequest;
  bool keep_alive_ = false;  // of the request being handled
  std::string method_, route_;  // of the request being handled, for metrics
  Steady::time_point started_;
  net::steady_timer deadline_timer_;
  net::steady_timer keepalive_timer_;
  std::shared_ptr<SseStream> sse_;
  std::deque<std::string> out_queue_;
  size_t queued_bytes_ = 0;
  bool writing_ = false;
  std::array<char, 512> hangup_buffer_{};
};

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, const Router& router, HttpMetrics& metrics,
             const Clock& clock)
      : options_(options), router_(router), metrics_(metrics),
        limiter_(clock, options.rate_limit_per_second, options.rate_limit_burst),
        ioc_(options.threads), acceptor_(net::make_strand(ioc_)),
        accept_timer_(acceptor_.get_executor()) {}

  Status Listen() {
    beast::error_code ec;
    auto address = net::ip::make_address(options_.address, ec);
    if (ec) return InvalidArgument("bad listen address '" + options_.address + "': " + ec.message());
    tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Unavailable("cannot listen on " + options_.address + ":" +
                         std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return Status::Ok();
  }

  uint16_t port() const override { return port_; }

  void Start() override {
    Accept();
    for (int i = 0; i < std::max(1, options_.threads); ++i) {
      threads_.emplace_back([this] { ioc_.run(); });
    }
  }

  void Shutdown(std::chrono::milliseconds grace) override {
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      accept_timer_.cancel();
      acceptor_.close(ec);
    });
    stopping_ = true;
    std::vector<std::shared_ptr<Session>> live;
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      for (auto& [ptr, weak] : sessions_) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) s->StopIfIdle();
    live.clear();
    {
      std::unique_lock<std::mutex> lock(sessions_mu_);
      sessions_cv_.wait_for(lock, grace, [&] { return sessions_.empty(); });
      if (!sessions_.empty()) {
        spdlog::warn("shutdown: {} connection(s) still busy after {} ms; closing them",
                     sessions_.size(), grace.count());
      }
    }
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

  ~ServerImpl() override {
    if (!threads_.empty()) Shutdown(std::chrono::milliseconds(0));
  }

  const Router& router() const { return router_; }
  HttpMetrics& metrics() { return metrics_; }
  const ServerOptions& options() const { return options_; }
  bool stopping() const { return stopping_; }
  RateLimiter& limiter() { return limiter_; }

  // Registers a new connection and decides whether it is served, answered 503 (over a
  // connection limit) or, when too many refusals are already in progress, dropped.
  Admission Register(const std::shared_ptr<Session>& s) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.emplace(s.get(), s);
    size_t& from_client = per_client_[s->client()];
    bool over = (options_.max_connections > 0 && admitted_ >= options_.max_connections) ||
                (options_.max_connections_per_client > 0 &&
                 from_client >= options_.max_connections_per_client);
    if (!over) {
      ++admitted_;
      ++from_client;
      return Admission::kAdmitted;
    }
    if (from_client == 0) per_client_.erase(s->client());
    if (refusing_ >= kMaxRefusing) return Admission::kDropped;
    ++refusing_;
    return Admission::kRefused;
  }
  void Unregister(Session* s) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    if (s->admission == Admission::kAdmitted) {
      --admitted_;
      auto it = per_client_.find(s->client());
      if (it != per_client_.end() && --it->second == 0) per_client_.erase(it);
    } else if (s->admission == Admission::kRefused) {
      --refusing_;
    }
    sessions_.erase(s);
    if (sessions_.empty()) sessions_cv_.notify_all();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (ec) return BackOff(ec);
      accept_backoff_ = std::chrono::milliseconds(0);
      if (!stopping_) {
        beast::error_code peer_ec;
        auto peer = socket.remote_endpoint(peer_ec);
        std::string client = peer_ec ? std::string() : peer.address().to_string();
        auto session = std::make_shared<Session>(std::move(socket), *this, std::move(client));
        session->admission = Register(session);
        if (session->admission == Admission::kAdmitted) {
          session->Start();
        } else {
          metrics_.connections_refused++;
          if (session->admission == Admission::kRefused) session->Refuse();
        }
        Accept();
      }
    });
  }

  // Waits before the next accept after a failure (at the descriptor limit accept fails at once
  // every time, and retrying at once would spin), and logs at most once a second.
  void BackOff(beast::error_code ec) {
    metrics_.accept_errors++;
    accept_backoff_ = std::clamp(accept_backoff_ * 2, options_.accept_backoff_min,
                                 std::max(options_.accept_backoff_min, options_.accept_backoff_max));
    ++accept_errors_unlogged_;
    auto now = Steady::now();
    if (now - accept_logged_at_ >= std::chrono::seconds(1)) {
      spdlog::warn("accept failed: {} ({} time(s) since the last report); retrying in {} ms",
                   ec.message(), accept_errors_unlogged_, accept_backoff_.count());
      accept_logged_at_ = now;
      accept_errors_unlogged_ = 0;
    }
    accept_timer_.expires_after(accept_backoff_);
    accept_timer_.async_wait([this](beast::error_code wait_ec) {
      if (wait_ec || stopping_ || !acceptor_.is_open()) return;
      Accept();
    });
  }

  ServerOptions options_;
  const Router& router_;
  HttpMetrics& metrics_;
  // Declared before ioc_: sessions still queued in ioc_ unregister while it is destroyed.
  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  // Live sessions; each removes itself in its destructor. Weak, so the registry never keeps a
  // connection alive.
  std::map<Session*, std::weak_ptr<Session>> sessions_;  // GUARDED_BY(sessions_mu_)
  std::map<std::string, size_t> per_client_;  // GUARDED_BY(sessions_mu_); admitted, by address
  size_t admitted_ = 0;                       // GUARDED_BY(sessions_mu_)
  size_t refusing_ = 0;                       // GUARDED_BY(sessions_mu_)
  RateLimiter limiter_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  // The accept back-off; touched on the acceptor's strand only.
  net::steady_timer accept_timer_;
  std::chrono::milliseconds accept_backoff_{0};
  Steady::time_point accept_logged_at_{};
  int64_t accept_errors_unlogged_ = 0;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};

};

// The EventStream handed to handlers. Holds the session weakly: a stream kept by a subscriber
// never keeps a dead connection alive.
class SseStream final : public EventStream {
 public:
  explicit SseStream(std::weak_ptr<Session> session) : session_(std::move(session)) {}

  bool Send(const SseEvent& event) override { return SendRaw(FormatSse(event)); }

  bool SendRaw(std::string bytes) {
    if (closed()) return false;
    auto s = session_.lock();
    if (!s) {
      MarkClosed();
      return false;
    }
    s->PostEnqueue(std::move(bytes));
    return true;
  }

  void Close() override {
    if (auto s = session_.lock()) {
      s->PostCloseStream();
    } else {
      MarkClosed();
    }
  }

  bool closed() const override { return closed_.load(); }

  void OnClose(std::function<void()> fn) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!closed_.load()) {
        on_close_.push_back(std::move(fn));
        return;
      }
    }
    fn();
  }

  // Marks the stream closed and runs the OnClose callbacks once.
  void MarkClosed() {
    std::vector<std::function<void()>> callbacks;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_.exchange(true)) return;
      callbacks.swap(on_close_);
    }
    for (auto& fn : callbacks) fn();
  }

 private:
  std::weak_ptr<Session> session_;
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::vector<std::function<void()>> on_close_;  // GUARDED_BY(mu_)
};

// The Completion handed to asynchronous handlers. Holds the session until answered.
class AsyncCall final : public Completion, public std::enable_shared_from_this<AsyncCall> {
 public:
  explicit AsyncCall(std::shared_ptr<Session> session) : session_(std::move(session)) {}

  ~AsyncCall() override {
    if (auto s = Take()) s->FinishAsync(Error(Internal("the request was dropped unanswered")));
  }

  void Respond(Response response) override {
    if (auto s = Take()) s->FinishAsync(std::move(response));
  }

  std::shared_ptr<EventStream> OpenStream(
      std::vector<std::pair<std::string, std::string>> headers) override {
    auto s = Take();
    if (!s) return nullptr;
    auto stream = std::make_shared<SseStream>(s);
    s->BeginStream(stream, std::move(headers));
    return stream;
  }

  void SetDeadline(std::chrono::milliseconds after, std::function<Response()> on_timeout) override {
    std::shared_ptr<Session> s;
    {
      std::lock_guard<std::mutex> lock(mu_);
      s = session_;
    }
    if (s) s->ArmDeadline(shared_from_this(), after, std::move(on_timeout));
  }

  bool done() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return session_ == nullptr;
  }

 private:
  std::shared_ptr<Session> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(session_);
  }

  mutable std::mutex mu_;
  std::shared_ptr<Session> session_;  // GUARDED_BY(mu_); null once answered
};

Session::Session(tcp::socket socket, ServerImpl& server, std::string client)
    : stream_(std::move(socket)), server_(server), client_(std::move(client)),
      deadline_timer_(stream_.get_executor()), keepalive_timer_(stream_.get_executor()) {
  server_.metrics().connections_open++;
  server_.metrics().connections_total++;
}

Session::~Session() {
  if (sse_) sse_->MarkClosed();
  server_.metrics().connections_open--;
  server_.Unregister(this);
}

void Session::Start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadRequest(); });
}

void Session::Refuse() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->busy_ = true;
    Response res = Error(Unavailable("too many open connections; retry later"));
    res.headers.emplace_back("Retry-After", "1");
    self->Send(std::move(res), /*keep_alive=*/false);
  });
}

void Session::StopIfIdle() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->mode_ == Mode::kStreaming) return self->CloseStream();
    if (self->mode_ == Mode::kAsyncPending) {
      self->deadline_timer_.cancel();  // the deadline handler answers now (server stopping)
      return;
    }
    if (!self->busy_) self->Close();
  });
}

void Session::ReadRequest() {
  if (server_.stopping()) return Close();
  parser_.emplace();
  parser_->body_limit(server_.options().max_body_bytes);
  parser_->header_limit(static_cast<uint32_t>(server_.options().max_header_bytes));
  // The first request (or one already pipelined) is on the header clock at once; a keep-alive
  // connection gets the idle timeout until the next request starts.
  if (!served_ || buffer_.size() > 0) return ReadHeader();
  WaitForRequest();
}

void Session::WaitForRequest() {
  stream_.expires_after(server_.options().idle_timeout);
  stream_.async_read_some(
      buffer_.prepare(kReadChunk), [self = shared_from_this()](beast::error_code ec, size_t n) {
        if (ec) return self->Close();
        self->buffer_.commit(n);
        self->ReadHeader();
      });
}

void Session::ReadHeader() {
  stream_.expires_after(server_.options().header_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
}

void Session::OnHeader(beast::error_code ec, size_t) {
  if (FailedRead(ec)) return;
  if (Status framing = CheckFraming(parser_->get()); !framing.ok()) {
    busy_ = true;
    started_ = Steady::now();
    server_.metrics().malformed_requests++;
    beast::string_view method = parser_->get().method_string();
    server_.metrics().Observe({method.data(), method.size()}, "unparsed", 400, 0);
    return Send(Error(framing), /*keep_alive=*/false);
  }
  if (parser_->is_done()) return Handle();
  stream_.expires_after(server_.options().body_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::OnBody, shared_from_this()));
}

void Session::OnBody(beast::error_code ec, size_t) {
  if (FailedRead(ec)) return;
  Handle();
}

bool Session::FailedRead(beast::error_code ec) {
  if (!ec) return false;
  if (ec == beast::error::timeout) {
    server_.metrics().read_timeouts++;
    Close();
    return true;
  }
  if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
      ec == net::error::connection_reset || ec == net::error::eof) {
    Close();
    return true;
  }
  busy_ = true;
  started_ = Steady::now();
  server_.metrics().malformed_requests++;
  Status why = ec == bhttp::error::body_limit
                   ? TooLarge("request body is larger than " +
                              std::to_string(server_.options().max_body_bytes) + " bytes")
               : ec == bhttp::error::header_limit
                   ? TooLarge("request headers are larger than " +
                              std::to_string(server_.options().max_header_bytes) + " bytes")
                   : InvalidArgument("malformed HTTP request: " + ec.message());
  server_.metrics().Observe("-", "unparsed", HttpStatusFor(why.code()), 0);
  Send(Error(why), /*keep_alive=*/false);
  return true;
}

void Session::Handle() {
  busy_ = true;
  started_ = Steady::now();
  auto& msg = parser_->get();
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  if (Status parsed = ParseTarget(req.target, req); !parsed.ok()) {
    server_.metrics().Observe(req.method, "unmatched", 400, 0);
    return Send(Error(parsed), msg.keep_alive());
  }
  for (const auto& field : msg) {
    std::string name(field.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    req.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  req.body = std::move(msg.body());

  Router::Match match = server_.router().Find(req);
  Response res;
  std::string route = match.pattern.empty() ? "unmatched" : match.pattern;
  // Keyed by a hash of the credential, so the limiter holds no secret.
  std::string_view authorization = req.Header("authorization");
  std::string rate_key = authorization.empty() ? "addr:" + client_
                                               : "auth:" + Sha256Hex(authorization);
  if (int64_t wait_ms = server_.limiter().Acquire(rate_key); wait_ms > 0) {
    int64_t seconds = std::max<int64_t>(1, (wait_ms + 999) / 1000);
    res = Error(Status(StatusCode::kResourceExhausted,
                       "too many requests; retry after " + std::to_string(seconds) + " s"));
    res.headers.emplace_back("Retry-After", std::to_string(seconds));
    server_.metrics().Observe(req.method, route, res.status, 0);
    return Send(std::move(res), msg.keep_alive());
  }
  if (match.async_handler) {
    server_.metrics().requests_in_flight++;
    mode_ = Mode::kAsyncPending;
    keep_alive_ = msg.keep_alive();
    method_ = req.method;
    route_ = route;
    auto call = std::make_shared<AsyncCall>(shared_from_this());
    try {
      (*match.async_handler)(req, call);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} threw: {}", req.method, route, e.what());
      call->Respond(Error(Internal("unexpected error; see the server log")));
    } catch (...) {
      spdlog::error("handler for {} {} threw a non-standard exception", req.method, route);
      call->Respond(Error(Internal("unexpected error; see the server log")));
    }
    return;
  }
  if (match.handler) {
    server_.metrics().requests_in_flight++;
    res = Guarded("handler for " + req.method + " " + route, [&] { return (*match.handler)(req); });
    server_.metrics().requests_in_flight--;
  } else if (match.method_not_allowed) {
    res = Json(405, {{"error", {{"code", "method_not_allowed"},
                                {"message", req.method + " is not allowed on " + req.path +
                                                " (allowed: " + match.allowed_methods + ")"}}}});
    res.headers.emplace_back("Allow", match.allowed_methods);
  } else {
    res = Error(NotFound("no route for " + req.method + " " + req.path));
  }
  double seconds = std::chrono::duration<double>(Steady::now() - started_).count();
  server_.metrics().Observe(req.method, route, res.status, seconds);
  spdlog::debug("{} {} -> {} ({:.3f} ms)", HttpMetrics::MethodLabel(req.method), route,
                res.status, seconds * 1000);
  Send(std::move(res), msg.keep_alive());
}

void Session::Send(Response response, bool keep_alive) {
  keep_alive = keep_alive && !server_.stopping();
  response_ = std::make_shared<bhttp::response<bhttp::string_body>>(
      static_cast<bhttp::status>(response.status), 11);
  response_->set(bhttp::field::server, "firebreak");
  response_->set(bhttp::field::content_type, response.content_type);
  for (auto& [name, value] : response.headers) response_->set(name, value);
  response_->keep_alive(keep_alive);
  response_->body() = std::move(response.body);
  response_->prepare_payload();
  stream_.expires_after(std::chrono::seconds(30));
  bhttp::async_write(stream_, *response_,
                     beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
}

void Session::OnWrite(bool keep_alive, beast::error_code ec, size_t) {
  busy_ = false;
  served_ = true;
  response_.reset();
  if (ec) return Close();
  if (!keep_alive) return Linger();
  ReadRequest();
}

void Session::FinishAsync(Response response) {
  net::post(stream_.get_executor(), [self = shared_from_this(), r = std::move(response)]() mutable {
    if (self->mode_ != Mode::kAsyncPending) return;
    self->mode_ = Mode::kRequest;
    self->deadline_timer_.cancel();
    self->server_.metrics().requests_in_flight--;
    double seconds = std::chrono::duration<double>(Steady::now() - self->started_).count();
    self->server_.metrics().Observe(self->method_, self->route_, r.status, seconds);
    self->Send(std::move(r), self->keep_alive_);
  });
}

void Session::ArmDeadline(std::shared_ptr<Completion> call, std::chrono::milliseconds after,
                          std::function<Response()> on_timeout) {
  net::post(stream_.get_executor(), [self = shared_from_this(), call = std::move(call), after,
                                     fn = std::move(on_timeout)]() mutable {
    if (self->mode_ != Mode::kAsyncPending || call->done()) return;
    if (self->server_.stopping()) {
      call->Respond(Guarded("deadline answer", fn));
      return;
    }
    self->deadline_timer_.expires_after(after);
    self->deadline_timer_.async_wait(
        [self, call, fn = std::move(fn)](beast::error_code ec) {
          // Cancelled: either answered already (Respond then does nothing) or shutting down.
          if (ec == net::error::operation_aborted && !self->server_.stopping()) return;
          if (!call->done()) call->Respond(Guarded("deadline answer", fn));
        });
  });
}

void Session::BeginStream(std::shared_ptr<SseStream> stream,
                          std::vector<std::pair<std::string, std::string>> headers) {
  net::post(stream_.get_executor(), [self = shared_from_this(), stream = std::move(stream),
                                     headers = std::move(headers)]() mutable {
    if (self->mode_ != Mode::kAsyncPending) return stream->MarkClosed();
    self->mode_ = Mode::kStreaming;
    self->deadline_timer_.cancel();
    self->sse_ = std::move(stream);
    self->server_.metrics().requests_in_flight--;
    self->server_.metrics().streams_open++;
    double seconds = std::chrono::duration<double>(Steady::now() - self->started_).count();
    self->server_.metrics().Observe(self->method_, self->route_, 200, seconds);
    // No length and no chunking: the stream ends when the connection closes.
    std::string head =
        "HTTP/1.1 200 OK\r\nServer: firebreak\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n";
    for (auto& [name, value] : headers) head += name + ": " + value + "\r\n";
    head += "\r\n";
    self->stream_.expires_never();
    // Queued events sent before the headers were written go out after them.
    self->out_queue_.push_front(std::move(head));
    self->queued_bytes_ += self->out_queue_.front().size();
    if (self->server_.stopping()) return self->CloseStream();
    if (!self->writing_) self->WriteNext();
    self->WatchForHangup();
    self->ArmKeepAlive();
  });
}

void Session::PostEnqueue(std::string bytes) {
  net::post(stream_.get_executor(), [self = shared_from_this(), b = std::move(bytes)]() mutable {
    self->Enqueue(std::move(b));
  });
}

void Session::PostCloseStream() {
  net::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseStream(); });
}

void Session::Enqueue(std::string bytes) {
  if (!sse_ || sse_->closed()) return;
  queued_bytes_ += bytes.size();
  out_queue_.push_back(std::move(bytes));
  // A client that does not read is dropped rather than buffered without bound; it reconnects
  // and catches up from its last event id.
  if (queued_bytes_ > server_.options().max_stream_buffer_bytes) {
    spdlog::debug("event stream client too slow ({} bytes queued); closing", queued_bytes_);
    return CloseStream();
  }
  if (mode_ == Mode::kStreaming && !writing_) WriteNext();
}

void Session::WriteNext() {
  if (out_queue_.empty()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  net::async_write(stream_.socket(), net::buffer(out_queue_.front()),
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->queued_bytes_ -= self->out_queue_.front().size();
                     self->out_queue_.pop_front();
                     if (ec) {
                       self->writing_ = false;
                       return self->CloseStream();
                     }
                     self->WriteNext();
                   });
}

void Session::WatchForHangup() {
  // The client sends nothing on an event stream; a completed read means it closed (or broke
  // protocol), either way the stream ends.
  stream_.socket().async_read_some(
      net::buffer(hangup_buffer_), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->CloseStream();
        self->WatchForHangup();
      });
}

void Session::ArmKeepAlive() {
  keepalive_timer_.expires_after(server_.options().sse_keepalive);
  keepalive_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || !self->sse_ || self->sse_->closed()) return;
    self->Enqueue(": keep-alive\n\n");
    self->ArmKeepAlive();
  });
}

void Session::CloseStream() {
  if (mode_ != Mode::kStreaming) return;
  if (sse_ && !sse_->closed()) server_.metrics().streams_open--;
  if (sse_) sse_->MarkClosed();
  keepalive_timer_.cancel();
  Close();
}

void Session::Close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

void Session::Linger() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) return Close();
  stream_.expires_after(kLinger);
  Drain();
}

void Session::Drain() {
  stream_.async_read_some(net::buffer(hangup_buffer_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) return self->Close();
                            self->Drain();
                          });
}

}  // namespace

StatusOr<std::unique_ptr<Server>> Server::Create(const ServerOptions& options, const Router& router,
                                                 HttpMetrics& metrics, const Clock& clock) {
  auto server = std::make_unique<ServerImpl>(options, router, metrics, clock);
  FB_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace firebreak::http
