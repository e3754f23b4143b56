#include "traces/conventions.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>

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

// Returns a JSON value as text: strings as they are, null as "", anything else serialised
// (GenAI parts carry tool arguments as objects, OpenAI as JSON text).
std::string ValueText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Returns the first string among `keys` of an object ("" when none).
std::string StringField(const Json& j, std::initializer_list<const char*> keys) {
  if (!j.is_object()) return "";
  for (const char* k : keys) {
    auto it = j.find(k);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
  }
  return "";
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
        if (type != "text" && type != "output_text" && type != "input_text") continue;
        piece = StringField(part, {"content", "text"});
      }
      if (piece.empty()) continue;
      if (!out.empty()) out += "\n";
      out += piece;
    }
  }
  return out;
}

// A chat message, whatever convention wrote it.
struct Message {
  std::string role;  // user, assistant, system, tool
  std::string text;
  std::vector<ToolCall> calls;     // tool calls the message asks for
  std::vector<ToolReply> replies;  // tool results it carries
};

// LangChain names roles by message class or type; the others by role.
std::string RoleName(const std::string& raw) {
  std::string r = raw;
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return std::tolower(c); });
  if (r == "human" || r.rfind("humanmessage", 0) == 0) return "user";
  if (r == "ai" || r.rfind("aimessage", 0) == 0) return "assistant";
  if (r.rfind("systemmessage", 0) == 0) return "system";
  if (r == "function" || r.rfind("toolmessage", 0) == 0 || r.rfind("functionmessage", 0) == 0) {
    return "tool";
  }
  return r;
}

// Returns a tool call in any of the shapes models' outputs use: GenAI part {type: tool_call, id,
// name, arguments}, OpenAI {id, function: {name, arguments}}, LangChain {name, args, id},
// Vercel {toolCallId, toolName, args|input}, Anthropic {type: tool_use, id, name, input}.
std::optional<ToolCall> CallOf(const Json& c) {
  if (!c.is_object()) return std::nullopt;
  ToolCall call;
  const Json* fn = c.contains("function") && c["function"].is_object() ? &c["function"] : &c;
  call.name = StringField(*fn, {"name", "toolName"});
  for (const char* k : {"arguments", "args", "input"}) {
    if (auto it = fn->find(k); it != fn->end() && !it->is_null()) {
      call.arguments = ValueText(*it);
      break;
    }
  }
  call.call_id = StringField(c, {"id", "toolCallId", "tool_call_id"});
  if (call.name.empty()) return std::nullopt;
  return call;
}

// Returns a tool result part: GenAI {type: tool_call_response, id, response}, Vercel
// {type: tool-result, toolCallId, toolName, result|output}, Anthropic {type: tool_result,
// tool_use_id, content}; nullopt for other parts.
std::optional<ToolReply> ReplyPartOf(const Json& part) {
  if (!part.is_object()) return std::nullopt;
  std::string type = part.value("type", "");
  ToolReply r;
  if (type == "tool_call_response") {
    r.call_id = StringField(part, {"id"});
    r.content = ValueText(part.value("response", Json()));
  } else if (type == "tool-result") {
    r.call_id = StringField(part, {"toolCallId"});
    r.name = StringField(part, {"toolName"});
    Json v = part.contains("result") ? part["result"] : part.value("output", Json());
    // AI SDK 5 wraps outputs as {type: "text" | "json", value}.
    if (v.is_object() && v.contains("value") && v.contains("type")) v = v["value"];
    r.content = ValueText(v);
  } else if (type == "tool_result") {
    r.call_id = StringField(part, {"tool_use_id"});
    r.content = ContentText(part.value("content", Json()));
  } else {
    return std::nullopt;
  }
  return r;
}

bool IsCallPart(const Json& part) {
  std::string type = part.is_object() ? part.value("type", "") : "";
  return type == "tool_call" || type == "tool-call" || type == "tool_use" || type == "function_call";
}

// A LangChain message tuple: ["user", "text"].
bool IsTuple(const Json& m) {
  return m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string();
}

