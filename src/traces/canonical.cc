#include "traces/canonical.h"

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/text.h"

namespace firebreak::traces {
namespace {

using Json = nlohmann::json;

// JSON text is compared by value: '{"b":1, "a":2}' and ' {"a":2,"b":1}' are the same argument.
Json CanonicalValue(const std::string& text) {
  size_t first = text.find_first_not_of(" \t\r\n");
  // Deeper than kMaxJsonDepth is compared as text: the parser recurses on client input.
  if (first != std::string::npos && (text[first] == '{' || text[first] == '[') &&
      CheckJsonDepth(text, kMaxJsonDepth).ok()) {
    Json j = Json::parse(text, nullptr, false);
    if (!j.is_discarded()) return j;  // nlohmann::json objects keep keys sorted
  }
  return text;
}

}  // namespace

std::string CanonicalForm(const TraceContent& t) {
  Json retrieved = Json::array();
  for (const auto& r : t.retrieved)
    retrieved.push_back({{"content", r.content}, {"source", r.source}});
  Json tools = Json::array();
  for (const auto& c : t.tool_calls) {
    tools.push_back({{"arguments", CanonicalValue(c.arguments)},
                     {"error", c.error},
                     {"name", c.name},
                     {"result", CanonicalValue(c.result)}});
    // Added after the first v1 hashes existed: present only when set, so those stayed the same.
    if (!c.approved_by.empty()) tools.back()["approved_by"] = c.approved_by;
  }
  Json state = Json::array();
  for (const auto& s : t.state) state.push_back(s);
  Json form = {{"v", kCanonicalVersion}, {"agent", t.agent},       {"version", t.version},
               {"input", t.input},       {"retrieved", retrieved}, {"tool_calls", tools},
               {"state", state},         {"output", t.output}};
  return form.dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
}

std::string TraceHash(const TraceContent& t) { return Sha256Hex(CanonicalForm(t)); }

std::string CanonicalText(const std::string& text) {
  return CanonicalValue(text).dump(-1, ' ', /*ensure_ascii=*/true, Json::error_handler_t::replace);
}

}  // namespace firebreak::traces
