#include "traces/conventions.h"

#include <algorithm>
#include <map>

#include "common/text.h"

namespace firebreak::traces {
namespace {

using Json = nlohmann::json;

// Returns an attribute as text ("" when absent); non-string values are serialised.
std::string Attr(const Json& attrs, const std::string& key) {
  auto it = attrs.find(key);
  if (it == attrs.end() || it->is_null()) return "";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string FirstAttr(const Json& attrs, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    std::string v = Attr(attrs, k);
    if (!v.empty()) return v;
  }
  return "";
}

int64_t IntAttr(const Json& attrs, std::initializer_list<const char*> keys) {
  for (const char* k : keys) {
    auto it = attrs.find(k);
    if (it == attrs.end()) continue;
    if (it->is_number_integer()) return it->get<int64_t>();
    if (it->is_number()) return static_cast<int64_t>(it->get<double>());
    if (it->is_string()) {
      try {
        return std::stoll(it->get<std::string>());
      } catch (const std::exception&) {
      }
    }
  }
  return 0;
}

Json ParseMaybe(const std::string& text) {
  if (text.empty() || (text[0] != '{' && text[0] != '[' && text[0] != '"')) return nullptr;
  // Attribute text comes from clients; the parser recurses, so the depth is checked first.
  if (!CheckJsonDepth(text, kMaxJsonDepth).ok()) return nullptr;
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(nullptr) : j;
}

// Returns the text of a message's content: a string, or parts [{type:"text", text|content}].
std::string ContentText(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (content.is_array()) {
    for (const auto& part : content) {
      std::string piece;
      if (part.is_string()) {
        piece = part.get<std::string>();
      } else if (part.is_object()) {
        std::string type = part.value("type", "text");
        if (type != "text") continue;
        for (const char* k : {"content", "text"}) {
          if (part.contains(k) && part[k].is_string()) {
            piece = part[k].get<std::string>();
            break;
          }
        }
      }
      if (piece.empty()) continue;
      if (!out.empty()) out += "\n";
      out += piece;
    }
  }
  return out;
}

// Returns the text of the last message with `role` in a messages array (OpenAI style
// {role, content} or GenAI style {role, parts}).
std::string LastMessage(const Json& messages, const std::string& role) {
  if (!messages.is_array()) return "";
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (!it->is_object() || it->value("role", "") != role) continue;
    if (it->contains("parts")) return ContentText((*it)["parts"]);
    if (it->contains("content")) return ContentText((*it)["content"]);
  }
  return "";
}

// Collects indexed attributes `prefix.N.rest...` into {N: {rest: value}}.
std::map<int, std::map<std::string, std::string>> Indexed(const Json& attrs,
                                                          const std::string& prefix) {
  std::map<int, std::map<std::string, std::string>> out;
  for (auto it = attrs.begin(); it != attrs.end(); ++it) {
    const std::string& key = it.key();
    if (key.size() <= prefix.size() + 1 || key.compare(0, prefix.size(), prefix) != 0 ||
        key[prefix.size()] != '.') {
      continue;
    }
    std::string rest = key.substr(prefix.size() + 1);
    size_t dot = rest.find('.');
    if (dot == std::string::npos) continue;
    int n = 0;
    try {
      n = std::stoi(rest.substr(0, dot));
    } catch (const std::exception&) {
      continue;
    }
    out[n][rest.substr(dot + 1)] = it->is_string() ? it->get<std::string>() : it->dump();
  }
  return out;
}

// Returns the last `content` among indexed messages whose role is `role` (empty role: any).
std::string LastIndexed(const std::map<int, std::map<std::string, std::string>>& msgs,
                        const std::string& role_key, const std::string& content_key,
                        const std::string& role) {
  for (auto it = msgs.rbegin(); it != msgs.rend(); ++it) {
    auto r = it->second.find(role_key);
    auto c = it->second.find(content_key);
    if (c == it->second.end() || c->second.empty()) continue;
    if (!role.empty() && (r == it->second.end() || r->second != role)) continue;
    return c->second;
  }
  return "";
}

// Extracts the user's text from a value that may be a plain string, a messages array, or an
// object with prompt / messages / input / query / question.
std::string UserText(const std::string& raw) {
  Json j = ParseMaybe(raw);
  if (j.is_null()) return raw;
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::string m = LastMessage(j, "user");
    return m.empty() ? raw : m;
  }
  if (j.is_object()) {
    for (const char* k : {"prompt", "input", "query", "question", "message", "text"}) {
      if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
    }
    if (j.contains("messages")) {
      std::string m = LastMessage(j["messages"], "user");
      if (!m.empty()) return m;
    }
    if (j.contains("inputs") && j["inputs"].is_object()) return UserText(j["inputs"].dump());
  }
  return raw;
}

