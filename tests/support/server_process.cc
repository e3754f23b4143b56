#include "support/server_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace firebreak::testing {
namespace {

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

void WriteAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (e.g. 413); the answer tells the rest
    off += static_cast<size_t>(n);
  }
}

std::string ReadUntilClosed(int fd, int timeout_ms) {
  std::string out;
  char buf[65536];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, left) <= 0) break;
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Reads all of both pipes until the child closes them.
void Drain(int out_fd, int err_fd, std::string& out, std::string& err) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open = 2;
  char buf[65536];
  while (open > 0) {
    if (poll(fds, 2, 60000) <= 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
      } else {
        (i == 0 ? out : err).append(buf, static_cast<size_t>(n));
      }
    }
  }
}

}  // namespace

std::string FirebreakBinary() { return FIREBREAK_BIN; }

HttpResult HttpCall(uint16_t port, const std::string& method, const std::string& path,
                    const std::string& body, const std::string& token,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req += k + ": " + v + "\r\n";
    if (strcasecmp(k.c_str(), "content-type") == 0) has_type = true;
  }
  if (!body.empty() && !has_type) req += "Content-Type: application/json\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  HttpResult result;
  std::string raw = RawExchange(port, req);
  size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || header_end == std::string::npos) {
    ADD_FAILURE() << "no HTTP answer from 127.0.0.1:" << port << " to " << method << " " << path;
    return result;
  }
  result.status = std::stoi(raw.substr(9, 3));
  std::istringstream lines(raw.substr(0, header_end));
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
  }
  result.body = raw.substr(header_end + 4);
  result.json = nlohmann::json::parse(result.body, nullptr, false);
  if (result.json.is_discarded()) result.json = nullptr;
  return result;
}

std::string RawExchange(uint16_t port, const std::string& bytes, int timeout_ms) {
  int fd = Connect(port);
  if (fd < 0) return "";
  WriteAll(fd, bytes);
  std::string out = ReadUntilClosed(fd, timeout_ms);
  close(fd);
  return out;
}

CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0) std::abort();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  CommandResult r;
  Drain(out_pipe[0], err_pipe[0], r.out, r.err);
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

ServerProcess::ServerProcess(std::vector<std::string> extra_args)
    : extra_args_(std::move(extra_args)) {
  Start();
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Kill();
}

void ServerProcess::Start() {
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) std::abort();
  std::string log_path = dir_.path() + "/server.log";
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out_pipe[1], 1);
    int log = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(log, 2);
    std::vector<std::string> argv = {FirebreakBinary(), "serve", "--listen", "127.0.0.1:0",
                                     "--data-dir", dir_.path()};
    argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  close(out_pipe[1]);
  // Read stdout line by line until the address is printed (the admin token file's path comes
  // first on the first start; the token itself is only in the file).
  std::string out;
  char buf[4096];
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  const std::string marker = "firebreak listening on http://127.0.0.1:";
  while (out.find(marker) == std::string::npos ||
         out.find('\n', out.find(marker)) == std::string::npos) {
    pollfd p{out_pipe[0], POLLIN, 0};
    if (std::chrono::steady_clock::now() > deadline || poll(&p, 1, 1000) < 0) break;
    if (!(p.revents & (POLLIN | POLLHUP))) continue;
    ssize_t n = read(out_pipe[0], buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(out_pipe[0]);  // the server writes nothing more to stdout
  size_t at = out.find(marker);
  if (at == std::string::npos) {
    ADD_FAILURE() << "server did not start; stdout:\n" << out << "\nlog:\n" << Log();
    std::abort();
  }
  port_ = static_cast<uint16_t>(std::stoi(out.substr(at + marker.size())));
  startup_output_ = out;
  std::ifstream token_file(dir_.path() + "/admin.token");
  std::getline(token_file, admin_token_);
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

std::string ServerProcess::Log() const {
  std::ifstream in(dir_.path() + "/server.log");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

HttpResult ServerProcess::Call(const std::string& method, const std::string& path,
                               const std::string& body, const std::string* token) const {
  return HttpCall(port_, method, path, body, token ? *token : admin_token_);
}

CommandResult ServerProcess::Cli(const std::vector<std::string>& args, const std::string* token) const {
  std::vector<std::string> argv = {FirebreakBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, {{"FIREBREAK_URL", url()},
                           {"FIREBREAK_TOKEN", token ? *token : admin_token_},
                           {"FIREBREAK_DATA_DIR", dir_.path()}});
}

std::string ServerProcess::CreateToken(const std::string& name, const std::string& role,
                                       const std::string& agent) const {
  nlohmann::json body = {{"name", name}, {"role", role}};
  if (!agent.empty()) body["agent"] = agent;
  HttpResult r = Call("POST", "/api/v1/tokens", body.dump());
  EXPECT_EQ(r.status, 201) << r.body;
  return r.json.is_object() ? r.json.value("token", "") : "";
}

}  // namespace firebreak::testing
