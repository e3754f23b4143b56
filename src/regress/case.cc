#include "regress/case.h"

#include <re2/re2.h>

#include <algorithm>
#include <set>

#include "common/text.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxText = 4096;     // a contains/equals text
constexpr size_t kMaxPattern = 1024;  // a regex
constexpr size_t kMaxToolName = 200;
constexpr size_t kMaxSequence = 64;
constexpr size_t kMaxSchemaBytes = 64 * 1024;
constexpr int kMaxSchemaDepth = 16;
constexpr int64_t kMaxToolCallsLimit = 10'000;
constexpr int kHistoryTurns = 20;

bool IsTextType(const std::string& t) {
  return t == "contains" || t == "not-contains" || t == "icontains" || t == "equals" ||
         t == "regex" || t == "not-regex";
}

Status OnlyKeys(const Json& j, const std::string& path, std::initializer_list<const char*> keys) {
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    if (std::none_of(keys.begin(), keys.end(), [&](const char* k) { return key == k; })) {
      return InvalidArgument("'" + path + "." + key + "' is not a field of this assertion");
    }
  }
  return Status::Ok();
}

StatusOr<std::string> TextOf(const Json& j, const char* key, const std::string& path, size_t max) {
  auto it = j.find(key);
  std::string field = path + "." + key;
  if (it == j.end() || !it->is_string()) return InvalidArgument("'" + field + "' must be a string");
  const std::string& v = it->get_ref<const std::string&>();
  if (v.size() > max || !IsValidUtf8(v)) {
    return InvalidArgument("'" + field + "' must be UTF-8 text of at most " + std::to_string(max) +
                           " bytes");
  }
  return v;
}

Status CheckSchema(const Json& s, const std::string& path, int depth) {
  if (depth > kMaxSchemaDepth) {
    return InvalidArgument("'" + path + "' nests deeper than " + std::to_string(kMaxSchemaDepth));
  }
  if (!s.is_object()) return InvalidArgument("'" + path + "' must be a JSON schema object");
  static const std::set<std::string> kTypes = {"object", "array",   "string", "number",
                                               "integer", "boolean", "null"};
  for (const auto& item : s.items()) {
    const std::string& key = item.key();
    const Json& v = item.value();
    std::string field = path + "." + key;
    if (key == "type") {
      std::vector<Json> names = v.is_array() ? std::vector<Json>(v.begin(), v.end())
                                             : std::vector<Json>{v};
      for (const auto& n : names) {
        if (!n.is_string() || !kTypes.count(n.get<std::string>())) {
          return InvalidArgument("'" + field +
                                 "' must be object, array, string, number, integer, boolean or "
                                 "null (or a list of them)");
        }
      }
    } else if (key == "required") {
      if (!v.is_array() || std::any_of(v.begin(), v.end(), [](const Json& x) {
            return !x.is_string();
          })) {
        return InvalidArgument("'" + field + "' must be an array of property names");
      }
    } else if (key == "properties") {
      if (!v.is_object()) return InvalidArgument("'" + field + "' must be an object of schemas");
      for (const auto& p : v.items()) {
        FB_RETURN_IF_ERROR(CheckSchema(p.value(), field + "." + p.key(), depth + 1));
      }
    } else if (key == "items") {
      FB_RETURN_IF_ERROR(CheckSchema(v, field, depth + 1));
    } else if (key == "enum") {
      if (!v.is_array() || v.empty()) return InvalidArgument("'" + field + "' must be a non-empty array");
    } else {
      return InvalidArgument("'" + field +
                             "' is not supported (type, required, properties, items, enum)");
    }
  }
  return Status::Ok();
}

Json RetrievedJson(const std::vector<traces::RetrievedItem>& items) {
  Json out = Json::array();
  for (const auto& r : items) out.push_back({{"source", r.source}, {"content", r.content}});
  return out;
}

}  // namespace

const std::vector<std::string>& AssertionTypes() {
  static const std::vector<std::string> kTypes = {
      "contains",    "not-contains",    "icontains",       "regex",
      "not-regex",   "equals",          "json-schema",     "no-pii",
      "tool-called", "tool-not-called", "tool-args-match", "tool-sequence",
      "max-tool-calls"};
  return kTypes;
}

Json JsonOrString(const std::string& text) {
  if (!text.empty() && (text.front() == '{' || text.front() == '[') &&
      CheckJsonDepth(text, kMaxJsonDepth).ok()) {
    Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!parsed.is_discarded()) return parsed;
  }
  return text;
}

Json AssertionToJson(const Assertion& a) {
  Json j = {{"type", a.type}};
  if (IsTextType(a.type)) j["value"] = a.text;
  if (a.type == "json-schema") j["value"] = a.schema;
  if (a.type == "no-pii") j["target"] = a.target;
  if (a.type == "tool-called" || a.type == "tool-not-called" || a.type == "tool-args-match") {
    j["tool"] = a.tool;
  }
  if (a.type == "tool-args-match") j["args"] = a.args;
  if (a.type == "tool-sequence") j["value"] = a.sequence;
  if (a.type == "max-tool-calls") j["value"] = a.max;
  return j;
}

