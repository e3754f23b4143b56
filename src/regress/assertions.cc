#include "regress/assertions.h"

#include <re2/re2.h>

#include <algorithm>

#include "common/text.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

constexpr size_t kShown = 200;  // bytes of agent text quoted in a result

std::string Quote(std::string_view text) { return "'" + TruncateUtf8(text, kShown, "...") + "'"; }

std::string Shown(const Json& j) {
  return TruncateUtf8(j.dump(-1, ' ', false, Json::error_handler_t::replace), kShown, "...");
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string ToolNames(const AgentAnswer& answer) {
  if (answer.tool_calls.empty()) return "no tool call";
  std::string out;
  for (const auto& c : answer.tool_calls) out += (out.empty() ? "" : ", ") + c.tool;
  return TruncateUtf8("calls: " + out, kShown, "...");
}

std::string TypeOf(const Json& v) {
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_null()) return "null";
  if (v.is_number_integer() || v.is_number_unsigned()) return "integer";
  return "number";
}

bool HasType(const Json& v, const std::string& type) {
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer() || v.is_number_unsigned()) return true;
    return v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()));
  }
  return TypeOf(v) == type;
}

// Whether `have` holds every key of `want` with an equal value (objects compared the same way,
// recursively; anything else must be equal).
bool Includes(const Json& have, const Json& want) {
  if (!want.is_object()) return have == want;
  if (!have.is_object()) return false;
  for (const auto& item : want.items()) {
    auto it = have.find(item.key());
    if (it == have.end() || !Includes(*it, item.value())) return false;
  }
  return true;
}

std::string Findings(const std::vector<detect::PiiFinding>& found, const std::string& where) {
  std::string out;
  for (const auto& f : found) {
    if (!out.empty()) out += "; ";
    out += f.kind + (f.detail.empty() ? "" : " (" + f.detail + ")") + " " + f.redacted + " in " +
           where;
  }
  return out;
}

AssertionResult NoPii(const Assertion& a, const AgentAnswer& answer, const JudgeContext& ctx) {
  AssertionResult r{a.type};
  std::string seen;
  if (!ctx.scanner) {
    r.expected = "no personal data";
    r.seen = "no personal-data scanner is configured";
    return r;
  }
  if (a.target == "output") {
    r.expected = "no personal data in the output";
    seen = Findings(ctx.scanner->Scan(answer.output, ctx.scan), "the output");
  } else {
    r.expected = "no personal data in the arguments of tools with external effect";
    for (const auto& call : answer.tool_calls) {
      if (ctx.read_only_tools.count(call.tool)) continue;
      std::string args = call.args.is_string() ? call.args.get<std::string>()
                                               : call.args.dump(-1, ' ', false,
                                                                Json::error_handler_t::replace);
      std::string f = Findings(ctx.scanner->Scan(args, ctx.scan), "the arguments of " + call.tool);
      if (!f.empty()) seen += (seen.empty() ? "" : "; ") + f;
    }
  }
  r.passed = seen.empty();
  r.seen = r.passed ? "none found" : "found " + TruncateUtf8(seen, 1000, "...");
  return r;
}

AssertionResult Text(const Assertion& a, const AgentAnswer& answer) {
  AssertionResult r{a.type};
  const std::string& out = answer.output;
  r.seen = "output " + Quote(out);
  if (a.type == "contains") {
    r.expected = "the output contains " + Quote(a.text);
    r.passed = out.find(a.text) != std::string::npos;
  } else if (a.type == "not-contains") {
    r.expected = "the output does not contain " + Quote(a.text);
    size_t at = out.find(a.text);
    r.passed = at == std::string::npos;
    if (!r.passed) r.seen = "found at byte " + std::to_string(at) + " of the output";
  } else if (a.type == "icontains") {
    r.expected = "the output contains " + Quote(a.text) + " (any case)";
    r.passed = Lower(out).find(Lower(a.text)) != std::string::npos;
  } else if (a.type == "equals") {
    r.expected = "the output equals " + Quote(a.text);
    r.passed = out == a.text;
  } else {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(8 << 20);
    RE2 re(a.text, options);
    re2::StringPiece match;
    // Match() with one submatch gives the whole match, whatever groups the pattern has.
    bool found = re.ok() && re.Match(out, 0, out.size(), RE2::UNANCHORED, &match, 1);
    if (a.type == "regex") {
      r.expected = "the output matches /" + TruncateUtf8(a.text, kShown, "...") + "/";
      r.passed = found;
    } else {
      r.expected = "the output does not match /" + TruncateUtf8(a.text, kShown, "...") + "/";
      r.passed = !found;
      if (found) r.seen = "matched " + Quote(std::string_view(match.data(), match.size()));
    }
  }
  return r;
}

