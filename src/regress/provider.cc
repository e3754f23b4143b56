#include "regress/provider.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/text.h"
#include "releases/manifest.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

constexpr size_t kStderrKept = 2048;

// Parses an agent's answer text; the depth check comes before the recursive parser.
StatusOr<Json> ParseAnswer(const std::string& text, const std::string& from) {
  if (!CheckJsonDepth(text, kMaxJsonDepth).ok()) {
    return Unavailable(from + " nests deeper than " + std::to_string(kMaxJsonDepth));
  }
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return Unavailable(from + " is not a JSON object {output, tool_calls}: '" +
                       TruncateUtf8(text, 200, "...") + "'");
  }
  return j;
}

// A file descriptor closed when it goes out of scope.
struct Fd {
  int fd = -1;
  ~Fd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

// Blocks SIGPIPE on this thread while it lives (a child that exits before reading its stdin
// must not kill the process), and discards one that became pending.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old_, SIGPIPE)) {
      timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
};

class ExecProvider final : public Provider {
 public:
  explicit ExecProvider(ProviderConfig config) : config_(std::move(config)) {}

  StatusOr<Json> Call(const Json& request) const override {
    std::string input = request.dump(-1, ' ', false, Json::error_handler_t::replace);
    FB_ASSIGN_OR_RETURN(std::string out, Run(input));
    return ParseAnswer(out, "the answer of " + Program());
  }

 private:
  std::string Program() const { return "'" + TruncateUtf8(config_.command[0], 200, "...") + "'"; }

  StatusOr<std::string> Run(const std::string& input) const {
    std::vector<char*> argv;
    for (const auto& a : config_.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC) != 0) return Unavailable("pipe: " + std::string(strerror(errno)));
    Fd in_r{in[0]}, in_w{in[1]};
    if (pipe2(out, O_CLOEXEC) != 0) return Unavailable("pipe: " + std::string(strerror(errno)));
    Fd out_r{out[0]}, out_w{out[1]};
    if (pipe2(err, O_CLOEXEC) != 0) return Unavailable("pipe: " + std::string(strerror(errno)));
    Fd err_r{err[0]}, err_w{err[1]};