// Reads one message of a JSON messages array: {role, parts} (GenAI), {role, content,
// tool_calls, tool_call_id} (OpenAI), a LangChain message ({type, content, tool_calls}, or
// serialised {lc, id: [..., "AIMessage"], kwargs}), or a LangChain tuple ["user", "text"].
Message MessageOf(const Json& m) {
  Message msg;
  if (IsTuple(m)) {
    msg.role = RoleName(m[0].get<std::string>());
    msg.text = m[1].get<std::string>();
    return msg;
  }
  if (!m.is_object()) return msg;
  const Json* body = &m;
  if (m.contains("lc") && m.contains("kwargs") && m["kwargs"].is_object()) {
    if (m.contains("id") && m["id"].is_array() && !m["id"].empty() && m["id"].back().is_string()) {
      msg.role = RoleName(m["id"].back().get<std::string>());
    }
    body = &m["kwargs"];
  }
  if (std::string role = StringField(*body, {"role", "type"}); !role.empty() && msg.role.empty()) {
    msg.role = RoleName(role);
  }
  const Json content = body->contains("parts") ? (*body)["parts"] : body->value("content", Json());
  msg.text = ContentText(content);
  if (content.is_array()) {
    for (const auto& part : content) {
      if (IsCallPart(part)) {
        if (auto c = CallOf(part)) msg.calls.push_back(std::move(*c));
      } else if (auto r = ReplyPartOf(part)) {
        msg.replies.push_back(std::move(*r));
      }
    }
  }
  if (auto it = body->find("tool_calls"); it != body->end() && it->is_array()) {
    for (const auto& c : *it) {
      if (auto call = CallOf(c)) msg.calls.push_back(std::move(*call));
    }
  }
  if (msg.role == "tool" && msg.replies.empty()) {
    msg.replies.push_back({StringField(*body, {"tool_call_id", "toolCallId"}),
                           StringField(*body, {"name"}), msg.text});
  }
  return msg;
}

// Reads a messages array; a LangChain batch ([[messages of one call], ...]) is read as its
// first list, as the model got it.
std::vector<Message> MessagesOf(const Json& messages) {
  std::vector<Message> out;
  if (!messages.is_array()) return out;
  if (!messages.empty() && messages[0].is_array() && !IsTuple(messages[0])) {
    return MessagesOf(messages[0]);
  }
  for (const auto& m : messages) out.push_back(MessageOf(m));
  return out;
}

// Returns the text of the last message with `role` that has text ("" when none).
std::string LastText(const std::vector<Message>& messages, const std::string& role) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->role == role && !it->text.empty()) return it->text;
  }
  return "";
}

// Returns what a model produced: its last assistant (or role-less) message with text.
std::string AnswerText(const std::vector<Message>& messages) {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if ((it->role == "assistant" || it->role.empty()) && !it->text.empty()) return it->text;
  }
  return "";
}

using Fields = std::map<std::string, std::string>;

// Returns {N: {rest: value}} for the keys `prefix.N.rest` of `fields` (prefix "" : "N.rest").
std::map<int, Fields> SplitIndexed(const Fields& fields, const std::string& prefix) {
  std::map<int, Fields> out;
  const std::string head = prefix.empty() ? "" : prefix + ".";
  for (auto it = fields.lower_bound(head); it != fields.end(); ++it) {
    const std::string& key = it->first;
    if (key.compare(0, head.size(), head) != 0) break;
    std::string rest = key.substr(head.size());
    size_t dot = rest.find('.');
    // An index is 1..6 digits; anything else is another attribute that shares the prefix.
    if (dot == 0 || dot == std::string::npos || dot > 6 ||
        !std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(dot),
                     [](unsigned char c) { return std::isdigit(c); })) {
      continue;
    }
    out[std::stoi(rest.substr(0, dot))][rest.substr(dot + 1)] = it->second;
  }
  return out;
}

// Returns the attributes under `prefix.` as {rest: text}.
Fields AttrFields(const Json& attrs, const std::string& prefix) {
  Fields out;
  if (!attrs.is_object()) return out;
  const std::string head = prefix + ".";
  // Attributes are a sorted map: the keys under the prefix are one range.
  const auto& map = attrs.get_ref<const Json::object_t&>();
  for (auto it = map.lower_bound(head); it != map.end(); ++it) {
    if (it->first.compare(0, head.size(), head) != 0) break;
    out[it->first.substr(head.size())] = it->second.is_string() ? it->second.get<std::string>()
                                                                : it->second.dump();
  }
  return out;
}

