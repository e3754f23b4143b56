// Integration-test harness: runs the real `firebreak` binary and talks to it the way users do,
// over HTTP on 127.0.0.1 and through the CLI.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "support/test_util.h"

namespace firebreak::testing {

// Path of the firebreak binary under test.
std::string FirebreakBinary();

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  nlohmann::json json;  // parsed body, or null when it is not JSON
};

// One HTTP/1.1 request on a fresh connection (Connection: close). `token` empty: no
// Authorization header. Fails the test (and returns status 0) when the server cannot be reached.
HttpResult HttpCall(uint16_t port, const std::string& method, const std::string& path,
                    const std::string& body = "", const std::string& token = "",
                    const std::vector<std::pair<std::string, std::string>>& headers = {});

// Sends raw bytes on a new connection and returns everything the server sends back until it
// closes the connection (or `timeout_ms` passes).
std::string RawExchange(uint16_t port, const std::string& bytes, int timeout_ms = 5000);

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// A `firebreak serve` child process with its own data directory, listening on 127.0.0.1:0.
class ServerProcess {
 public:
  // Starts the server (extra flags appended) and waits until it prints its address.
  explicit ServerProcess(std::vector<std::string> extra_args = {});
  ~ServerProcess();  // kills the process if it still runs

  // Sends SIGTERM and waits; returns the exit code.
  int Stop();
  // Sends SIGKILL and waits (a crash).
  void Kill();
  // Starts again on the same data directory (a new port).
  void Start();

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& data_dir() const { return dir_.path(); }
  const std::string& admin_token() const { return admin_token_; }
  // The server's stderr (its log) so far.
  std::string Log() const;
  // What the server printed on stdout up to its address, at the last start.
  const std::string& StartupOutput() const { return startup_output_; }

  // Convenience: HttpCall against this server with the admin token unless one is given.
  HttpResult Call(const std::string& method, const std::string& path, const std::string& body = "",
                  const std::string* token = nullptr) const;

  // Runs `firebreak <args>` against this server with FIREBREAK_URL and FIREBREAK_TOKEN set
  // (the admin token unless `token` is given).
  CommandResult Cli(const std::vector<std::string>& args, const std::string* token = nullptr) const;

  // Creates a token with `role` through the API and returns its secret.
  std::string CreateToken(const std::string& name, const std::string& role,
                          const std::string& agent = "") const;

 private:
  TempDir dir_;
  std::vector<std::string> extra_args_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::string admin_token_;
  std::string startup_output_;
};

// Runs a command with extra environment variables; captures stdout and stderr.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env);

}  // namespace firebreak::testing
