#include "config/settings.h"

#include <toml++/toml.h>

#include <algorithm>
#include <charconv>

namespace firebreak {
namespace {

StatusOr<int64_t> ParseInt(const std::string& where, const std::string& value, int64_t lo, int64_t hi) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || ptr != value.data() + value.size() || v < lo || v > hi) {
    return InvalidArgument(where + ": '" + value + "' must be a whole number in " +
                           std::to_string(lo) + ".." + std::to_string(hi));
  }
  return v;
}

Status Apply(Settings& s, const std::string& key, const std::string& value, const std::string& source) {
  std::string where = source + " " + key;
  if (key == "listen") {
    size_t colon = value.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return InvalidArgument(where + ": '" + value + "' must be HOST:PORT");
    }
    FB_ASSIGN_OR_RETURN(int64_t port, ParseInt(where, value.substr(colon + 1), 0, 65535));
    s.listen_address = value.substr(0, colon);
    if (s.listen_address.size() > 2 && s.listen_address.front() == '[') {
      s.listen_address = s.listen_address.substr(1, s.listen_address.size() - 2);
    }
    s.listen_port = static_cast<uint16_t>(port);
  } else if (key == "data_dir") {
    if (value.empty()) return InvalidArgument(where + ": must not be empty");
    s.data_dir = value;
  } else if (key == "store") {
    s.store = value;
  } else if (key == "audit_key_file") {
    s.audit_key_file = value;
  } else if (key == "workers") {
    FB_ASSIGN_OR_RETURN(int64_t n, ParseInt(where, value, 1, 256));
    s.workers = static_cast<int>(n);
  } else if (key == "max_body_bytes") {
    FB_ASSIGN_OR_RETURN(s.max_body_bytes, ParseInt(where, value, 1024, int64_t{1} << 30));
  } else if (key == "log_level") {
    static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error"};
    if (std::find(kLevels.begin(), kLevels.end(), value) == kLevels.end()) {
      return InvalidArgument(where + ": '" + value + "' must be trace, debug, info, warn or error");
    }
    s.log_level = value;
  } else if (key == "log_format") {
    if (value != "text" && value != "json") return InvalidArgument(where + ": must be text or json");
    s.log_format = value;
  } else if (key == "synchronous") {
    if (value != "normal" && value != "full") return InvalidArgument(where + ": must be normal or full");
    s.synchronous_full = value == "full";
  } else if (key == "shutdown_grace_seconds") {
    FB_ASSIGN_OR_RETURN(int64_t n, ParseInt(where, value, 0, 3600));
    s.shutdown_grace_seconds = static_cast<int>(n);
  } else if (key == "sse_keepalive_seconds") {
    FB_ASSIGN_OR_RETURN(int64_t n, ParseInt(where, value, 1, 3600));
    s.sse_keepalive_seconds = static_cast<int>(n);
  } else if (key == "retention_days") {
    FB_ASSIGN_OR_RETURN(int64_t n, ParseInt(where, value, -1000000, 36500));
    if (n < 30) {
      return InvalidArgument(where + ": " + value + " is below the minimum of 30 days: traces are "
                             "kept at least 30 days so incidents can be analysed from them");
    }
    s.retention_days = static_cast<int>(n);
  } else if (key == "header_timeout_seconds") {
    FB_ASSIGN_OR_RETURN(int64_t n, ParseInt(where, value, 1, 3600));
    s.header_timeout_seconds = static_cast<int>(n);
  } else if (key == "body_timeout_seconds") {
    FB_ASSIGN_OR_RETURN(int64_t n, ParseInt(where, value, 1, 86400));
    s.body_timeout_seconds = static_cast<int>(n);
  } else if (key == "idle_timeout_seconds") {
    FB_ASSIGN_OR_RETURN(int64_t n, ParseInt(where, value, 1, 86400));
    s.idle_timeout_seconds = static_cast<int>(n);
  } else if (key == "max_connections") {
    FB_ASSIGN_OR_RETURN(s.max_connections, ParseInt(where, value, 0, 10'000'000));
  } else if (key == "max_connections_per_client") {
    FB_ASSIGN_OR_RETURN(s.max_connections_per_client, ParseInt(where, value, 0, 10'000'000));
  } else if (key == "rate_limit_per_second") {
    FB_ASSIGN_OR_RETURN(s.rate_limit_per_second, ParseInt(where, value, 0, 10'000'000));
  } else if (key == "rate_limit_burst") {
    FB_ASSIGN_OR_RETURN(s.rate_limit_burst, ParseInt(where, value, 1, 10'000'000));
  } else if (key == "regress_exec") {
    if (value != "on" && value != "off" && value != "true" && value != "false") {
      return InvalidArgument(where + ": must be on or off");
    }
    s.regress_exec = value == "on" || value == "true";
  } else {
    return InvalidArgument(where + ": unknown setting");
  }
  return Status::Ok();
}

}  // namespace

