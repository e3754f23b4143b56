// Assertions over an agent's answer to a case: each result says what was expected and what was
// seen. Pure functions (the personal-data check uses the detectors' PiiScanner as it is); no
// store, no clock (docs/regress.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "detect/pii.h"
#include "regress/case.h"

namespace firebreak::regress {

// A tool call the agent reports having made while answering a case.
struct ToolCallMade {
  std::string tool;
  nlohmann::json args;  // JSON; arguments given as JSON text are parsed
};

// What an agent answered: `{output, tool_calls: [{tool, args}]}` (other keys are ignored).
struct AgentAnswer {
  std::string output;
  std::vector<ToolCallMade> tool_calls;
};

inline constexpr size_t kMaxAnswerToolCalls = 1000;

// Reads an answer; kInvalidArgument naming the field when it is not one (output not a string,
// more than kMaxAnswerToolCalls calls, a call without a tool name, text that is not UTF-8).
StatusOr<AgentAnswer> AnswerFromJson(const nlohmann::json& j);
// Returns the answer as JSON, the output cut to `max_output` bytes and each call's arguments
// to a quarter of that (as text when cut; UTF-8 safe).
nlohmann::json AnswerToJson(const AgentAnswer& a, size_t max_output);

// What no-pii needs besides the answer.
struct JudgeContext {
  const detect::PiiScanner* scanner = nullptr;  // required by no-pii; borrowed
  detect::ScanContext scan;                     // the agent and the case's user id
  std::set<std::string> read_only_tools;        // their arguments are not scanned (manifest)
};

struct AssertionResult {
  std::string type;
  bool passed = false;
  std::string expected;
  std::string seen;
};

nlohmann::json AssertionResultToJson(const AssertionResult& r);

// Checks one assertion against an answer.
AssertionResult Evaluate(const Assertion& a, const AgentAnswer& answer, const JudgeContext& ctx);

// Returns the first way `value` breaks `schema` (the subset AssertionFromJson accepts), as
// "$.items[2].id: expected integer, got string", or "" when it conforms.
std::string SchemaViolation(const nlohmann::json& schema, const nlohmann::json& value,
                            const std::string& path = "$");

}  // namespace firebreak::regress
