#include "http/server.h"

#include <spdlog/spdlog.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <mutex>
#include <map>
#include <thread>
#include <vector>

namespace firebreak::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

class ServerImpl;

// One client connection: read a request, answer it, repeat while keep-alive holds.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, ServerImpl& server);
  ~Session();
  void Start();
  // Closes the connection when it is waiting for a request; in-flight work finishes first.
  void StopIfIdle();

 private:
  void ReadRequest();
  void OnRead(beast::error_code ec, size_t bytes);
  void Handle();
  void Send(Response response, bool keep_alive);
  void OnWrite(bool keep_alive, beast::error_code ec, size_t bytes);
  void Close();

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<bhttp::response<bhttp::string_body>> response_;
  ServerImpl& server_;
  bool busy_ = false;  // a request is being handled or answered; touched on the strand only
  Clock::time_point started_;
};

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, const Router& router, HttpMetrics& metrics)
      : options_(options), router_(router), metrics_(metrics), ioc_(options.threads),
        acceptor_(net::make_strand(ioc_)) {}

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

  void Register(const std::shared_ptr<Session>& s) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.emplace(s.get(), s);
  }
  void Unregister(Session* s) {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions_.erase(s);
    if (sessions_.empty()) sessions_cv_.notify_all();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec && !stopping_) {
        auto session = std::make_shared<Session>(std::move(socket), *this);
        Register(session);
        session->Start();
      } else if (ec) {
        spdlog::warn("accept failed: {}", ec.message());
      }
      if (!stopping_) Accept();
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
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};

};

Session::Session(tcp::socket socket, ServerImpl& server)
    : stream_(std::move(socket)), server_(server) {
  server_.metrics().connections_open++;
  server_.metrics().connections_total++;
}

Session::~Session() {
  server_.metrics().connections_open--;
  server_.Unregister(this);
}

void Session::Start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadRequest(); });
}

void Session::StopIfIdle() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->busy_) self->Close();
  });
}

void Session::ReadRequest() {
  if (server_.stopping()) return Close();
  parser_.emplace();
  parser_->body_limit(server_.options().max_body_bytes);
  parser_->header_limit(static_cast<uint32_t>(server_.options().max_header_bytes));
  stream_.expires_after(server_.options().idle_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    beast::bind_front_handler(&Session::OnRead, shared_from_this()));
}

void Session::OnRead(beast::error_code ec, size_t) {
  if (ec == bhttp::error::end_of_stream || ec == net::error::operation_aborted ||
      ec == beast::error::timeout || ec == net::error::connection_reset ||
      ec == net::error::eof) {
    return Close();
  }
  busy_ = true;
  started_ = Clock::now();
  if (ec) {
    server_.metrics().malformed_requests++;
    Status why = ec == bhttp::error::body_limit
                     ? TooLarge("request body is larger than " +
                                std::to_string(server_.options().max_body_bytes) + " bytes")
                 : ec == bhttp::error::header_limit
                     ? TooLarge("request headers are larger than " +
                                std::to_string(server_.options().max_header_bytes) + " bytes")
                     : InvalidArgument("malformed HTTP request: " + ec.message());
    server_.metrics().Observe("-", "unparsed", HttpStatusFor(why.code()), 0);
    return Send(Error(why), /*keep_alive=*/false);
  }
  Handle();
}

void Session::Handle() {
  auto& msg = parser_->get();
  Request req;
  req.method = std::string(msg.method_string());
  req.target = std::string(msg.target());
  std::string_view target = req.target;
  size_t q = target.find('?');
  auto path = PercentDecode(target.substr(0, q), false);
  if (!path || path->empty() || (*path)[0] != '/') {
    server_.metrics().Observe(req.method, "unmatched", 400, 0);
    return Send(Error(InvalidArgument("bad request target")), msg.keep_alive());
  }
  req.path = std::move(*path);
  if (q != std::string_view::npos) {
    std::string_view rest = target.substr(q + 1);
    while (!rest.empty()) {
      size_t amp = rest.find('&');
      std::string_view pair = rest.substr(0, amp);
      size_t eq = pair.find('=');
      auto key = PercentDecode(pair.substr(0, eq), true);
      auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!key || !value) {
        server_.metrics().Observe(req.method, "unmatched", 400, 0);
        return Send(Error(InvalidArgument("bad query string")), msg.keep_alive());
      }
      if (!key->empty()) req.query.emplace(std::move(*key), std::move(*value));
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
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
  if (match.handler) {
    server_.metrics().requests_in_flight++;
    try {
      res = (*match.handler)(req);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} threw: {}", req.method, route, e.what());
      res = Error(Internal("unexpected error; see the server log"));
    }
    server_.metrics().requests_in_flight--;
  } else if (match.method_not_allowed) {
    res = Json(405, {{"error", {{"code", "method_not_allowed"},
                                {"message", req.method + " is not allowed on " + req.path +
                                                " (allowed: " + match.allowed_methods + ")"}}}});
    res.headers.emplace_back("Allow", match.allowed_methods);
  } else {
    res = Error(NotFound("no route for " + req.method + " " + req.path));
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started_).count();
  server_.metrics().Observe(req.method, route, res.status, seconds);
  spdlog::debug("{} {} -> {} ({:.3f} ms)", req.method, req.target, res.status, seconds * 1000);
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
  response_.reset();
  if (ec || !keep_alive) return Close();
  ReadRequest();
}

void Session::Close() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.socket().close(ec);
}

}  // namespace

StatusOr<std::unique_ptr<Server>> Server::Create(const ServerOptions& options, const Router& router,
                                                 HttpMetrics& metrics) {
  auto server = std::make_unique<ServerImpl>(options, router, metrics);
  FB_RETURN_IF_ERROR(server->Listen());
  return std::unique_ptr<Server>(std::move(server));
}

}  // namespace firebreak::http
