// runtime_push: how fast a rollback reaches every connected agent.
//
// Starts the real `firebreak serve` on 127.0.0.1 (own temp data dir, fixed free port), registers
// an agent with a stable v1 and a current v2, then holds N server-sent-event streams and M
// long-pollers on GET /api/v1/agents/{agent}/runtime. Each round issues a rollback and measures,
// per client, the time from sending the rollback request to that client receiving the new
// revision; prints p50/p99/max per client kind. The restart case stops the server (SIGTERM)
// while every client is connected, starts it again on the same port and data dir, and issues
// the rollback as soon as it answers, while clients are still reconnecting: they resume by
// revision (Last-Event-ID, ?revision=) and the check is that none misses the change.
//
//   runtime_push --firebreak build/release/src/exe/firebreak [--streams 1000] [--pollers 1000]
//                [--rounds 5]
//
// Figures only; it never fails on time. Exit code 1 when a client missed a change.
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

// clang-format off
// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format on
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr char kAgent[] = "bench-bot";

struct Config {
  std::string firebreak;
  int streams = 1000;
  int pollers = 1000;
  int rounds = 5;
};

// --- the server under test -------------------------------------------------------------------

uint16_t FreePort() {
  net::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

class Server {
 public:
  Server(std::string binary, std::string dir, uint16_t port)
      : binary_(std::move(binary)), dir_(std::move(dir)), port_(port) {}

  void Start() {
    int out[2];
    if (pipe(out) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      std::string listen = "127.0.0.1:" + std::to_string(port_);
      execl(binary_.c_str(), binary_.c_str(), "serve", "--listen", listen.c_str(), "--data-dir",
            dir_.c_str(), "--workers", "2", "--log-level", "warn", "--rate-limit-per-second", "0",
            "--max-connections-per-client", "0",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    close(out[1]);
    FILE* f = fdopen(out[0], "r");
    char line[512];
    while (fgets(line, sizeof(line), f)) {
      if (std::string(line).find("listening on") != std::string::npos) break;
    }
    fclose(f);  // the server writes nothing more to stdout
    std::ifstream in(dir_ + "/admin.token");
    std::getline(in, token_);
  }

  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  ~Server() { Stop(); }
  const std::string& token() const { return token_; }
  uint16_t port() const { return port_; }

 private:
  std::string binary_, dir_;
  uint16_t port_;
  pid_t pid_ = -1;
  std::string token_;
};

// One synchronous request; returns status and body.
std::pair<int, std::string> Call(uint16_t port, const std::string& token, const std::string& method,
                                 const std::string& target, const std::string& body = "") {
  try {
    net::io_context ioc;
    beast::tcp_stream s(ioc);
    s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), target, 11);
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::authorization, "Bearer " + token);
    if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    bhttp::write(s, req);
    beast::flat_buffer buf;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(s, buf, res);
    return {res.result_int(), res.body()};
  } catch (const std::exception& e) {
    return {0, e.what()};
  }
}

void MustCall(uint16_t port, const std::string& token, const std::string& method,
              const std::string& target, const std::string& body = "") {
  auto [status, text] = Call(port, token, method, target, body);
  if (status < 200 || status > 299) {
    std::cerr << method << " " << target << " -> " << status << " " << text << "\n";
    std::exit(2);
  }
}

int64_t MetricValue(uint16_t port, const std::string& token, const std::string& name) {
  auto [status, text] = Call(port, token, "GET", "/metrics");
  size_t at = text.find("\n" + name + " ");
  if (status != 200 || at == std::string::npos) return -1;
  return std::stoll(text.substr(at + name.size() + 2));
}

// --- the clients -----------------------------------------------------------------------------

// Shared by every client and the driver; touched on the client thread only, except the atomics.
struct Shared {
  uint16_t port = 0;
  std::string token;
  std::atomic<int64_t> target{-1};        // the revision being waited for
  SteadyClock::time_point t0;             // when the rollback request was sent
  std::atomic<int> reached{0};            // clients that saw the target
  std::atomic<int> connected_streams{0};  // streams that got their first event since (re)connect
  std::atomic<int64_t> reconnects{0};
};

class AgentClient : public std::enable_shared_from_this<AgentClient> {
 public:
  AgentClient(net::io_context& ioc, Shared& shared, bool sse)
      : ioc_(ioc), socket_(ioc), timer_(ioc), shared_(shared), sse_(sse) {}

  void Start() { Connect(); }
  bool sse() const { return sse_; }
  int64_t revision() const { return revision_; }
  bool reached() const { return reached_; }
  double latency_ms() const { return latency_ms_; }
  void ResetForRound() { reached_ = false; }

