// A span as Firebreak keeps it: decoded from OTLP (protobuf or JSON), with attributes flattened
// into one JSON object (key -> value; nested key-value lists become dotted keys). The same
// normalised JSON is what the store keeps as evidence and what `trace show --raw` prints.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"

namespace firebreak::traces {

struct SpanData {
  std::string trace_id;        // 32 lowercase hex
  std::string span_id;         // 16 lowercase hex
  std::string parent_span_id;  // "" for a root span
  std::string name;
  int kind = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  nlohmann::json attributes = nlohmann::json::object();
  nlohmann::json resource = nlohmann::json::object();  // resource attributes
  std::string scope;                                   // instrumentation scope name
  int status_code = 0;                                 // 0 unset, 1 ok, 2 error
  std::string status_message;
  nlohmann::json events = nlohmann::json::array();  // [{name, time_ns, attributes}]
};

// Status codes of OTLP spans.
inline constexpr int kSpanStatusError = 2;

// Returns the normalised JSON of a span (docs/traces.md).
nlohmann::json SpanToJson(const SpanData& s);

// Reads the normalised JSON back; kInternal when it is not such a span.
StatusOr<SpanData> SpanFromJson(const nlohmann::json& j);

}  // namespace firebreak::traces