// Extracts produced text from a value that may be a plain string, a messages array, or an
// object with text / output / content / outputs.
std::string OutputText(const std::string& raw) {
  Json j = ParseMaybe(raw);
  if (j.is_null()) return raw;
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::string m = LastMessage(j, "assistant");
    return m.empty() ? raw : m;
  }
  if (j.is_object()) {
    for (const char* k : {"text", "output", "content", "response", "answer", "result"}) {
      if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
    }
    if (j.contains("outputs") && j["outputs"].is_object()) return OutputText(j["outputs"].dump());
  }
  return raw;
}

std::string EventText(const Json& events, const std::string& name,
                      std::initializer_list<const char*> keys, bool last) {
  std::string found;
  for (const auto& e : events) {
    if (e.value("name", "") != name) continue;
    const Json& a = e.contains("attributes") ? e["attributes"] : Json::object();
    for (const char* k : keys) {
      std::string v = Attr(a, k);
      if (v.empty()) continue;
      if (std::string(k) == "message") v = OutputText(v);
      found = v;
      break;
    }
    if (!found.empty() && !last) return found;
  }
  return found;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

SpanRole RoleOf(const SpanData& s) {
  const Json& a = s.attributes;
  std::string op = Lower(Attr(a, "gen_ai.operation.name"));
  std::string oi = Lower(Attr(a, "openinference.span.kind"));
  std::string tl = Lower(Attr(a, "traceloop.span.kind"));
  if (op == "execute_tool" || oi == "tool" || tl == "tool" || a.contains("ai.toolCall.name") ||
      s.name == "ai.toolCall") {
    return SpanRole::kTool;
  }
  if (op == "retrieval" || op == "retrieve" || oi == "retriever" || tl == "retriever" ||
      a.contains("retrieval.documents.0.document.content")) {
    return SpanRole::kRetrieval;
  }
  if (op == "chat" || op == "text_completion" || op == "generate_content" || oi == "llm" ||
      a.contains("llm.request.type") ||
      (s.name.rfind("ai.", 0) == 0 && (s.name.find(".doGenerate") != std::string::npos ||
                                       s.name.find(".doStream") != std::string::npos))) {
    return SpanRole::kLlm;
  }
  if (op == "invoke_agent" || op == "create_agent" || oi == "agent" || oi == "chain" ||
      tl == "agent" || tl == "workflow" || s.name == "ai.generateText" ||
      s.name == "ai.streamText" || s.name == "ai.generateObject") {
    return SpanRole::kAgent;
  }
  // Deprecated GenAI spans carry only gen_ai.system and prompts.
  if (a.contains("gen_ai.system") || a.contains("gen_ai.provider.name") ||
      a.contains("gen_ai.prompt.0.content") || a.contains("gen_ai.request.model")) {
    return SpanRole::kLlm;
  }
  return SpanRole::kOther;
}

std::string InputOf(const SpanData& s) {
  const Json& a = s.attributes;
  if (std::string v = Attr(a, "gen_ai.input.messages"); !v.empty()) {
    std::string m = LastMessage(ParseMaybe(v), "user");
    if (!m.empty()) return m;
  }
  if (std::string m = LastIndexed(Indexed(a, "gen_ai.prompt"), "role", "content", "user");
      !m.empty()) {
    return m;
  }
  if (std::string m =
          LastIndexed(Indexed(a, "llm.input_messages"), "message.role", "message.content", "user");
      !m.empty()) {
    return m;
  }
  for (const char* k : {"input.value", "ai.prompt", "traceloop.entity.input", "gen_ai.prompt",
                        "gen_ai.user.message"}) {
    if (std::string v = Attr(a, k); !v.empty()) return UserText(v);
  }
  if (std::string v = Attr(a, "ai.prompt.messages"); !v.empty()) {
    std::string m = LastMessage(ParseMaybe(v), "user");
    if (!m.empty()) return m;
  }
  return EventText(s.events, "gen_ai.user.message", {"content"}, /*last=*/true);
}

std::string OutputOf(const SpanData& s) {
  const Json& a = s.attributes;
  if (std::string v = Attr(a, "gen_ai.output.messages"); !v.empty()) {
    std::string m = LastMessage(ParseMaybe(v), "assistant");
    if (!m.empty()) return m;
    return OutputText(v);
  }
  if (std::string m = LastIndexed(Indexed(a, "gen_ai.completion"), "role", "content", "");
      !m.empty()) {
    return m;
  }
  if (std::string m =
          LastIndexed(Indexed(a, "llm.output_messages"), "message.role", "message.content", "");
      !m.empty()) {
    return m;
  }
  for (const char* k : {"ai.response.text", "output.value", "traceloop.entity.output",
                        "gen_ai.completion", "ai.result.text"}) {
    if (std::string v = Attr(a, k); !v.empty()) return OutputText(v);
  }
  return EventText(s.events, "gen_ai.choice", {"message", "content"}, /*last=*/true);
}

ToolCall ToolOf(const SpanData& s) {
  const Json& a = s.attributes;
  ToolCall t;
  t.name =
      FirstAttr(a, {"gen_ai.tool.name", "tool.name", "ai.toolCall.name", "traceloop.entity.name"});
  if (t.name.empty()) t.name = s.name;
  t.call_id =
      FirstAttr(a, {"gen_ai.tool.call.id", "tool_call.id", "tool.call_id", "ai.toolCall.id"});
  t.arguments = FirstAttr(
      a, {"gen_ai.tool.call.arguments", "tool.parameters", "tool.arguments", "ai.toolCall.args",
          "ai.toolCall.input", "input.value", "traceloop.entity.input"});
  t.result = FirstAttr(a, {"gen_ai.tool.call.result", "tool.result", "ai.toolCall.result",
                           "ai.toolCall.output", "output.value", "traceloop.entity.output"});
  t.approved_by = FirstAttr(a, {"firebreak.tool.approved_by", "gen_ai.tool.approved_by",
                               "tool.approved_by"});
  if (s.status_code == kSpanStatusError) {
    t.error = s.status_message.empty() ? "error" : s.status_message;
  } else if (std::string e = Attr(a, "error.type"); !e.empty()) {
    t.error = e;
  }
  return t;
}

std::vector<RetrievedItem> RetrievedOf(const SpanData& s) {
  std::vector<RetrievedItem> out;
  for (const auto& [n, fields] : Indexed(s.attributes, "retrieval.documents")) {
    RetrievedItem item;
    if (auto it = fields.find("document.content"); it != fields.end()) item.content = it->second;
    if (auto it = fields.find("document.id"); it != fields.end()) item.source = it->second;
    if (!item.content.empty()) out.push_back(std::move(item));
  }
  if (!out.empty()) return out;
  // A retrieval span without per-document attributes: its output is what was retrieved.
  std::string raw = FirstAttr(s.attributes, {"gen_ai.retrieval.documents", "output.value",
                                             "traceloop.entity.output", "gen_ai.tool.call.result"});
  if (raw.empty()) return out;
  Json j = ParseMaybe(raw);
  if (j.is_array()) {
    for (const auto& d : j) {
      RetrievedItem item;
      if (d.is_string()) {
        item.content = d.get<std::string>();
      } else if (d.is_object()) {
        for (const char* k : {"content", "text", "page_content", "document"}) {
          if (d.contains(k) && d[k].is_string()) {
            item.content = d[k].get<std::string>();
            break;
          }
        }
        for (const char* k : {"id", "source", "uri", "url"}) {
          if (d.contains(k) && d[k].is_string()) {
            item.source = d[k].get<std::string>();
            break;
          }
        }
        if (item.content.empty()) item.content = d.dump();
      }
      if (!item.content.empty()) out.push_back(std::move(item));
    }
  } else {
    out.push_back({"", raw});
  }
  return out;
}

}  // namespace

