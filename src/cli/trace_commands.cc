// CLI verbs under `firebreak trace`: ingest, list, show, similar, flag, erase-user.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/clock.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string file, hash, text, agent, version, user, session, category, flag, tool, q, from, to;
  std::string reason, incident, cursor;
  std::vector<std::string> hashes;
  bool raw = false;
  int limit = 50;
  int k = 10;
};

void PrintBlock(const std::string& text, const std::string& indent = "  ") {
  std::istringstream in(text);
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    std::cout << indent << line << "\n";
    any = true;
  }
  if (!any) std::cout << indent << "-\n";
}

void PrintTrace(const Json& t) {
  auto field = [](const std::string& name, const std::string& value) {
    std::cout << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ')
              << (value.empty() ? "-" : value) << "\n";
  };
  std::cout << "trace " << Str(t, "hash") << "\n";
  field("agent", Str(t, "agent") + (Str(t, "version").empty() ? "" : " " + Str(t, "version")));
  field("user", Str(t, "user_id"));
  field("session", Str(t, "session_id"));
  field("category", Str(t, "category"));
  field("started", Short(Str(t, "started_at")));
  if (t.contains("duration_ms") && t["duration_ms"].is_number_integer()) {
    field("duration", FormatDuration(t["duration_ms"].get<int64_t>()));
  }
  field("spans", Str(t, "span_count"));
  if (t.contains("tokens")) {
    field("tokens", Str(t["tokens"], "input") + " in / " + Str(t["tokens"], "output") + " out");
  }
  field("flag", Str(t, "flag"));
  field("trace id", Str(t, "trace_id"));

  std::cout << "\nUser input\n";
  PrintBlock(Str(t, "input"));
  const Json& retrieved = t.contains("retrieved") ? t["retrieved"] : Json::array();
  std::cout << "\nRetrieved content (" << retrieved.size() << ")\n";
  for (const auto& r : retrieved) {
    std::string source = Str(r, "source");
    std::cout << "  - " << (source.empty() || source == "-" ? "" : "[" + source + "] ");
    std::string content = Str(r, "content");
    std::cout << content.substr(0, content.find('\n')) << "\n";
  }
  const Json& tools = t.contains("tool_calls") ? t["tool_calls"] : Json::array();
  std::cout << "\nTool calls (" << tools.size() << ")\n";
  int n = 0;
  for (const auto& c : tools) {
    std::string id = Str(c, "call_id");
    std::cout << "  " << ++n << ". " << Str(c, "name")
              << (id.empty() || id == "-" ? "" : "  (" + id + ")") << "\n";
    std::cout << "     arguments: " << Str(c, "arguments") << "\n";
    std::cout << "     result:    " << Str(c, "result") << "\n";
    std::string error = Str(c, "error");
    if (!error.empty() && error != "-") std::cout << "     error:     " << error << "\n";
  }
  const Json& state = t.contains("state") ? t["state"] : Json::array();
  std::cout << "\nAgent internal state (" << state.size() << ")\n";
  for (const auto& s : state) {
    std::cout << "  -\n";
    PrintBlock(s.is_string() ? s.get<std::string>() : s.dump(), "    ");
  }
  std::cout << "\nFinal response\n";
  PrintBlock(Str(t, "output"));
  const Json& errors = t.contains("errors") ? t["errors"] : Json::array();
  if (!errors.empty()) {
    std::cout << "\nErrors (" << errors.size() << ")\n";
    for (const auto& e : errors)
      std::cout << "  - " << (e.is_string() ? e.get<std::string>() : e.dump()) << "\n";
  }
}

