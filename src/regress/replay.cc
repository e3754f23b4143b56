#include "regress/replay.h"

#include "common/text.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

constexpr size_t kShown = 300;
constexpr size_t kMaxMismatches = 50;  // kept per attempt; the count is in `live`

std::string Shown(const Json& j) {
  return TruncateUtf8(j.dump(-1, ' ', false, Json::error_handler_t::replace), kShown, "...");
}

// Mock arguments and call arguments compare as JSON, so key order and spacing do not matter.
bool SameArgs(const Json& a, const Json& b) {
  auto norm = [](const Json& j) { return j.is_string() ? JsonOrString(j.get<std::string>()) : j; };
  return norm(a) == norm(b);
}

}  // namespace

ReplayReport Replay(const std::vector<ToolMock>& mocks, const std::vector<ToolCallMade>& calls) {
  ReplayReport r;
  std::vector<bool> used(mocks.size(), false);
  for (const auto& call : calls) {
    bool served = false;
    size_t of_tool = 0;
    std::string unused;
    for (size_t i = 0; i < mocks.size(); ++i) {
      if (mocks[i].tool != call.tool) continue;
      ++of_tool;
      if (used[i]) continue;
      if (SameArgs(mocks[i].args, call.args)) {
        used[i] = true;
        served = true;
        break;
      }
      unused += (unused.empty() ? "" : " or ") + Shown(mocks[i].args);
    }
    if (served) {
      ++r.served;
      continue;
    }
    ++r.live;
    if (r.mismatches.size() >= kMaxMismatches) continue;
    std::string expected;
    if (of_tool == 0) {
      expected = "no recorded call of " + call.tool;
    } else if (unused.empty()) {
      expected = "every recorded call of " + call.tool + " (" + std::to_string(of_tool) +
                 ") was already replayed";
    } else {
      expected = "arguments " + TruncateUtf8(unused, 1000, "...");
    }
    r.mismatches.push_back({call.tool, call.args, expected});
  }
  for (bool u : used) r.unconsumed += u ? 0 : 1;
  return r;
}

Json ReplayToJson(const ReplayReport& r) {
  Json mismatches = Json::array();
  for (const auto& m : r.mismatches) {
    mismatches.push_back({{"tool", m.tool}, {"args", Shown(m.args)}, {"expected", m.expected}});
  }
  return {{"served", r.served},
          {"unconsumed", r.unconsumed},
          {"live", r.live},
          {"mismatches", mismatches}};
}

}  // namespace firebreak::regress