SpanFacts ReadSpan(const SpanData& s) {
  const Json& a = s.attributes;
  SpanFacts f;
  f.role = RoleOf(s);
  if (f.role == SpanRole::kTool) {
    f.tool = ToolOf(s);
  } else if (f.role == SpanRole::kRetrieval) {
    f.retrieved = RetrievedOf(s);
  } else {
    f.input = InputOf(s);
    f.output = OutputOf(s);
  }
  std::string service = Attr(s.resource, "service.name");
  if (service.rfind("unknown_service", 0) == 0) service.clear();
  // Names from telemetry are kept, made to fit (a service called "Support Bot/eu" is
  // Support_Bot_eu), never a reason to refuse the spans.
  f.agent = ToName(!service.empty() ? service : FirstAttr(a, {"gen_ai.agent.name", "agent.name"}),
                   128, "-_.:");
  f.version = FirstAttr(s.resource, {"service.version"});
  if (f.version.empty()) f.version = FirstAttr(a, {"gen_ai.agent.version", "service.version"});
  f.version = ToName(f.version, 128, "-_.:");
  f.user_id =
      FirstAttr(a, {"user.id", "enduser.id", "gen_ai.user.id", "ai.telemetry.metadata.userId",
                    "ai.telemetry.metadata.user_id", "traceloop.association.properties.user_id",
                    "traceloop.association.properties.userId", "langfuse.user.id"});
  if (f.user_id.empty()) f.user_id = FirstAttr(s.resource, {"user.id", "enduser.id"});
  f.session_id = FirstAttr(
      a, {"session.id", "gen_ai.conversation.id", "ai.telemetry.metadata.sessionId",
          "ai.telemetry.metadata.session_id", "traceloop.association.properties.session_id",
          "traceloop.association.properties.sessionId", "langfuse.session.id"});
  f.category =
      FirstAttr(a, {"firebreak.input.category", "input.category", "gen_ai.input.category",
                    "ai.telemetry.metadata.category", "ai.telemetry.metadata.inputCategory",
                    "traceloop.association.properties.category", "metadata.category"});
  f.input_tokens = IntAttr(
      a, {"gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt",
          "ai.usage.promptTokens", "ai.usage.inputTokens", "llm.usage.prompt_tokens"});
  f.output_tokens = IntAttr(a, {"gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens",
                                "llm.token_count.completion", "ai.usage.completionTokens",
                                "ai.usage.outputTokens", "llm.usage.completion_tokens"});
  if (s.status_code == kSpanStatusError) {
    f.errors.push_back(s.name + ": " + (s.status_message.empty() ? "error" : s.status_message));
  }
  // Evaluations: as span attributes, or as gen_ai.evaluation.result events.
  auto evaluation = [](const Json& attrs) -> std::optional<Evaluation> {
    Evaluation ev;
    ev.name = FirstAttr(attrs, {"gen_ai.evaluation.name"});
    ev.label = FirstAttr(attrs, {"gen_ai.evaluation.score.label", "gen_ai.evaluation.label"});
    for (const char* key : {"gen_ai.evaluation.score.value", "gen_ai.evaluation.score"}) {
      auto it = attrs.find(key);
      if (it != attrs.end() && it->is_number()) ev.score = it->get<double>();
      if (ev.score) break;
    }
    if (!ev.score && ev.label.empty()) return std::nullopt;
    return ev;
  };
  if (auto ev = evaluation(a)) f.evaluations.push_back(std::move(*ev));
  for (const auto& e : s.events) {
    if (e.value("name", "") != "gen_ai.evaluation.result") continue;
    if (auto ev = evaluation(e.contains("attributes") ? e["attributes"] : Json::object())) {
      f.evaluations.push_back(std::move(*ev));
    }
  }
  for (const auto& e : s.events) {
    if (e.value("name", "") != "exception") continue;
    const Json& ea = e.contains("attributes") ? e["attributes"] : Json::object();
    std::string type = Attr(ea, "exception.type"), msg = Attr(ea, "exception.message");
    f.errors.push_back(s.name + ": " + (type.empty() ? "" : type + ": ") + msg);
  }
  return f;
}

}  // namespace firebreak::traces