std::string Field(const Fields& f, const std::string& key) {
  auto it = f.find(key);
  return it == f.end() ? "" : it->second;
}

// Reads OpenInference's flattened messages (llm.input_messages / llm.output_messages):
// message.role, message.content or message.contents.K.message_content.{type,text},
// message.tool_calls.M.tool_call.{id,function.name,function.arguments}, message.tool_call_id,
// and the older message.function_call_name / _arguments_json.
std::vector<Message> OpenInferenceMessages(const Json& attrs, const std::string& prefix) {
  std::vector<Message> out;
  for (const auto& [n, f] : SplitIndexed(AttrFields(attrs, prefix), "")) {
    Message m;
    m.role = RoleName(Field(f, "message.role"));
    m.text = Field(f, "message.content");
    if (m.text.empty()) {
      for (const auto& [k, part] : SplitIndexed(f, "message.contents")) {
        std::string type = Field(part, "message_content.type");
        std::string text = Field(part, "message_content.text");
        if ((type.empty() || type == "text") && !text.empty()) m.text += (m.text.empty() ? "" : "\n") + text;
      }
    }
    for (const auto& [k, c] : SplitIndexed(f, "message.tool_calls")) {
      ToolCall call{Field(c, "tool_call.function.name"), Field(c, "tool_call.id"),
                    Field(c, "tool_call.function.arguments")};
      if (!call.name.empty()) m.calls.push_back(std::move(call));
    }
    if (std::string fn = Field(f, "message.function_call_name"); !fn.empty() && m.role != "tool") {
      m.calls.push_back({fn, "", Field(f, "message.function_call_arguments_json")});
    }
    if (m.role == "tool") {
      m.replies.push_back({Field(f, "message.tool_call_id"), Field(f, "message.name"), m.text});
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Reads the deprecated GenAI / OpenLLMetry flattened messages (gen_ai.prompt.N /
// gen_ai.completion.N): role, content, tool_calls.M.{id,name,arguments}, tool_call_id,
// function_call.{name,arguments}.
std::vector<Message> IndexedGenAiMessages(const Json& attrs, const std::string& prefix) {
  std::vector<Message> out;
  for (const auto& [n, f] : SplitIndexed(AttrFields(attrs, prefix), "")) {
    Message m;
    m.role = RoleName(Field(f, "role"));
    m.text = Field(f, "content");
    for (const auto& [k, c] : SplitIndexed(f, "tool_calls")) {
      ToolCall call{Field(c, "name"), Field(c, "id"), Field(c, "arguments")};
      if (!call.name.empty()) m.calls.push_back(std::move(call));
    }
    if (std::string fn = Field(f, "function_call.name"); !fn.empty()) {
      m.calls.push_back({fn, "", Field(f, "function_call.arguments")});
    }
    if (m.role == "tool") m.replies.push_back({Field(f, "tool_call_id"), Field(f, "name"), m.text});
    out.push_back(std::move(m));
  }
  return out;
}

// Returns the messages of a JSON attribute holding a messages array; nullopt when absent or
// not an array.
std::optional<std::vector<Message>> JsonMessages(const Json& attrs, const char* key) {
  std::string v = Attr(attrs, key);
  if (v.empty()) return std::nullopt;
  Json j = ParseMaybe(v);
  if (!j.is_array()) return std::nullopt;
  return MessagesOf(j);
}

// The messages a model was sent, by the first convention the span uses; nullopt for none.
std::optional<std::vector<Message>> InputMessages(const Json& a) {
  if (auto m = JsonMessages(a, "gen_ai.input.messages")) return m;
  if (auto m = IndexedGenAiMessages(a, "gen_ai.prompt"); !m.empty()) return m;
  if (auto m = OpenInferenceMessages(a, "llm.input_messages"); !m.empty()) return m;
  return JsonMessages(a, "ai.prompt.messages");
}

// The messages a model answered with, by the first convention the span uses; nullopt for none.
std::optional<std::vector<Message>> OutputMessages(const Json& a) {
  if (auto m = JsonMessages(a, "gen_ai.output.messages")) return m;
  if (auto m = IndexedGenAiMessages(a, "gen_ai.completion"); !m.empty()) return m;
  if (auto m = OpenInferenceMessages(a, "llm.output_messages"); !m.empty()) return m;
  // The Vercel AI SDK keeps a model call's text and tool calls apart.
  std::string calls = Attr(a, "ai.response.toolCalls");
  if (calls.empty()) return std::nullopt;
  Message m;
  m.role = "assistant";
  m.text = Attr(a, "ai.response.text");
  Json list = ParseMaybe(calls);
  if (list.is_array()) {
    for (const auto& c : list) {
      if (auto call = CallOf(c)) m.calls.push_back(std::move(*call));
    }
  }
  return std::vector<Message>{std::move(m)};
}

// OpenLLMetry's workflow, task and tool spans record their function's arguments as
// {"args": [...], "kwargs": {...}}. Returns what they mean: a single string argument is the
// text; otherwise the kwargs object, or the args when kwargs is empty, as JSON. Anything else
// is returned as it is.
std::string UnwrapEntityInput(const std::string& raw) {
  Json j = ParseMaybe(raw);
  if (!j.is_object() || j.size() != 2 || !j.contains("args") || !j["args"].is_array() ||
      !j.contains("kwargs") || !j["kwargs"].is_object()) {
    return raw;
  }
  const Json& args = j["args"];
  const Json& kwargs = j["kwargs"];
  if (kwargs.empty() && args.size() == 1 && args[0].is_string()) return args[0].get<std::string>();
  if (!kwargs.empty() || args.empty()) return kwargs.dump();
  return args.dump();
}

// Extracts the user's text from a value that may be a plain string, a messages array, or an
// object with prompt / messages / input / query / question.
std::string UserText(const std::string& raw) {
  Json j = ParseMaybe(raw);
  if (j.is_null()) return raw;
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::string m = LastText(MessagesOf(j), "user");
    return m.empty() ? raw : m;
  }
  if (j.is_object()) {
    for (const char* k : {"prompt", "input", "query", "question", "message", "text"}) {
      if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
    }
    if (j.contains("messages")) {
      std::string m = LastText(MessagesOf(j["messages"]), "user");
      if (!m.empty()) return m;
    }
    if (j.contains("inputs") && j["inputs"].is_object()) return UserText(j["inputs"].dump());
  }
  return raw;
}

// Extracts produced text from a value that may be a plain string, a messages array, an object
// with text / output / content / outputs, a LangGraph state {messages}, an OpenAI completion
// {choices} or a LangChain LLMResult {generations}. A provider's response document is never
// returned whole: ids, timestamps and usage are not what the model said.
std::string OutputText(const std::string& raw) {
  Json j = ParseMaybe(raw);
  if (j.is_null()) return raw;
  if (j.is_string()) return j.get<std::string>();
  if (j.is_array()) {
    std::string m = AnswerText(MessagesOf(j));
    return m.empty() ? raw : m;
  }
  if (j.is_object()) {
    for (const char* k : {"text", "output", "content", "response", "answer", "result"}) {
      if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
    }
    if (j.contains("messages") && j["messages"].is_array()) return AnswerText(MessagesOf(j["messages"]));
    if (auto it = j.find("choices"); it != j.end() && it->is_array()) {
      std::vector<Message> choices;
      for (const auto& c : *it) {
        if (!c.is_object()) continue;
        if (c.contains("message")) choices.push_back(MessageOf(c["message"]));
        else choices.push_back({"assistant", StringField(c, {"text"}), {}, {}});
      }
      return AnswerText(choices);
    }
    if (auto it = j.find("generations"); it != j.end() && it->is_array()) {
      std::vector<Message> gens;
      for (const auto& batch : *it) {
        for (const auto& g : batch.is_array() ? batch : Json::array()) {
          if (!g.is_object()) continue;
          Message m = g.contains("message") ? MessageOf(g["message"]) : Message{};
          if (m.text.empty()) m.text = StringField(g, {"text"});
          gens.push_back(std::move(m));
        }
      }
      return AnswerText(gens);
    }
    if (j.contains("outputs") && j["outputs"].is_object()) return OutputText(j["outputs"].dump());
  }
  return raw;
}

// Returns a tool's result as text: a JSON string literal is its text (OpenLLMetry serialises
// results with JSON.stringify), a LangChain ToolMessage is its content (its call id goes to
// `call_id` when that is empty); anything else as it is.
std::string ResultText(const std::string& raw, std::string& call_id) {
  Json j = ParseMaybe(raw);
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.value("type", "") == "tool" && j.contains("content") &&
      j.contains("tool_call_id")) {
    if (call_id.empty()) call_id = StringField(j, {"tool_call_id"});
    return ContentText(j["content"]);
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

std::string InputOf(const SpanData& s, const std::optional<std::vector<Message>>& messages) {
  const Json& a = s.attributes;
  if (messages) {
    if (std::string m = LastText(*messages, "user"); !m.empty()) return m;
  }
  for (const char* k : {"input.value", "ai.prompt", "traceloop.entity.input", "gen_ai.prompt",
                        "gen_ai.user.message"}) {
    std::string v = Attr(a, k);
    if (v.empty()) continue;
    return UserText(std::string(k) == "traceloop.entity.input" ? UnwrapEntityInput(v) : v);
  }
  return EventText(s.events, "gen_ai.user.message", {"content"}, /*last=*/true);
}

std::string OutputOf(const SpanData& s, const std::optional<std::vector<Message>>& messages) {
  // A model turn that only asks for tools says nothing: its response document (output.value)
  // is not its text.
  if (messages) return AnswerText(*messages);
  const Json& a = s.attributes;
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
  // OpenInference's tool.parameters is the tool's JSON schema, not the call's arguments.
  t.arguments = FirstAttr(a, {"gen_ai.tool.call.arguments", "tool.arguments", "ai.toolCall.args",
                              "ai.toolCall.input", "input.value"});
  if (t.arguments.empty()) t.arguments = UnwrapEntityInput(Attr(a, "traceloop.entity.input"));
  t.result = ResultText(FirstAttr(a, {"gen_ai.tool.call.result", "tool.result", "ai.toolCall.result",
                                      "ai.toolCall.output", "output.value", "traceloop.entity.output"}),
                        t.call_id);
  t.approved_by = FirstAttr(a, {"firebreak.tool.approved_by", "gen_ai.tool.approved_by",
                               "tool.approved_by"});
  if (s.status_code == kSpanStatusError) {
    t.error = s.status_message.empty() ? "error" : s.status_message;
  } else if (std::string e = Attr(a, "error.type"); !e.empty()) {
    t.error = e;
  }
  return t;
}

// Returns the tool results in a model's input; those that end it answer the previous turn.
std::vector<ToolReply> RepliesOf(const std::vector<Message>& input) {
  std::vector<ToolReply> out;
  size_t tail = input.size();
  while (tail > 0 && !input[tail - 1].replies.empty()) --tail;
  for (size_t i = 0; i < input.size(); ++i) {
    for (ToolReply r : input[i].replies) {
      r.ends_input = i >= tail;
      out.push_back(std::move(r));
    }
  }
  return out;
}

std::vector<RetrievedItem> RetrievedOf(const SpanData& s) {
  std::vector<RetrievedItem> out;
  for (const auto& [n, fields] : SplitIndexed(AttrFields(s.attributes, "retrieval.documents"), "")) {
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
    auto input = InputMessages(a);
    auto output = OutputMessages(a);
    f.input = InputOf(s, input);
    f.output = OutputOf(s, output);
    // What a model asked for and was told is read from model calls only: an agent span's
    // messages repeat them.
    if (f.role == SpanRole::kLlm) {
      if (output) {
        for (auto& m : *output) {
          for (auto& c : m.calls) f.requested_tools.push_back(std::move(c));
        }
      }
      if (input) f.tool_replies = RepliesOf(*input);
    }
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
