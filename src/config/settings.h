// Settings of `firebreak serve`, layered: built-in defaults < TOML file < FIREBREAK_* environment
// variables < command-line flags. Every setting has one name used in all four places
// (`data_dir` in TOML, FIREBREAK_DATA_DIR in the environment, --data-dir on the command line).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace firebreak {

struct Settings {
  std::string listen_address = "127.0.0.1";
  uint16_t listen_port = 7070;
  std::string data_dir = "./firebreak-data";
  std::string store;  // empty: sqlite:<data_dir>/firebreak.db
  std::string audit_key_file;  // empty: <data_dir>/audit.key
  int workers = 2;
  int64_t max_body_bytes = 16 << 20;  // an OTLP batch of 512 spans of GenAI text fits
  std::string log_level = "info";   // trace, debug, info, warn, error
  std::string log_format = "text";  // text or json
  bool synchronous_full = false;    // fsync every commit (survives power loss, slower)
  int shutdown_grace_seconds = 10;
  int sse_keepalive_seconds = 15;  // comment line on open event streams, for proxies
  int retention_days = 30;          // traces older than this are swept; at least 30
  // HTTP limits against slow, greedy or hostile clients (http::ServerOptions).
  int header_timeout_seconds = 10;  // request line and headers must arrive within this
  int body_timeout_seconds = 60;    // the body must arrive within this after the headers
  int idle_timeout_seconds = 60;    // a keep-alive connection may wait this long between requests
  int64_t max_connections = 10000;           // open connections in all; 0: no limit
  int64_t max_connections_per_client = 1000; // open connections per client address; 0: no limit
  int64_t rate_limit_per_second = 1000;  // requests per token (or address without one); 0: off
  int64_t rate_limit_burst = 2000;      // requests a token may make at once
  // Whether regression runs the server executes may use `exec` providers (commands that
  // responders put in manifests, run on this host). Off: such runs go through the CLI.
  bool regress_exec = false;

  // Returns the store url to open.
  std::string StoreUrl() const;
};

struct SettingSpec {
  std::string key;   // TOML key and flag name with '_' ("data_dir" -> --data-dir)
  std::string env;   // FIREBREAK_DATA_DIR
  std::string help;
};

// Returns the settings that exist, in the order `firebreak serve --help` lists them.
const std::vector<SettingSpec>& SettingSpecs();

using GetEnv = std::function<const char*(const char*)>;

// Resolves settings from `config_path` (may be empty: no file), the environment (read through
// `getenv`) and `flags` (key -> value, only the flags given). kInvalidArgument names the source
// and key of a bad value.
StatusOr<Settings> LoadSettings(const std::string& config_path, const GetEnv& getenv,
                                const std::map<std::string, std::string>& flags);

}  // namespace firebreak