void PrintRows(const Json& rows, bool with_score) {
  std::vector<std::string> header = {"HASH", "STARTED", "AGENT", "VERSION",
                                     "USER", "FLAG",    "TOOLS", "INPUT"};
  if (with_score) header.insert(header.begin() + 1, "SCORE");
  Table table(header);
  for (const auto& r : rows) {
    std::string tools;
    for (const auto& t : r.value("tools", Json::array()))
      tools += (tools.empty() ? "" : ",") + t.get<std::string>();
    std::string input = Str(r, "input");
    if (input.size() > 60) input = input.substr(0, 57) + "...";
    for (char& c : input) {
      if (c == '\n' || c == '\t') c = ' ';
    }
    std::vector<std::string> row = {Str(r, "hash").substr(0, 12),
                                    Short(Str(r, "started_at")),
                                    Str(r, "agent"),
                                    Str(r, "version"),
                                    Str(r, "user_id"),
                                    Str(r, "flag"),
                                    tools.empty() ? "-" : tools,
                                    input};
    if (with_score) {
      char buf[16];
      std::snprintf(buf, sizeof(buf), "%.3f", r.value("score", 0.0));
      row.insert(row.begin() + 1, buf);
    }
    table.Add(row);
  }
  table.Print(std::cout);
}

int Ingest(Context& ctx, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::cerr << "error: cannot read " << file << "\n";
    return 1;
  }
  std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t first = body.find_first_not_of(" \t\r\n");
  std::optional<Json> res;
  bool otlp = true;
  if (first != std::string::npos && body[first] == '{') {
    Json j = Json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      std::cerr << "error: " << file << " is not valid JSON\n";
      return 1;
    }
    if (j.contains("resourceSpans") || j.contains("resource_spans")) {
      res = ctx.CallRaw("POST", "/v1/traces", "application/json", body);
    } else if (j.contains("traces")) {
      otlp = false;
      res = ctx.CallRaw("POST", "/api/v1/traces", "application/json", body);
    } else {
      std::cerr << "error: " << file
                << " is neither OTLP JSON (resourceSpans) nor a native batch (traces)\n";
      return 1;
    }
  } else {
    res = ctx.CallRaw("POST", "/v1/traces", "application/x-protobuf", body);
  }
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(res->is_null() ? Json::object() : *res);
  if (!otlp) {
    for (const auto& h : (*res)["hashes"]) std::cout << h.get<std::string>() << "\n";
    return 0;
  }
  if (res->is_object() && res->contains("partialSuccess")) {
    const Json& p = (*res)["partialSuccess"];
    std::cout << "ingested; rejected " << Str(p, "rejectedSpans")
              << " span(s): " << Str(p, "errorMessage") << "\n";
  } else {
    std::cout << "ingested\n";
  }
  return 0;
}

}  // namespace

void AddTraceCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();
  auto* trace = app.add_subcommand("trace", "ingest, find and read agent traces");
  trace->require_subcommand(1);

  auto* ingest =
      trace->add_subcommand("ingest", "send a file: OTLP JSON or protobuf, or a native JSON batch");
  ingest->add_option("file", o->file, "the file")->required();
  ingest->callback([&ctx, &action, o] { action = [&ctx, o] { return Ingest(ctx, o->file); }; });

  auto* list = trace->add_subcommand("list", "list traces, newest first");
  list->add_option("--agent", o->agent, "only this agent");
  list->add_option("--version", o->version, "only this agent version");
  list->add_option("--user", o->user, "only this user id");
  list->add_option("--session", o->session, "only this session id");
  list->add_option("--category", o->category, "only this input category");
  list->add_option("--flag", o->flag, "toxic, suspect or clean");
  list->add_option("--tool", o->tool, "only traces that called this tool");
  list->add_option("-q,--query", o->q, "words that must all appear");
  list->add_option("--from", o->from, "started at or after (RFC 3339)");
  list->add_option("--to", o->to, "started before (RFC 3339)");
  list->add_option("--cursor", o->cursor, "next_cursor of the previous page");
  list->add_option("--limit", o->limit, "at most this many")->check(CLI::Range(1, 1000));
  list->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      std::string path = "/api/v1/traces?limit=" + std::to_string(o->limit);
      for (auto [key, value] : {std::pair{"agent", &o->agent},
                                {"version", &o->version},
                                {"user", &o->user},
                                {"session", &o->session},
                                {"category", &o->category},
                                {"flag", &o->flag},
                                {"tool", &o->tool},
                                {"q", &o->q},
                                {"from", &o->from},
                                {"to", &o->to},
                                {"cursor", &o->cursor}}) {
        if (!value->empty()) path += std::string("&") + key + "=" + Escape(*value);
      }
      auto res = ctx.Call("GET", path);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      PrintRows((*res)["traces"], false);
      if (res->contains("next_cursor"))
        std::cout << "more: --cursor " << Str(*res, "next_cursor") << "\n";
      return 0;
    };
  });

  auto* show = trace->add_subcommand(
      "show", "a trace's five parts (input, retrieved, tools, state, response)");
  show->add_option("hash", o->hash, "hash or unique prefix (>= 8 hex)")->required();
  show->add_flag("--raw", o->raw, "also print the raw spans");
  show->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      auto res = ctx.Call("GET", "/api/v1/traces/" + Escape(o->hash) + (o->raw ? "?raw=1" : ""));
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      PrintTrace(*res);
      if (o->raw) {
        std::cout << "\nRaw spans\n" << (*res)["spans"].dump(2) << "\n";
      }
      return 0;
    };
  });

  auto* similar =
      trace->add_subcommand("similar", "the stored traces most similar to a trace (or --text)");
  similar->add_option("hash", o->hash, "hash or unique prefix");
  similar->add_option("--text", o->text, "compare with this text instead of a trace");
  similar->add_option("-k", o->k, "how many")->check(CLI::Range(1, 100));
  similar->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      if (o->hash.empty() == o->text.empty()) {
        std::cerr << "error: give a trace hash or --text, not both\n";
        return 1;
      }
      std::string path =
          o->text.empty()
              ? "/api/v1/traces/" + Escape(o->hash) + "/similar?k=" + std::to_string(o->k)
              : "/api/v1/traces/similar?k=" + std::to_string(o->k) + "&q=" + Escape(o->text);
      auto res = ctx.Call("GET", path);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      PrintRows((*res)["results"], true);
      return 0;
    };
  });

  auto* flag = trace->add_subcommand("flag", "flag traces toxic, suspect or clean (never deletes)");
  flag->add_option("flag", o->flag, "toxic, suspect or clean")->required();
  flag->add_option("--hash", o->hashes, "a trace hash or prefix (repeatable)");
  flag->add_option("--agent", o->agent, "window: agent");
  flag->add_option("--version", o->version, "window: agent version");
  flag->add_option("--from", o->from, "window: started at or after (RFC 3339)");
  flag->add_option("--to", o->to, "window: started before (RFC 3339)");
  flag->add_option("--reason", o->reason, "why")->required();
  flag->add_option("--incident", o->incident, "put it on this incident's timeline (INC-42)");
  flag->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      Json body = {{"flag", o->flag}, {"reason", o->reason}};
      if (!o->hashes.empty()) body["hashes"] = o->hashes;
      for (auto [key, value] : {std::pair{"agent", &o->agent},
                                {"version", &o->version},
                                {"from", &o->from},
                                {"to", &o->to},
                                {"incident", &o->incident}}) {
        if (!value->empty()) body[key] = *value;
      }
      auto res = ctx.Call("POST", "/api/v1/traces/flags", body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "flagged " << Str(*res, "flagged") << " trace(s) " << o->flag << "\n";
      return 0;
    };
  });

  auto* erase = trace->add_subcommand(
      "erase-user", "delete every trace of one user (privacy request; admin, audited)");
  erase->add_option("user", o->user, "the user id")->required();
  erase->add_option("--reason", o->reason, "the request's reference")->required();
  erase->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      auto res = ctx.Call("POST", "/api/v1/admin/erasure",
                          Json{{"user_id", o->user}, {"reason", o->reason}});
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "erased " << Str(*res, "traces_erased") << " trace(s) of that user\n";
      return 0;
    };
  });
}

}  // namespace firebreak::cli
