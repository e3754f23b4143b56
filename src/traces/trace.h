// The trace model: one agent run, assembled from its spans (or given whole by the native API),
// with the five content parts responders read and search: user input, retrieved content,
// tool calls, agent internal state, final response; plus who, when and what it cost.
// Conversion to and from the JSON the API shows (and the native batch API accepts).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak::traces {

struct RetrievedItem {
  std::string source;  // document id, memory record id, url; may be empty
  std::string content;
};

struct ToolCall {
  std::string name;
  std::string call_id;
  std::string arguments;  // as sent, usually JSON text
  std::string result;
  std::string error;  // empty when the call succeeded
  std::string approved_by;  // who approved the call when its tool needs approval; "" for none
};

// A judgement on the run by an evaluator (gen_ai.evaluation.* or the native "evaluations").
// Not part of the trace hash: evaluators may score a run again without changing what it did.
struct Evaluation {
  std::string name;
  std::optional<double> score;  // in [0, 1] when numeric
  std::string label;            // "pass", "fail", "negative", ...
};

struct TraceContent {
  std::string trace_id;
  std::string agent;
  std::string version;
  std::string user_id;
  std::string session_id;
  std::string category;

  std::string input;
  std::vector<RetrievedItem> retrieved;
  std::vector<ToolCall> tool_calls;  // in the order they started
  std::vector<std::string> state;    // intermediate model outputs, reasoning, plans
  std::string output;

  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  std::vector<std::string> errors;
  std::vector<Evaluation> evaluations;
  TimeMs started_at = 0;
  TimeMs ended_at = 0;
  int64_t span_count = 0;
};

// Returns the trace as the API shows it (without hash, flag or store fields).
nlohmann::json ContentToJson(const TraceContent& t);

// Reads a trace in the native batch format (the same fields as ContentToJson; times as
// RFC 3339 or epoch milliseconds). kInvalidArgument names the first bad field. Every field is
// optional here; the native API requires input, output or a tool call on top.
StatusOr<TraceContent> ContentFromJson(const nlohmann::json& j);

}  // namespace firebreak::traces