std::string Settings::StoreUrl() const {
  return store.empty() ? "sqlite:" + data_dir + "/firebreak.db" : store;
}

const std::vector<SettingSpec>& SettingSpecs() {
  static const std::vector<SettingSpec> kSpecs = {
      {"listen", "FIREBREAK_LISTEN", "HOST:PORT to listen on (port 0: any free port)"},
      {"data_dir", "FIREBREAK_DATA_DIR", "directory for the store and the admin token"},
      {"store", "FIREBREAK_STORE", "store url: sqlite:PATH (default sqlite:<data-dir>/firebreak.db)"},
      {"audit_key_file", "FIREBREAK_AUDIT_KEY_FILE",
       "key that signs the audit chain's anchors, kept outside the store (default "
       "<data-dir>/audit.key, created 0600 on first start)"},
      {"workers", "FIREBREAK_WORKERS", "HTTP worker threads"},
      {"max_body_bytes", "FIREBREAK_MAX_BODY_BYTES", "largest request body accepted"},
      {"log_level", "FIREBREAK_LOG_LEVEL", "trace, debug, info, warn or error"},
      {"log_format", "FIREBREAK_LOG_FORMAT", "text or json"},
      {"synchronous", "FIREBREAK_SYNCHRONOUS",
       "normal (survives a process crash) or full (also a power cut)"},
      {"shutdown_grace_seconds", "FIREBREAK_SHUTDOWN_GRACE_SECONDS",
       "how long requests in flight may take to finish on SIGTERM"},
      {"sse_keepalive_seconds", "FIREBREAK_SSE_KEEPALIVE_SECONDS",
       "how often open event streams get a keep-alive comment (for proxies)"},
      {"retention_days", "FIREBREAK_RETENTION_DAYS",
       "days traces are kept (at least 30; traces held by an open incident stay longer)"},
      {"header_timeout_seconds", "FIREBREAK_HEADER_TIMEOUT_SECONDS",
       "a request's line and headers must arrive within this (slow senders are cut off)"},
      {"body_timeout_seconds", "FIREBREAK_BODY_TIMEOUT_SECONDS",
       "a request's body must arrive within this after its headers"},
      {"idle_timeout_seconds", "FIREBREAK_IDLE_TIMEOUT_SECONDS",
       "how long a keep-alive connection may wait for its next request"},
      {"max_connections", "FIREBREAK_MAX_CONNECTIONS",
       "open connections in all; above it a new one gets 503 (0: no limit)"},
      {"max_connections_per_client", "FIREBREAK_MAX_CONNECTIONS_PER_CLIENT",
       "open connections per client address; above it a new one gets 503 (0: no limit)"},
      {"rate_limit_per_second", "FIREBREAK_RATE_LIMIT_PER_SECOND",
       "requests a second per token (per client address without one); above it 429 (0: off)"},
      {"rate_limit_burst", "FIREBREAK_RATE_LIMIT_BURST", "requests a token may make at once"},
      {"regress_exec", "FIREBREAK_REGRESS_EXEC",
       "on: regression runs the server executes may run the `exec` command of a manifest on this "
       "host (off: those runs go through `firebreak regress run`)"},
  };
  return kSpecs;
}

StatusOr<Settings> LoadSettings(const std::string& config_path, const GetEnv& getenv,
                                const std::map<std::string, std::string>& flags) {
  Settings s;
  if (!config_path.empty()) {
    toml::table table;
    try {
      table = toml::parse_file(config_path);
    } catch (const toml::parse_error& e) {
      return InvalidArgument("config " + config_path + ": " + std::string(e.description()));
    }
    for (const auto& [key, node] : table) {
      std::string k(key.str());
      // The policy tables are read by LoadResponsePolicy (config/policy.h).
      if (node.is_table() && (k == "classification" || k == "detect" || k == "paging" ||
                              k == "comms" || k == "isolation" || k == "alertmanager")) {
        continue;
      }
      std::string value;
      if (auto str = node.value<std::string>(); str && node.is_string()) {
        value = *str;
      } else if (auto i = node.value<int64_t>(); i && node.is_integer()) {
        value = std::to_string(*i);
      } else if (auto b = node.value<bool>(); b && node.is_boolean()) {
        value = *b ? "true" : "false";
      } else {
        return InvalidArgument("config " + config_path + " " + k + ": must be a string or a number");
      }
      FB_RETURN_IF_ERROR(Apply(s, k, value, "config " + config_path));
    }
  }
  for (const SettingSpec& spec : SettingSpecs()) {
    if (const char* v = getenv(spec.env.c_str()); v != nullptr && *v != '\0') {
      FB_RETURN_IF_ERROR(Apply(s, spec.key, v, "environment " + spec.env));
    }
  }
  for (const auto& [key, value] : flags) {
    FB_RETURN_IF_ERROR(Apply(s, key, value, "flag"));
  }
  return s;
}

}  // namespace firebreak
