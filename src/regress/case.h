// Regression cases: what a case replays (the recorded input, session context, retrieved content
// and tool results as mocks), what it asserts, and how often it must pass. Pure: JSON in and
// out, validation naming the field, the default assertions an incident's signals call for, and
// the case made from a trace. No store, no clock (docs/regress.md).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/signals.h"
#include "traces/trace.h"

namespace firebreak::regress {

// A recorded tool result, served to the agent instead of the real tool. `args` and `output` are
// JSON (arguments recorded as JSON text are parsed; anything else stays a string).
struct ToolMock {
  std::string tool;
  nlohmann::json args;
  nlohmann::json output;
};

// One check of an agent's answer. Which fields matter depends on `type`:
//   contains, not-contains, icontains, equals, regex, not-regex: `text` against the output;
//   json-schema: `schema` (type, required, properties, enum, items) against the output parsed;
//   no-pii: `target` "output" or "tool-args" (arguments of tools with external effect);
//   tool-called, tool-not-called: `tool`; tool-args-match: `tool` and `args` (a call of the
//   tool whose arguments include every key of `args` with that value);
//   tool-sequence: `sequence` (tools called in this order, others may come between);
//   max-tool-calls: `max`.
struct Assertion {
  std::string type;
  std::string text;
  nlohmann::json schema;
  std::string target;
  std::string tool;
  nlohmann::json args;
  std::vector<std::string> sequence;
  int64_t max = 0;
};

// Returns the assertion types, in documentation order.
const std::vector<std::string>& AssertionTypes();

// Everything a run needs of a case.
struct CaseSpec {
  std::string input;
  // user_id, session_id, category and `history`: the earlier turns of the session
  // ({input, output}, oldest first).
  nlohmann::json context = nlohmann::json::object();
  std::vector<traces::RetrievedItem> retrieved;
  std::vector<ToolMock> mocks;  // in the order the tools were called
  std::vector<Assertion> assertions;
  int repeat = 1;         // attempts per run
  int pass_at_least = 1;  // attempts that must pass
};

inline constexpr int kMaxRepeat = 20;
inline constexpr size_t kMaxAssertions = 64;

// Returns an assertion as the API shows it: {type, value | target | tool, args}.
nlohmann::json AssertionToJson(const Assertion& a);
// Reads and checks one assertion (regexes compile, schemas use the supported keywords, sizes
// bounded); kInvalidArgument naming `path` otherwise.
StatusOr<Assertion> AssertionFromJson(const nlohmann::json& j, const std::string& path);
// Reads a list of 1..kMaxAssertions assertions under `path`.
StatusOr<std::vector<Assertion>> AssertionsFromJson(const nlohmann::json& j,
                                                    const std::string& path);

// Returns the spec as stored and shown: {input, context, retrieved, tool_mocks, assertions,
// repeat, pass_at_least}.
nlohmann::json SpecToJson(const CaseSpec& spec);
// Reads a stored spec; kInternal when it does not read back.
StatusOr<CaseSpec> SpecFromJson(const nlohmann::json& j);

// Checks repeat (1..kMaxRepeat) and pass_at_least (1..repeat).
Status CheckRepeat(int64_t repeat, int64_t pass_at_least);

// Returns the assertions the signals call for: personal data (kind "pii" or "pii.*") gives
// no-pii on the output and on tool arguments; an unauthorised action gives tool-not-called for
// each tool the signal names. Duplicates are left out.
std::vector<Assertion> DefaultAssertions(const std::vector<SignalRecord>& signals);

// Returns the case a trace makes: its input, context (with `history`, the earlier turns of its
// session, oldest first), retrieved content and tool calls as mocks, no assertions yet.
CaseSpec SpecFromTrace(const traces::TraceContent& trace,
                       const std::vector<traces::TraceContent>& history);

// Returns `text` parsed when it is a JSON object or array, else `text` as a JSON string.
nlohmann::json JsonOrString(const std::string& text);

}  // namespace firebreak::regress