StatusOr<Assertion> AssertionFromJson(const Json& j, const std::string& path) {
  if (!j.is_object()) return InvalidArgument("'" + path + "' must be an object");
  auto t = j.find("type");
  if (t == j.end() || !t->is_string()) return InvalidArgument("'" + path + ".type' is required");
  Assertion a;
  a.type = t->get<std::string>();
  const auto& types = AssertionTypes();
  if (std::find(types.begin(), types.end(), a.type) == types.end()) {
    std::string list;
    for (const auto& x : types) list += (list.empty() ? "" : ", ") + x;
    return InvalidArgument("'" + path + ".type' must be one of " + list + " (got '" +
                           TruncateUtf8(a.type, 64, "...") + "')");
  }
  if (IsTextType(a.type)) {
    FB_RETURN_IF_ERROR(OnlyKeys(j, path, {"type", "value"}));
    bool regex = a.type == "regex" || a.type == "not-regex";
    FB_ASSIGN_OR_RETURN(a.text, TextOf(j, "value", path, regex ? kMaxPattern : kMaxText));
    if (regex) {
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(8 << 20);
      RE2 re(a.text, options);
      if (!re.ok()) {
        return InvalidArgument("'" + path + ".value' is not a valid regular expression (RE2): " +
                               re.error());
      }
    }
  } else if (a.type == "json-schema") {
    FB_RETURN_IF_ERROR(OnlyKeys(j, path, {"type", "value"}));
    auto v = j.find("value");
    if (v == j.end()) return InvalidArgument("'" + path + ".value' must be a JSON schema object");
    if (v->dump().size() > kMaxSchemaBytes) {
      return InvalidArgument("'" + path + ".value' is larger than 64 KiB");
    }
    FB_RETURN_IF_ERROR(CheckSchema(*v, path + ".value", 0));
    a.schema = *v;
  } else if (a.type == "no-pii") {
    FB_RETURN_IF_ERROR(OnlyKeys(j, path, {"type", "target"}));
    a.target = "output";
    if (j.contains("target")) {
      FB_ASSIGN_OR_RETURN(a.target, TextOf(j, "target", path, 32));
      if (a.target != "output" && a.target != "tool-args") {
        return InvalidArgument("'" + path + ".target' must be output or tool-args");
      }
    }
  } else if (a.type == "tool-called" || a.type == "tool-not-called" ||
             a.type == "tool-args-match") {
    bool args = a.type == "tool-args-match";
    FB_RETURN_IF_ERROR(args ? OnlyKeys(j, path, {"type", "tool", "args"})
                            : OnlyKeys(j, path, {"type", "tool"}));
    FB_ASSIGN_OR_RETURN(a.tool, TextOf(j, "tool", path, kMaxToolName));
    if (a.tool.empty()) return InvalidArgument("'" + path + ".tool' must not be empty");
    if (args) {
      auto v = j.find("args");
      if (v == j.end() || !v->is_object() || v->empty() || v->dump().size() > kMaxText) {
        return InvalidArgument("'" + path +
                               ".args' must be a non-empty object of at most 4096 bytes (the "
                               "arguments a call must include)");
      }
      a.args = *v;
    }
  } else if (a.type == "tool-sequence") {
    FB_RETURN_IF_ERROR(OnlyKeys(j, path, {"type", "value"}));
    auto v = j.find("value");
    if (v == j.end() || !v->is_array() || v->empty() || v->size() > kMaxSequence) {
      return InvalidArgument("'" + path + ".value' must be an array of 1 to 64 tool names");
    }
    for (const auto& n : *v) {
      if (!n.is_string() || n.get_ref<const std::string&>().empty() ||
          n.get_ref<const std::string&>().size() > kMaxToolName) {
        return InvalidArgument("'" + path + ".value' must hold tool names (1 to 200 bytes)");
      }
      a.sequence.push_back(n.get<std::string>());
    }
  } else {  // max-tool-calls
    FB_RETURN_IF_ERROR(OnlyKeys(j, path, {"type", "value"}));
    auto v = j.find("value");
    if (v == j.end() || !v->is_number_integer() || v->get<int64_t>() < 0 ||
        v->get<int64_t>() > kMaxToolCallsLimit) {
      return InvalidArgument("'" + path + ".value' must be a whole number in 0..10000");
    }
    a.max = v->get<int64_t>();
  }
  return a;
}

StatusOr<std::vector<Assertion>> AssertionsFromJson(const Json& j, const std::string& path) {
  if (!j.is_array() || j.empty() || j.size() > kMaxAssertions) {
    return InvalidArgument("'" + path + "' must be an array of 1 to " +
                           std::to_string(kMaxAssertions) + " assertions");
  }
  std::vector<Assertion> out;
  for (size_t i = 0; i < j.size(); ++i) {
    FB_ASSIGN_OR_RETURN(Assertion a,
                        AssertionFromJson(j[i], path + "[" + std::to_string(i) + "]"));
    out.push_back(std::move(a));
  }
  return out;
}