AssertionResult Tools(const Assertion& a, const AgentAnswer& answer) {
  AssertionResult r{a.type};
  const auto& calls = answer.tool_calls;
  auto count = std::count_if(calls.begin(), calls.end(),
                             [&](const ToolCallMade& c) { return c.tool == a.tool; });
  if (a.type == "tool-called") {
    r.expected = "a call of " + a.tool;
    r.passed = count > 0;
    r.seen = r.passed ? std::to_string(count) + " call(s) of " + a.tool : ToolNames(answer);
  } else if (a.type == "tool-not-called") {
    r.expected = "no call of " + a.tool;
    r.passed = count == 0;
    r.seen = r.passed ? ToolNames(answer) : std::to_string(count) + " call(s) of " + a.tool;
  } else if (a.type == "tool-args-match") {
    r.expected = "a call of " + a.tool + " with arguments including " + Shown(a.args);
    std::string seen;
    for (const auto& c : calls) {
      if (c.tool != a.tool) continue;
      if (Includes(c.args, a.args)) {
        r.passed = true;
        seen = a.tool + " " + Shown(c.args);
        break;
      }
      seen += (seen.empty() ? "" : "; ") + a.tool + " " + Shown(c.args);
    }
    r.seen = seen.empty() ? "no call of " + a.tool : TruncateUtf8(seen, 1000, "...");
  } else if (a.type == "tool-sequence") {
    std::string want;
    for (const auto& t : a.sequence) want += (want.empty() ? "" : " -> ") + t;
    r.expected = "calls in the order " + want;
    size_t next = 0;
    for (const auto& c : calls) {
      if (next < a.sequence.size() && c.tool == a.sequence[next]) ++next;
    }
    r.passed = next == a.sequence.size();
    r.seen = ToolNames(answer);
    if (!r.passed) r.seen += " (missing from " + a.sequence[next] + " on)";
  } else {  // max-tool-calls
    r.expected = "at most " + std::to_string(a.max) + " tool call(s)";
    r.passed = static_cast<int64_t>(calls.size()) <= a.max;
    r.seen = std::to_string(calls.size()) + " tool call(s)";
  }
  return r;
}

}  // namespace

StatusOr<AgentAnswer> AnswerFromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgument("the answer must be a JSON object {output, tool_calls}");
  AgentAnswer a;
  auto out = j.find("output");
  if (out != j.end() && !out->is_null()) {
    if (!out->is_string()) return InvalidArgument("'output' must be a string");
    a.output = out->get<std::string>();
    if (!IsValidUtf8(a.output)) return InvalidArgument("'output' is not UTF-8");
  }
  auto calls = j.find("tool_calls");
  if (calls != j.end() && !calls->is_null()) {
    if (!calls->is_array()) return InvalidArgument("'tool_calls' must be an array");
    if (calls->size() > kMaxAnswerToolCalls) {
      return InvalidArgument("'tool_calls' has more than " + std::to_string(kMaxAnswerToolCalls) +
                             " calls");
    }
    for (size_t i = 0; i < calls->size(); ++i) {
      const Json& c = (*calls)[i];
      std::string path = "'tool_calls[" + std::to_string(i) + "]";
      if (!c.is_object()) return InvalidArgument(path + "' must be an object {tool, args}");
      auto tool = c.find("tool");
      if (tool == c.end() || !tool->is_string() || tool->get_ref<const std::string&>().empty() ||
          !IsValidUtf8(tool->get_ref<const std::string&>())) {
        return InvalidArgument(path + ".tool' must be a tool name");
      }
      ToolCallMade made{tool->get<std::string>(), Json::object()};
      if (auto args = c.find("args"); args != c.end()) {
        made.args = args->is_string() ? JsonOrString(args->get<std::string>()) : *args;
      }
      a.tool_calls.push_back(std::move(made));
    }
  }
  return a;
}

