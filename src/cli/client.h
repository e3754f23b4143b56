// ApiClient: the CLI's HTTP client of the Firebreak API (Boost.Beast, synchronous).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/status.h"

namespace firebreak::cli {

struct ClientConfig {
  std::string url;    // http://host:port
  std::string token;  // may be empty
};

// Reads FIREBREAK_URL (default http://127.0.0.1:7070) and FIREBREAK_TOKEN; without a token,
// falls back to <data dir>/admin.token, the data dir being FIREBREAK_DATA_DIR or ./firebreak-data.
ClientConfig ClientConfigFromEnvironment();

struct ApiResponse {
  int status = 0;
  nlohmann::json body;  // null when the body is not JSON
  std::string raw;
};

class ApiClient {
 public:
  explicit ApiClient(ClientConfig config) : config_(std::move(config)) {}

  // Sends one request and returns the answer, whatever its status; a non-OK Status only when
  // the server could not be reached or the url is bad.
  StatusOr<ApiResponse> Call(const std::string& method, const std::string& path,
                             const std::optional<nlohmann::json>& body = std::nullopt) const;

  // Sends a body as it is, with the given Content-Type (OTLP protobuf, for instance).
  StatusOr<ApiResponse> CallRaw(const std::string& method, const std::string& path,
                                const std::string& content_type, const std::string& body) const;

 private:
  ClientConfig config_;
};

}  // namespace firebreak::cli