 private:
  void Connect() {
    socket_ = tcp::socket(ioc_);
    buffer_.clear();
    headers_done_ = false;
    first_event_ = true;
    socket_.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), shared_.port),
                          [self = shared_from_this()](beast::error_code ec) {
                            if (ec) return self->Retry();
                            self->Request();
                          });
  }

  void Retry() {
    shared_.reconnects++;
    if (sse_ && !first_event_) shared_.connected_streams--;
    beast::error_code ignored;
    socket_.close(ignored);
    // Agents back off a little, with jitter, so a restart is not met by a thundering herd.
    timer_.expires_after(std::chrono::milliseconds(20 + std::rand() % 80));
    timer_.async_wait([self = shared_from_this()](beast::error_code) { self->Connect(); });
  }

  void Request() {
    std::string path = std::string("/api/v1/agents/") + kAgent + "/runtime";
    std::string extra;
    if (sse_) {
      path += "/stream";
      if (revision_ >= 0) extra = "Last-Event-ID: " + std::to_string(revision_) + "\r\n";
    } else {
      path += "?wait=60&revision=" + std::to_string(revision_);
    }
    out_ = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
           shared_.token + "\r\n" + extra + "\r\n";
    net::async_write(socket_, net::buffer(out_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->Retry();
                       self->Read();
                     });
  }

  void Read() {
    socket_.async_read_some(net::buffer(chunk_),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) return self->Retry();
                              self->buffer_.append(self->chunk_.data(), n);
                              self->sse_ ? self->ParseEvents() : self->ParseResponse();
                            });
  }

  void Saw(int64_t revision) {
    if (revision <= revision_) return;
    revision_ = revision;
    int64_t target = shared_.target.load();
    if (!reached_ && target >= 0 && revision >= target) {
      reached_ = true;
      latency_ms_ =
          std::chrono::duration<double, std::milli>(SteadyClock::now() - shared_.t0).count();
      shared_.reached++;
    }
  }

  static int64_t RevisionIn(const std::string& json) {
    size_t at = json.find("\"revision\":");
    return at == std::string::npos ? -1 : std::stoll(json.substr(at + 11));
  }

  void ParseEvents() {
    if (!headers_done_) {
      size_t end = buffer_.find("\r\n\r\n");
      if (end == std::string::npos) return Read();
      if (buffer_.rfind("HTTP/1.1 200", 0) != 0) return Retry();
      buffer_.erase(0, end + 4);
      headers_done_ = true;
    }
    size_t end;
    while ((end = buffer_.find("\n\n")) != std::string::npos) {
      std::string event = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      if (event.rfind("id: ", 0) != 0) continue;  // keep-alive comment
      if (first_event_) {
        first_event_ = false;
        shared_.connected_streams++;
      }
      Saw(RevisionIn(event));
    }
    Read();
  }

  void ParseResponse() {
    size_t end = buffer_.find("\r\n\r\n");
    if (end == std::string::npos) return Read();
    size_t cl = buffer_.find("Content-Length: ");
    if (cl == std::string::npos || cl > end) return Retry();
    size_t length = std::stoul(buffer_.substr(cl + 16));
    if (buffer_.size() < end + 4 + length) return Read();
    bool ok = buffer_.rfind("HTTP/1.1 200", 0) == 0;
    std::string body = buffer_.substr(end + 4, length);
    bool close = buffer_.substr(0, end).find("Connection: close") != std::string::npos;
    buffer_.erase(0, end + 4 + length);
    if (!ok) return Retry();
    Saw(RevisionIn(body));
    if (close) return Retry();
    Request();
  }

  net::io_context& ioc_;
  tcp::socket socket_;
  net::steady_timer timer_;
  Shared& shared_;
  bool sse_;
  // Read by the driver thread to wait for quiet moments; written on the client thread.
  std::atomic<int64_t> revision_{-1};
  std::atomic<bool> reached_{false};
  bool headers_done_ = false;
  bool first_event_ = true;
  double latency_ms_ = 0;
  std::string out_, buffer_;
  std::array<char, 8192> chunk_{};
};

// --- figures ---------------------------------------------------------------------------------

void Report(const std::string& what, std::vector<double> ms) {
  if (ms.empty()) return;
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(p * ms.size()))];
  };
  std::printf("  %-28s n=%-5zu p50=%7.2f ms  p99=%7.2f ms  max=%7.2f ms\n", what.c_str(), ms.size(),
              pct(0.50), pct(0.99), ms.back());
}