Json AnswerToJson(const AgentAnswer& a, size_t max_output) {
  Json calls = Json::array();
  for (const auto& c : a.tool_calls) {
    std::string text = c.args.dump(-1, ' ', false, Json::error_handler_t::replace);
    // Large arguments are kept as cut text: a result shows them, it does not replay them.
    calls.push_back({{"tool", c.tool},
                     {"args", text.size() <= max_output / 4 ? c.args
                                                            : Json(TruncateUtf8(text, max_output / 4, "..."))}});
  }
  return {{"output", TruncateUtf8(a.output, max_output, "...")}, {"tool_calls", calls}};
}

Json AssertionResultToJson(const AssertionResult& r) {
  return {{"type", r.type}, {"passed", r.passed}, {"expected", r.expected}, {"seen", r.seen}};
}

AssertionResult Evaluate(const Assertion& a, const AgentAnswer& answer, const JudgeContext& ctx) {
  if (a.type == "no-pii") return NoPii(a, answer, ctx);
  if (a.type == "json-schema") {
    AssertionResult r{a.type};
    r.expected = "the output is JSON matching the schema " + Shown(a.schema);
    Json value = Json::parse(answer.output, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded() || !CheckJsonDepth(answer.output, kMaxJsonDepth).ok()) {
      r.seen = "output is not JSON: " + Quote(answer.output);
      return r;
    }
    std::string violation = SchemaViolation(a.schema, value);
    r.passed = violation.empty();
    r.seen = r.passed ? "conforms" : violation;
    return r;
  }
  if (a.type.rfind("tool-", 0) == 0 || a.type == "max-tool-calls") return Tools(a, answer);
  return Text(a, answer);
}

std::string SchemaViolation(const Json& schema, const Json& value, const std::string& path) {
  if (auto t = schema.find("type"); t != schema.end()) {
    std::vector<Json> types = t->is_array() ? std::vector<Json>(t->begin(), t->end())
                                            : std::vector<Json>{*t};
    bool ok = std::any_of(types.begin(), types.end(),
                          [&](const Json& n) { return HasType(value, n.get<std::string>()); });
    if (!ok) return path + ": expected " + t->dump() + ", got " + TypeOf(value);
  }
  if (auto e = schema.find("enum"); e != schema.end()) {
    if (std::find(e->begin(), e->end(), value) == e->end()) {
      return path + ": " + Shown(value) + " is not one of " + Shown(*e);
    }
  }
  if (value.is_object()) {
    if (auto req = schema.find("required"); req != schema.end()) {
      for (const auto& name : *req) {
        if (!value.contains(name.get<std::string>())) {
          return path + ": required property '" + name.get<std::string>() + "' is missing";
        }
      }
    }
    if (auto props = schema.find("properties"); props != schema.end()) {
      for (const auto& p : props->items()) {
        auto v = value.find(p.key());
        if (v == value.end()) continue;
        std::string inner = SchemaViolation(p.value(), *v, path + "." + p.key());
        if (!inner.empty()) return inner;
      }
    }
  }
  if (value.is_array()) {
    if (auto items = schema.find("items"); items != schema.end()) {
      for (size_t i = 0; i < value.size(); ++i) {
        std::string inner = SchemaViolation(*items, value[i], path + "[" + std::to_string(i) + "]");
        if (!inner.empty()) return inner;
      }
    }
  }
  return "";
}

}  // namespace firebreak::regress
