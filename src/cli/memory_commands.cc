// CLI verbs under `firebreak memory`.
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/table.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string agent, ns, text, embedding, metadata, trace, version, from, to, reason, incident,
      confirm, filter;
  std::vector<int64_t> derived_from, record_ids;
  std::vector<std::string> trace_ids;
  int64_t id = 0;
  int k = 10;
  bool no_taint = false;
};

std::string MemoryPath(const Options& o, const std::string& suffix) {
  return "/api/v1/memory/" + Escape(o.agent) + suffix;
}

// Parses "0.1,0.2,..." or a JSON array; nullopt (with a message) when neither.
std::optional<Json> ParseVector(const std::string& text) {
  if (text.empty()) return Json(nullptr);
  Json j = Json::parse(text.front() == '[' ? text : "[" + text + "]", nullptr, false);
  if (!j.is_array()) {
    std::cerr << "error: --embedding must be numbers separated by commas, or a JSON array\n";
    return std::nullopt;
  }
  return j;
}

std::optional<Json> ParseObject(const std::string& text, const char* flag) {
  if (text.empty()) return Json::object();
  Json j = Json::parse(text, nullptr, false);
  if (!j.is_object()) {
    std::cerr << "error: " << flag << " must be a JSON object\n";
    return std::nullopt;
  }
  return j;
}

void PrintRecords(const Json& records, bool with_score) {
  std::vector<std::string> header = {"ID", "STATE", "NAMESPACE", "WRITTEN", "TRACE", "VERSION", "TEXT"};
  if (with_score) header.insert(header.begin() + 1, "SCORE");
  Table t(header);
  for (const auto& r : records) {
    std::string text = Str(r, "text");
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    std::vector<std::string> row = {Str(r, "id"), Str(r, "state"), Str(r, "namespace"),
                                    Short(Str(r, "written_at")), Str(r, "trace_id"),
                                    Str(r, "agent_version"), text};
    if (with_score) {
      std::ostringstream score;
      score.precision(4);
      score << r["score"].get<double>() << " " << Str(r, "match");
      row.insert(row.begin() + 1, score.str());
    }
    t.Add(row);
  }
  t.Print(std::cout);
}

}  // namespace

void AddMemoryCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();
  auto* memory = app.add_subcommand("memory", "agent memory: write, search, quarantine, restore, purge");
  memory->require_subcommand(1);

  auto* write = memory->add_subcommand("write", "write one memory record");
  write->add_option("agent", o->agent, "the agent")->required();
  write->add_option("text", o->text, "the text")->required();
  write->add_option("--namespace", o->ns, "namespace (default: default)");
  write->add_option("--embedding", o->embedding, "vector: 0.1,0.2,... or a JSON array");
  write->add_option("--metadata", o->metadata, "JSON object");
  write->add_option("--derived-from", o->derived_from, "ids of the records this was built from");
  write->add_option("--trace", o->trace, "the writing trace id");
  write->add_option("--agent-version", o->version, "the writing agent version");
  write->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      auto embedding = ParseVector(o->embedding);
      auto metadata = ParseObject(o->metadata, "--metadata");
      if (!embedding || !metadata) return 1;
      Json body = {{"text", o->text}, {"metadata", *metadata}, {"derived_from", o->derived_from}};
      if (!embedding->is_null()) body["embedding"] = *embedding;
      if (!o->ns.empty()) body["namespace"] = o->ns;
      if (!o->trace.empty()) body["trace_id"] = o->trace;
      if (!o->version.empty()) body["agent_version"] = o->version;
      auto res = ctx.Call("POST", MemoryPath(*o, "/records"), body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "record " << Str(*res, "id") << " written (" << Str(*res, "state") << ")\n";
      return 0;
    };
  });

  auto* search = memory->add_subcommand("search", "search by text and/or embedding");
  search->add_option("agent", o->agent, "the agent")->required();
  search->add_option("--text", o->text, "words to find");
  search->add_option("--embedding", o->embedding, "vector: 0.1,0.2,... or a JSON array");
  search->add_option("--namespace", o->ns, "namespace (default: default)");
  search->add_option("-k", o->k, "how many results")->check(CLI::Range(1, 1000));
  search->add_option("--filter", o->filter, "metadata that must match, as a JSON object");
  search->add_option("--trace", o->trace, "record the results as read by this trace");
  search->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      auto embedding = ParseVector(o->embedding);
      auto filter = ParseObject(o->filter, "--filter");
      if (!embedding || !filter) return 1;
      Json body = {{"k", o->k}, {"filter", *filter}};
      if (!embedding->is_null()) body["embedding"] = *embedding;
      if (!o->text.empty()) body["text"] = o->text;
      if (!o->ns.empty()) body["namespace"] = o->ns;
      if (!o->trace.empty()) body["trace_id"] = o->trace;
      auto res = ctx.Call("POST", MemoryPath(*o, "/search"), body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      PrintRecords((*res)["results"], true);
      return 0;
    };
  });

  auto* show = memory->add_subcommand("show", "one record with its provenance");
  show->add_option("agent", o->agent, "the agent")->required();
  show->add_option("id", o->id, "record id")->required();
  show->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      auto res = ctx.Call("GET", MemoryPath(*o, "/records/" + std::to_string(o->id)));
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      const Json& r = *res;
      std::cout << "record " << Str(r, "id") << " of " << Str(r, "agent") << " ("
                << Str(r, "namespace") << ")\n";
      for (const char* key : {"state", "written_at", "written_by", "trace_id", "agent_version",
                              "dim", "derived_from", "quarantines", "metadata", "text"}) {
        std::string k = key;
        std::cout << "  " << k << std::string(k.size() < 14 ? 14 - k.size() : 1, ' ') << Str(r, key) << "\n";
      }
      return 0;
    };
  });

  auto* quarantine = memory->add_subcommand("quarantine", "take a window of memory out of search, with its taint closure");
  quarantine->add_option("agent", o->agent, "the agent")->required();
  quarantine->add_option("--from", o->from, "written at or after (RFC 3339)");
  quarantine->add_option("--to", o->to, "written before (RFC 3339)");
  quarantine->add_option("--version", o->version, "written by this agent version");
  quarantine->add_option("--trace", o->trace_ids, "written by these traces");
  quarantine->add_option("--record", o->record_ids, "these record ids");
  quarantine->add_option("--namespace", o->ns, "only this namespace");
  quarantine->add_flag("--no-taint", o->no_taint, "do not follow derivations and reads");
  quarantine->add_option("--reason", o->reason, "why")->required();
  quarantine->add_option("--incident", o->incident, "put it on this incident's timeline");
  quarantine->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      Json body = {{"reason", o->reason}, {"taint", !o->no_taint}};
      if (!o->from.empty()) body["from"] = o->from;
      if (!o->to.empty()) body["to"] = o->to;
      if (!o->version.empty()) body["version"] = o->version;
      if (!o->trace_ids.empty()) body["trace_ids"] = o->trace_ids;
      if (!o->record_ids.empty()) body["record_ids"] = o->record_ids;
      if (!o->ns.empty()) body["namespace"] = o->ns;
      if (!o->incident.empty()) body["incident"] = o->incident;
      auto res = ctx.Call("POST", MemoryPath(*o, "/quarantine"), body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "quarantine " << Str(*res, "quarantine_id") << ": " << Str(*res, "direct")
                << " records directly, " << Str(*res, "tainted") << " by taint\n";
      return 0;
    };
  });

  auto* quarantines = memory->add_subcommand("quarantines", "list an agent's quarantines");
  quarantines->add_option("agent", o->agent, "the agent")->required();
  quarantines->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      auto res = ctx.Call("GET", MemoryPath(*o, "/quarantines"));
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      Table t({"ID", "CREATED", "BY", "DIRECT", "TAINTED", "INCIDENT", "RESTORED", "REASON"});
      for (const auto& q : (*res)["quarantines"]) {
        t.Add({Str(q, "id"), Short(Str(q, "created_at")), Str(q, "created_by"), Str(q, "direct"),
               Str(q, "tainted"), Str(q, "incident"), Short(Str(q, "restored_at")), Str(q, "reason")});
      }
      t.Print(std::cout);
      return 0;
    };
  });

  auto* restore = memory->add_subcommand("restore", "undo a quarantine");
  restore->add_option("agent", o->agent, "the agent")->required();
  restore->add_option("quarantine", o->id, "quarantine id")->required();
  restore->add_option("--reason", o->reason, "why");
  restore->add_option("--incident", o->incident, "put it on this incident's timeline");
  restore->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      Json body = {{"quarantine_id", o->id}};
      if (!o->reason.empty()) body["reason"] = o->reason;
      if (!o->incident.empty()) body["incident"] = o->incident;
      auto res = ctx.Call("POST", MemoryPath(*o, "/restore"), body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "quarantine " << o->id << " restored: " << Str(*res, "restored") << " records back\n";
      return 0;
    };
  });

  auto* purge = memory->add_subcommand("purge", "delete records for good (a quarantine's, or by id)");
  purge->add_option("agent", o->agent, "the agent")->required();
  purge->add_option("--quarantine", o->id, "purge the records this quarantine holds");
  purge->add_option("--record", o->record_ids, "purge these record ids");
  purge->add_option("--reason", o->reason, "why");
  purge->add_option("--incident", o->incident, "put it on this incident's timeline");
  purge->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      Json body = {{"record_ids", o->record_ids}};
      if (o->id > 0) body["quarantine_id"] = o->id;
      if (!o->reason.empty()) body["reason"] = o->reason;
      if (!o->incident.empty()) body["incident"] = o->incident;
      auto res = ctx.Call("POST", MemoryPath(*o, "/purge"), body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << Str(*res, "purged") << " records purged\n";
      return 0;
    };
  });

  auto* wipe = memory->add_subcommand("wipe", "delete all memory of an agent for good (admin)");
  wipe->add_option("agent", o->agent, "the agent")->required();
  wipe->add_option("--confirm", o->confirm, "the agent's name again")->required();
  wipe->add_option("--reason", o->reason, "why");
  wipe->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      Json body = {{"confirm", o->confirm}};
      if (!o->reason.empty()) body["reason"] = o->reason;
      auto res = ctx.Call("POST", MemoryPath(*o, "/wipe"), body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "memory of " << o->agent << " wiped: " << Str(*res, "purged") << " records purged\n";
      return 0;
    };
  });
}

}  // namespace firebreak::cli
