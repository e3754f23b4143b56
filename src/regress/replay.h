// Strict replay: the tool calls an agent made while answering a case, matched against the case's
// recorded tool results (mocks). A call is served by the first unused mock of its tool whose
// arguments are equal (so a tool called several times consumes its mocks in order); a call
// that matches no unused mock was made live, and is a replay mismatch, reported apart from
// assertion failures. Pure (docs/regress.md).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "regress/assertions.h"
#include "regress/case.h"

namespace firebreak::regress {

// One call that matched no unused mock.
struct ReplayMismatch {
  std::string tool;
  nlohmann::json args;   // as the agent called it
  std::string expected;  // what the unused mocks of the tool expect, or why none is left
};

struct ReplayReport {
  int served = 0;      // calls answered by a mock
  int unconsumed = 0;  // mocks no call used
  int live = 0;        // calls that matched no mock
  std::vector<ReplayMismatch> mismatches;
};

// Matches `calls` (in the order they were made) against `mocks`.
ReplayReport Replay(const std::vector<ToolMock>& mocks, const std::vector<ToolCallMade>& calls);

// Returns {served, unconsumed, live, mismatches: [{tool, args, expected}]}, each args as
// compact JSON text cut to 300 bytes.
nlohmann::json ReplayToJson(const ReplayReport& r);

}  // namespace firebreak::regress
