// Providers: how a case reaches the agent version under test. Both send the case as JSON
// ({case, name, agent, version, attempt, input, context, retrieved, tool_mocks}) and read the
// answer as JSON ({output, tool_calls[]}):
//   exec: spawns a command (argv as given, no shell: a shell only when the command names one,
//         e.g. ["sh", "-c", "..."]) in its own process group, the case on stdin, the answer on
//         stdout; past the timeout or kMaxExecOutput bytes of stdout the whole group is killed;
//   http: POSTs the case to a URL through paging::HttpSender (http/https, no redirects, the
//         answer read up to 64 KiB).
// A provider's failure (a crash, a timeout, a non-zero exit, an answer that is not JSON) is the
// case's error, not the harness's (docs/regress.md).
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "paging/sender.h"

namespace firebreak::regress {

struct ProviderConfig {
  std::string provider;              // exec or http
  std::vector<std::string> command;  // exec: argv
  std::string url;                   // http
  int64_t timeout_ms = 30'000;
};

// Reads a provider section (the manifest's `regression`, a request's `provider`), validated by
// ValidateRegressionProvider; kInvalidArgument naming the field under `path`.
StatusOr<ProviderConfig> ProviderConfigFromJson(const nlohmann::json& section,
                                                const std::string& path);
nlohmann::json ProviderConfigToJson(const ProviderConfig& c);

inline constexpr size_t kMaxExecOutput = size_t{1} << 20;

class Provider {
 public:
  virtual ~Provider() = default;
  // Sends one case and returns the agent's answer as JSON; kUnavailable saying what went wrong
  // otherwise (timeout, exit status, stderr excerpt, HTTP status). Thread-safe: cases of a run go out in parallel.
  virtual StatusOr<nlohmann::json> Call(const nlohmann::json& request) const = 0;
};

// Returns the provider `config` describes. `sender` (http) is borrowed.
std::unique_ptr<Provider> MakeProvider(const ProviderConfig& config, paging::HttpSender& sender);

}  // namespace firebreak::regress
