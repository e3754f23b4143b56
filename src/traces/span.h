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

// Bounds on what one ingest request may hold and cost (docs/traces.md, "Limits"). Going over
// one is a clear error (kInvalidArgument or kTooLarge) and nothing is written, except string
// values, which are cut to max_value_bytes (TruncateUtf8, marker "…").
struct IngestLimits {
  // Body after gzip, and everything the decoder builds from it (keys, string values, the
  // resource copied into each span). `serve` sets it to max_body_bytes.
  size_t max_decoded_bytes = 16u << 20;
  size_t max_spans_per_request = 10000;
  size_t max_spans_per_trace = 10000;      // stored spans of one trace
  size_t max_traces_per_request = 1000;    // native batch
  size_t max_attributes_per_span = 1000;   // after flattening key-value lists to dotted keys
  size_t max_values_per_span = 10000;      // attributes plus elements at any depth, events too
  size_t max_key_bytes = 1024;             // an attribute key, after flattening
  size_t max_value_bytes = 256u << 10;     // a string value (longer ones are cut)
  size_t max_elements = 1000;              // items of one array or key-value list; events
  int max_value_depth = 16;                // nesting of arrays and key-value lists
};

// Status codes of OTLP spans.
inline constexpr int kSpanStatusError = 2;

// Returns the normalised JSON of a span (docs/traces.md).
nlohmann::json SpanToJson(const SpanData& s);

// Reads the normalised JSON back; kInternal when it is not such a span.
StatusOr<SpanData> SpanFromJson(const nlohmann::json& j);

}  // namespace firebreak::traces
