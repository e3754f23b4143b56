#include "traces/trace.h"

namespace firebreak::traces {
namespace {

using Json = nlohmann::json;

Json Strings(const std::vector<std::string>& v) {
  Json a = Json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

// Returns a field as text: strings as they are, other JSON values serialised (tool arguments
// are often given as objects).
StatusOr<std::string> Text(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object() || it->is_array() || it->is_number() || it->is_boolean()) return it->dump();
  return InvalidArgument(where + key + " must be a string");
}

StatusOr<std::string> PlainString(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  if (!it->is_string()) return InvalidArgument(where + key + " must be a string");
  return it->get<std::string>();
}

StatusOr<TimeMs> Time(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return TimeMs{0};
  if (it->is_number_integer()) {
    // Epoch milliseconds, within the years RFC 3339 can write (a stored trace reads back).
    if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(kMaxTimeMs)) {
      return InvalidArgument(where + key + " is past the year 9999 (epoch milliseconds expected)");
    }
    TimeMs t = it->get<TimeMs>();
    if (t < kMinTimeMs || t > kMaxTimeMs) {
      return InvalidArgument(where + key + " is outside the years 1 to 9999 (epoch milliseconds expected)");
    }
    return t;
  }
  if (it->is_string()) {
    if (auto t = ParseTime(it->get<std::string>())) return *t;
  }
  return InvalidArgument(where + key + " must be an RFC 3339 time or epoch milliseconds");
}

StatusOr<int64_t> Int(const Json& j, const char* key, const std::string& where) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return int64_t{0};
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    return InvalidArgument(where + key + " must be a whole number >= 0");
  }
  return it->get<int64_t>();
}

}  // namespace

nlohmann::json ContentToJson(const TraceContent& t) {
  Json retrieved = Json::array();
  for (const auto& r : t.retrieved)
    retrieved.push_back({{"source", r.source}, {"content", r.content}});
  Json tools = Json::array();
  for (const auto& c : t.tool_calls) {
    tools.push_back({{"name", c.name},
                     {"call_id", c.call_id},
                     {"arguments", c.arguments},
                     {"result", c.result},
                     {"error", c.error}});
    if (!c.approved_by.empty()) tools.back()["approved_by"] = c.approved_by;
  }
  Json evaluations = Json::array();
  for (const auto& e : t.evaluations) {
    Json item = {{"name", e.name}, {"label", e.label}};
    item["score"] = e.score ? Json(*e.score) : Json(nullptr);
    evaluations.push_back(std::move(item));
  }
  return {{"trace_id", t.trace_id},
          {"agent", t.agent},
          {"version", t.version},
          {"user_id", t.user_id},
          {"session_id", t.session_id},
          {"category", t.category},
          {"input", t.input},
          {"retrieved", retrieved},
          {"tool_calls", tools},
          {"state", Strings(t.state)},
          {"output", t.output},
          {"tokens", {{"input", t.input_tokens}, {"output", t.output_tokens}}},
          {"errors", Strings(t.errors)},
          {"evaluations", evaluations},
          {"started_at", FormatTime(t.started_at)},
          {"ended_at", FormatTime(t.ended_at)},
          {"duration_ms", t.ended_at - t.started_at},
          {"span_count", t.span_count}};
}

StatusOr<TraceContent> ContentFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("a trace must be a JSON object");
  TraceContent t;
  const std::string w;
  FB_ASSIGN_OR_RETURN(t.trace_id, PlainString(j, "trace_id", w));
  FB_ASSIGN_OR_RETURN(t.agent, PlainString(j, "agent", w));
  FB_ASSIGN_OR_RETURN(t.version, PlainString(j, "version", w));
  FB_ASSIGN_OR_RETURN(t.user_id, PlainString(j, "user_id", w));
  FB_ASSIGN_OR_RETURN(t.session_id, PlainString(j, "session_id", w));
  FB_ASSIGN_OR_RETURN(t.category, PlainString(j, "category", w));
  FB_ASSIGN_OR_RETURN(t.input, Text(j, "input", w));
  FB_ASSIGN_OR_RETURN(t.output, Text(j, "output", w));
  if (auto it = j.find("retrieved"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("retrieved must be an array");
    for (const auto& r : *it) {
      RetrievedItem item;
      if (r.is_string()) {
        item.content = r.get<std::string>();
      } else if (r.is_object()) {
        FB_ASSIGN_OR_RETURN(item.source, Text(r, "source", "retrieved[]."));
        FB_ASSIGN_OR_RETURN(item.content, Text(r, "content", "retrieved[]."));
      } else {
        return InvalidArgument("retrieved[] must be strings or {source, content} objects");
      }
      t.retrieved.push_back(std::move(item));
    }
  }
  if (auto it = j.find("tool_calls"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("tool_calls must be an array");
    for (const auto& c : *it) {
      if (!c.is_object()) return InvalidArgument("tool_calls[] must be objects");
      ToolCall call;
      const std::string cw = "tool_calls[].";
      FB_ASSIGN_OR_RETURN(call.name, PlainString(c, "name", cw));
      if (call.name.empty()) return InvalidArgument("tool_calls[].name is required");
      FB_ASSIGN_OR_RETURN(call.call_id, PlainString(c, "call_id", cw));
      FB_ASSIGN_OR_RETURN(call.arguments, Text(c, "arguments", cw));
      FB_ASSIGN_OR_RETURN(call.result, Text(c, "result", cw));
      FB_ASSIGN_OR_RETURN(call.error, Text(c, "error", cw));
      FB_ASSIGN_OR_RETURN(call.approved_by, PlainString(c, "approved_by", cw));
      t.tool_calls.push_back(std::move(call));
    }
  }
  for (const char* key : {"state", "errors"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    if (!it->is_array()) return InvalidArgument(std::string(key) + " must be an array of strings");
    auto& out = std::string(key) == "state" ? t.state : t.errors;
    for (const auto& s : *it) out.push_back(s.is_string() ? s.get<std::string>() : s.dump());
  }
  if (auto it = j.find("evaluations"); it != j.end() && !it->is_null()) {
    if (!it->is_array()) return InvalidArgument("evaluations must be an array");
    for (const auto& e : *it) {
      if (!e.is_object()) return InvalidArgument("evaluations[] must be objects");
      Evaluation ev;
      FB_ASSIGN_OR_RETURN(ev.name, PlainString(e, "name", "evaluations[]."));
      FB_ASSIGN_OR_RETURN(ev.label, PlainString(e, "label", "evaluations[]."));
      if (auto sc = e.find("score"); sc != e.end() && !sc->is_null()) {
        if (!sc->is_number()) return InvalidArgument("evaluations[].score must be a number");
        ev.score = sc->get<double>();
      }
      t.evaluations.push_back(std::move(ev));
    }
  }
  if (auto it = j.find("tokens"); it != j.end() && !it->is_null()) {
    if (!it->is_object()) return InvalidArgument("tokens must be an object {input, output}");
    FB_ASSIGN_OR_RETURN(t.input_tokens, Int(*it, "input", "tokens."));
    FB_ASSIGN_OR_RETURN(t.output_tokens, Int(*it, "output", "tokens."));
  }
  FB_ASSIGN_OR_RETURN(t.started_at, Time(j, "started_at", w));
  FB_ASSIGN_OR_RETURN(t.ended_at, Time(j, "ended_at", w));
  if (t.ended_at < t.started_at) t.ended_at = t.started_at;
  return t;
}

}  // namespace firebreak::traces