bool WaitFor(const std::function<bool()>& done, int seconds) {
  auto deadline = SteadyClock::now() + std::chrono::seconds(seconds);
  while (!done()) {
    if (SteadyClock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

void RaiseOpenFileLimit() {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
  std::printf("open file limit: %llu\n", static_cast<unsigned long long>(lim.rlim_cur));
}

}  // namespace

int main(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--firebreak")
      cfg.firebreak = value;
    else if (flag == "--streams")
      cfg.streams = std::stoi(value);
    else if (flag == "--pollers")
      cfg.pollers = std::stoi(value);
    else if (flag == "--rounds")
      cfg.rounds = std::stoi(value);
  }
  if (cfg.firebreak.empty()) {
    std::cerr << "usage: runtime_push --firebreak PATH [--streams N] [--pollers N] [--rounds N]\n";
    return 2;
  }
  RaiseOpenFileLimit();
  std::string dir =
      (std::filesystem::temp_directory_path() / ("runtime_push." + std::to_string(getpid())))
          .string();
  std::filesystem::create_directories(dir);
  Server server(cfg.firebreak, dir + "/data", FreePort());
  server.Start();
  Shared shared;
  shared.port = server.port();
  shared.token = server.token();
  const uint16_t port = server.port();
  const std::string token = server.token();

  const std::string manifest1 = R"({"model":"m","prompt_hash":"sha256:1"})";
  const std::string manifest2 = R"({"model":"m","prompt_hash":"sha256:2"})";
  std::string agent_path = std::string("/api/v1/agents/") + kAgent;
  MustCall(port, token, "POST", agent_path + "/versions",
           R"({"version":"v1","manifest":)" + manifest1 + "}");
  MustCall(port, token, "POST", agent_path + "/versions",
           R"({"version":"v2","manifest":)" + manifest2 + "}");
  MustCall(port, token, "POST", agent_path + "/deploy", R"({"version":"v1"})");
  MustCall(port, token, "POST", agent_path + "/versions/v1/promote");
  MustCall(port, token, "POST", agent_path + "/deploy", R"({"version":"v2"})");
  int64_t revision = 3;

  net::io_context ioc;
  auto work = net::make_work_guard(ioc);
  std::vector<std::shared_ptr<AgentClient>> clients;
  for (int i = 0; i < cfg.streams; ++i)
    clients.push_back(std::make_shared<AgentClient>(ioc, shared, true));
  for (int i = 0; i < cfg.pollers; ++i)
    clients.push_back(std::make_shared<AgentClient>(ioc, shared, false));
  for (auto& c : clients) net::post(ioc, [c] { c->Start(); });
  std::thread io([&] { ioc.run(); });

  auto all_at = [&](int64_t r) {
    return [&, r] {
      return shared.connected_streams.load() >= cfg.streams &&
             MetricValue(port, token, "firebreak_http_requests_in_flight") >= cfg.pollers &&
             std::all_of(clients.begin(), clients.end(),
                         [r](auto& c) { return c->revision() >= r; });
    };
  };
  // Reads of client state from this thread race benignly with the client thread: they are only
  // used to wait for a quiet moment; the figures are read after the client thread reached them.
  if (!WaitFor(all_at(revision), 60)) {
    std::cerr << "clients did not all connect\n";
    return 2;
  }
  std::printf("firebreak on 127.0.0.1:%u, %d SSE streams + %d long-pollers connected\n", port,
              cfg.streams, cfg.pollers);

  int missed = 0;
  auto run_round = [&](const std::string& title, bool restart) {
    for (auto& c : clients) c->ResetForRound();
    shared.reached = 0;
    int64_t reconnects_before = shared.reconnects.load();
    SteadyClock::time_point restart_t0;
    if (restart) {
      restart_t0 = SteadyClock::now();
      server.Stop();
      server.Start();
    }
    shared.target = revision + 1;
    shared.t0 = SteadyClock::now();
    auto [status, body] =
        Call(port, token, "POST", agent_path + "/rollback", R"({"reason":"bench"})");
    double request_ms =
        std::chrono::duration<double, std::milli>(SteadyClock::now() - shared.t0).count();
    if (status != 200) {
      std::cerr << "rollback -> " << status << " " << body << "\n";
      std::exit(2);
    }
    ++revision;
    bool all =
        WaitFor([&] { return shared.reached.load() >= static_cast<int>(clients.size()); }, 60);
    std::vector<double> sse_ms, poll_ms, all_ms;
    int round_missed = 0;
    for (auto& c : clients) {
      if (!c->reached()) {
        ++round_missed;
        continue;
      }
      (c->sse() ? sse_ms : poll_ms).push_back(c->latency_ms());
      all_ms.push_back(c->latency_ms());
    }
    missed += round_missed;
    std::printf("%s (rollback request answered in %.2f ms%s)\n", title.c_str(), request_ms,
                restart ? (", server restarted " +
                           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              shared.t0 - restart_t0)
                                              .count()) +
                           " ms before it, " +
                           std::to_string(shared.reconnects.load() - reconnects_before) +
                           " client reconnect attempts")
                              .c_str()
                        : "");
    Report("SSE streams", sse_ms);
    Report("long-pollers", poll_ms);
    Report("all clients", all_ms);
    if (!all || round_missed)
      std::printf("  MISSED: %d clients never saw revision %lld\n", round_missed,
                  static_cast<long long>(revision));
    // Back to v2 for the next round (not measured), and wait until everyone is there again.
    MustCall(port, token, "POST", agent_path + "/deploy", R"({"version":"v2","force":true})");
    ++revision;
    WaitFor(all_at(revision), 60);
  };

  for (int round = 1; round <= cfg.rounds; ++round) {
    run_round("round " + std::to_string(round) + ": rollback to " +
                  std::to_string(cfg.streams + cfg.pollers) + " connected clients",
              false);
  }
  run_round("restart: SIGTERM + start on the same port, rollback as soon as it answers", true);

  work.reset();
  ioc.stop();
  io.join();
  server.Stop();
  std::filesystem::remove_all(dir);
  std::printf("%s\n", missed ? "some clients missed a change" : "no client missed a change");
  return missed ? 1 : 0;
}