Status CheckRepeat(int64_t repeat, int64_t pass_at_least) {
  if (repeat < 1 || repeat > kMaxRepeat) {
    return InvalidArgument("'repeat' must be a whole number in 1.." + std::to_string(kMaxRepeat));
  }
  if (pass_at_least < 1 || pass_at_least > repeat) {
    return InvalidArgument("'pass_at_least' must be a whole number in 1..repeat (" +
                           std::to_string(repeat) + ")");
  }
  return Status::Ok();
}

Json SpecToJson(const CaseSpec& spec) {
  Json mocks = Json::array();
  for (const auto& m : spec.mocks) {
    mocks.push_back({{"tool", m.tool}, {"args", m.args}, {"output", m.output}});
  }
  Json assertions = Json::array();
  for (const auto& a : spec.assertions) assertions.push_back(AssertionToJson(a));
  return {{"input", spec.input},
          {"context", spec.context},
          {"retrieved", RetrievedJson(spec.retrieved)},
          {"tool_mocks", mocks},
          {"assertions", assertions},
          {"repeat", spec.repeat},
          {"pass_at_least", spec.pass_at_least}};
}

StatusOr<CaseSpec> SpecFromJson(const Json& j) {
  // Stored specs were written by SpecToJson; a failure here is a damaged store, not bad input.
  try {
    CaseSpec spec;
    spec.input = j.at("input").get<std::string>();
    spec.context = j.at("context");
    for (const auto& r : j.at("retrieved")) {
      spec.retrieved.push_back({r.at("source").get<std::string>(), r.at("content").get<std::string>()});
    }
    for (const auto& m : j.at("tool_mocks")) {
      spec.mocks.push_back({m.at("tool").get<std::string>(), m.at("args"), m.at("output")});
    }
    const Json& assertions = j.at("assertions");
    for (size_t i = 0; i < assertions.size(); ++i) {
      auto a = AssertionFromJson(assertions[i], "assertions[" + std::to_string(i) + "]");
      if (!a.ok()) return Internal("stored case does not read back: " + a.status().message());
      spec.assertions.push_back(std::move(*a));
    }
    spec.repeat = j.at("repeat").get<int>();
    spec.pass_at_least = j.at("pass_at_least").get<int>();
    return spec;
  } catch (const Json::exception& e) {
    return Internal(std::string("stored case does not read back: ") + e.what());
  }
}

std::vector<Assertion> DefaultAssertions(const std::vector<SignalRecord>& signals) {
  std::vector<Assertion> out;
  auto add = [&out](Assertion a) {
    bool seen = std::any_of(out.begin(), out.end(), [&](const Assertion& b) {
      return b.type == a.type && b.target == a.target && b.tool == a.tool;
    });
    if (!seen) out.push_back(std::move(a));
  };
  for (const auto& s : signals) {
    if (s.kind == "pii" || s.kind.rfind("pii.", 0) == 0) {
      Assertion output{"no-pii"};
      output.target = "output";
      add(output);
      Assertion args{"no-pii"};
      args.target = "tool-args";
      add(args);
    } else if (s.kind == "action.unauthorised") {
      Json measured = Json::parse(s.measured_json, nullptr, /*allow_exceptions=*/false);
      if (!measured.is_object()) continue;
      auto tools = measured.find("tools");
      if (tools == measured.end() || !tools->is_array()) continue;
      for (const auto& t : *tools) {
        if (!t.is_string() || t.get_ref<const std::string&>().empty()) continue;
        Assertion a{"tool-not-called"};
        a.tool = TruncateUtf8(t.get<std::string>(), kMaxToolName);
        add(a);
      }
    }
  }
  return out;
}

CaseSpec SpecFromTrace(const traces::TraceContent& trace,
                       const std::vector<traces::TraceContent>& history) {
  CaseSpec spec;
  spec.input = trace.input;
  Json turns = Json::array();
  size_t first = history.size() > kHistoryTurns ? history.size() - kHistoryTurns : 0;
  for (size_t i = first; i < history.size(); ++i) {
    turns.push_back({{"input", history[i].input}, {"output", history[i].output}});
  }
  spec.context = {{"user_id", trace.user_id},
                  {"session_id", trace.session_id},
                  {"category", trace.category},
                  {"history", turns}};
  spec.retrieved = trace.retrieved;
  for (const auto& call : trace.tool_calls) {
    Json output = call.error.empty() ? JsonOrString(call.result) : Json{{"error", call.error}};
    spec.mocks.push_back({call.name, JsonOrString(call.arguments), output});
  }
  return spec;
}

}  // namespace firebreak::regress
