// Context: what every CLI verb shares: the API client, --json, and the output helpers.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli/client.h"

namespace firebreak::cli {

using Json = nlohmann::json;

// Returns j[key] as text for tables: strings as they are, null or missing as "-".
std::string Str(const Json& j, const char* key);

// Returns an RFC 3339 time as "2026-11-29 15:04:05Z" for tables.
std::string Short(const std::string& iso);

// Returns an event's details as "key=value" pairs (durations in *_ms made readable).
std::string DetailsText(const Json& details);

// Percent-encodes a path segment.
std::string Escape(const std::string& segment);

class Context {
 public:
  Context() : client_(ClientConfigFromEnvironment()) {}

  bool json = false;  // --json

  // Calls the API; prints the one-line error to stderr and returns nullopt unless 2xx.
  std::optional<Json> Call(const std::string& method, const std::string& path,
                           const std::optional<Json>& body = std::nullopt);

  // Like Call, with a body sent as it is under `content_type`.
  std::optional<Json> CallRaw(const std::string& method, const std::string& path,
                              const std::string& content_type, const std::string& body);

  // Calls the API for a body that is not JSON (Markdown, say); prints the one-line error to
  // stderr and returns nullopt unless 2xx.
  std::optional<std::string> CallText(const std::string& method, const std::string& path);

  // Prints j indented; returns 0.
  int PrintJson(const Json& j);

 private:
  ApiClient client_;
};

}  // namespace firebreak::cli