    // posix_spawn (vfork-like in glibc) instead of fork: copying the page tables of a server
    // with large caches cost more than the agent itself. The child gets its own process group
    // (killed as one), an empty signal mask (serve blocks SIGTERM), SIGPIPE at its default, the
    // pipes as stdin/stdout/stderr and no other descriptor of the server's.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, pipe_default;
    sigemptyset(&none);
    sigemptyset(&pipe_default);
    sigaddset(&pipe_default, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &pipe_default);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_USEVFORK);
    SigpipeGuard sigpipe;
    pid_t pid = -1;
    int spawned = posix_spawnp(&pid, argv[0], &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (spawned != 0) return Unavailable("cannot run " + Program() + ": " + strerror(spawned));
    in_r.Close();
    out_w.Close();
    err_w.Close();

    fcntl(in_w.fd, F_SETFL, O_NONBLOCK);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(config_.timeout_ms);
    std::string stdout_text, stderr_text;
    size_t written = 0;
    std::string failure;
    while (out_r.fd >= 0 || err_r.fd >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now()).count();
      if (left <= 0) {
        failure = Program() + " did not answer within " + std::to_string(config_.timeout_ms) + " ms";
        break;
      }
      pollfd fds[3];
      int n = 0;
      int out_i = -1, err_i = -1, in_i = -1;
      if (out_r.fd >= 0) fds[out_i = n++] = {out_r.fd, POLLIN, 0};
      if (err_r.fd >= 0) fds[err_i = n++] = {err_r.fd, POLLIN, 0};
      if (in_w.fd >= 0) fds[in_i = n++] = {in_w.fd, POLLOUT, 0};
      int ready = poll(fds, n, static_cast<int>(std::min<int64_t>(left, 1000)));
      if (ready < 0 && errno != EINTR) {
        failure = "poll: " + std::string(strerror(errno));
        break;
      }
      if (in_i >= 0 && fds[in_i].revents) {
        ssize_t w = write(in_w.fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN) || written == input.size()) in_w.Close();
      }
      char buf[65536];
      if (out_i >= 0 && fds[out_i].revents) {
        ssize_t r = read(out_r.fd, buf, sizeof(buf));
        if (r > 0) stdout_text.append(buf, static_cast<size_t>(r));
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) out_r.Close();
        if (stdout_text.size() > kMaxExecOutput) {
          failure = Program() + " wrote more than " + std::to_string(kMaxExecOutput) +
                    " bytes on stdout";
          break;
        }
      }
      if (err_i >= 0 && fds[err_i].revents) {
        ssize_t r = read(err_r.fd, buf, sizeof(buf));
        if (r > 0 && stderr_text.size() < kStderrKept) {
          stderr_text.append(buf, std::min(static_cast<size_t>(r), kStderrKept - stderr_text.size()));
        }
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) err_r.Close();
      }
    }
    in_w.Close();
    int status = 0;
    while (failure.empty()) {
      pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      if (done < 0 && errno != EINTR) {
        failure = "waitpid: " + std::string(strerror(errno));
      } else if (std::chrono::steady_clock::now() >= deadline) {
        failure = Program() + " did not exit within " + std::to_string(config_.timeout_ms) + " ms";
      } else {
        usleep(1000);
      }
    }
    // The whole group goes, whatever happened: a shell's children too, and anything the agent
    // left running.
    ::kill(-pid, SIGKILL);
    if (!failure.empty()) {
      waitpid(pid, nullptr, 0);
      return Unavailable(failure);
    }
    std::string tail = stderr_text.empty() ? "" : ": " + TruncateUtf8(stderr_text, 500, "...");
    if (WIFSIGNALED(status)) {
      return Unavailable(Program() + " was killed by signal " + std::to_string(WTERMSIG(status)) + tail);
    }
    if (WEXITSTATUS(status) != 0) {
      return Unavailable(Program() + " exited with status " + std::to_string(WEXITSTATUS(status)) + tail);
    }
    return stdout_text;
  }

  ProviderConfig config_;
};

class HttpProvider final : public Provider {
 public:
  HttpProvider(ProviderConfig config, paging::HttpSender& sender)
      : config_(std::move(config)), sender_(sender) {}

  StatusOr<Json> Call(const Json& request) const override {
    paging::HttpPost post;
    post.url = config_.url;
    post.body = request.dump(-1, ' ', false, Json::error_handler_t::replace);
    post.timeout_ms = static_cast<int>(config_.timeout_ms);
    paging::SendResult r = sender_.Post(post);
    if (r.outcome != paging::Outcome::kDelivered) {
      return Unavailable("the http provider " + TruncateUtf8(config_.url, 200, "...") +
                         " failed: " + r.error);
    }
    return ParseAnswer(r.response_body, "the answer of " + TruncateUtf8(config_.url, 200, "..."));
  }

 private:
  ProviderConfig config_;
  paging::HttpSender& sender_;
};

}  // namespace

StatusOr<ProviderConfig> ProviderConfigFromJson(const Json& section, const std::string& path) {
  FB_ASSIGN_OR_RETURN(Json c, ValidateRegressionProvider(section, path));
  ProviderConfig out;
  out.provider = c["provider"].get<std::string>();
  out.timeout_ms = c["timeout_ms"].get<int64_t>();
  if (out.provider == "exec") out.command = c["command"].get<std::vector<std::string>>();
  if (out.provider == "http") out.url = c["url"].get<std::string>();
  return out;
}

Json ProviderConfigToJson(const ProviderConfig& c) {
  Json j = {{"provider", c.provider}, {"timeout_ms", c.timeout_ms}};
  if (c.provider == "exec") j["command"] = c.command;
  if (c.provider == "http") j["url"] = c.url;
  return j;
}

std::unique_ptr<Provider> MakeProvider(const ProviderConfig& config, paging::HttpSender& sender) {
  if (config.provider == "http") return std::make_unique<HttpProvider>(config, sender);
  return std::make_unique<ExecProvider>(config);
}

}  // namespace firebreak::regress
