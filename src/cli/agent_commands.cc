// CLI verbs under `firebreak agent`: versions, deploy, promote, rollback, kill switch, runtime.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/table.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string agent, version, manifest_path, to, reason, incident;
  bool force = false;
  bool skip_gate = false;
  bool watch = false;
};

std::string OrDash(const Json& j, const char* key) {
  std::string s = Str(j, key);
  return s.empty() ? "-" : s;
}

// Prints the runtime state in one line: what the agent runs now.
void PrintRuntime(const Json& rt) {
  std::cout << Str(rt, "agent") << ": " << (rt.value("enabled", true) ? "enabled" : "KILLED")
            << ", running " << OrDash(rt, "version") << " (stable " << OrDash(rt, "stable_version")
            << "), revision " << rt.value("revision", 0) << "\n";
}

// Prints the outcome of a pointer change.
int ChangeResult(Context& ctx, const std::optional<Json>& res, const std::string& verb) {
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(*res);
  if (!res->value("changed", false))
    std::cout << "nothing to do: ";
  else
    std::cout << verb << ": ";
  if (res->contains("pulled")) std::cout << "pulled " << Str(*res, "pulled") << "; ";
  if (res->contains("gate_skipped")) {
    std::cout << "promotion gate skipped (" << Str(*res, "gate_skipped") << "); ";
  }
  PrintRuntime((*res)["runtime"]);
  return 0;
}

Json ChangeBody(const Options& o) {
  Json body = Json::object();
  if (!o.reason.empty()) body["reason"] = o.reason;
  if (!o.incident.empty()) body["incident"] = o.incident;
  if (o.force) body["force"] = true;
  if (o.skip_gate) body["skip_gate"] = true;
  return body;
}

}  // namespace

void AddAgentCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();  // kept alive by the callbacks below
  auto* agent = app.add_subcommand("agent", "agent versions, rollback, kill switch, runtime");
  agent->require_subcommand(1);
  auto path_of = [o](const std::string& suffix) {
    return "/api/v1/agents/" + Escape(o->agent) + suffix;
  };
  auto change_options = [o](CLI::App* cmd) {
    cmd->add_option("--reason", o->reason, "why (shown in the history and on the timeline)");
    cmd->add_option("--incident", o->incident,
                    "INC-42: put this change on the incident's timeline");
  };

  auto* reg = agent->add_subcommand("register", "register a new version (creates the agent)");
  reg->add_option("agent", o->agent, "agent name")->required();
  reg->add_option("--version", o->version, "version name, e.g. v2")->required();
  reg->add_option("--manifest", o->manifest_path, "JSON manifest file ('-': stdin)")->required();
  reg->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      std::stringstream text;
      if (o->manifest_path == "-") {
        text << std::cin.rdbuf();
      } else {
        std::ifstream in(o->manifest_path);
        if (!in) {
          std::cerr << "error: cannot read " << o->manifest_path << "\n";
          return 1;
        }
        text << in.rdbuf();
      }
      Json manifest = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
      if (manifest.is_discarded()) {
        std::cerr << "error: " << o->manifest_path << " is not valid JSON\n";
        return 1;
      }
      auto res = ctx.Call("POST", path_of("/versions"),
                          Json{{"version", o->version}, {"manifest", manifest}});
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "registered " << Str(*res, "agent") << " " << Str(*res, "version") << "\n";
      return 0;
    };
  });

  auto* versions = agent->add_subcommand("versions", "the agent's versions, pointers and history");
  versions->add_option("agent", o->agent, "agent name")->required();
  versions->callback([&ctx, &action, path_of] {
    action = [&ctx, path_of] {
      auto res = ctx.Call("GET", path_of("/versions"));
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      const Json& a = *res;
      std::cout << Str(a, "agent") << ": " << (a.value("enabled", true) ? "enabled" : "KILLED")
                << ", current " << OrDash(a, "current_version") << ", stable "
                << OrDash(a, "stable_version") << ", revision " << a.value("revision", 0) << "\n\n";
      Table t({"VERSION", "STATUS", "MODEL", "PROMPT", "TOOLS", "REGISTERED"});
      for (const auto& v : a["versions"]) {
        std::string status;
        std::string name = Str(v, "version");
        if (name == Str(a, "current_version")) status += "current ";
        if (name == Str(a, "stable_version")) status += "stable ";
        if (v.value("pulled", false)) status += "pulled ";
        if (!status.empty()) status.pop_back();
        const Json& m = v["manifest"];
        t.Add({name, status.empty() ? "-" : status, Str(m, "model"), Str(m, "prompt_hash"),
               std::to_string(m["tools"].size()), Short(Str(v, "created_at"))});
      }
      t.Print(std::cout);
      std::cout << "\nHistory\n";
      Table h({"REV", "TIME (UTC)", "ACTOR", "ACTION", "FROM", "TO", "INCIDENT", "REASON"});
      for (const auto& c : a["history"]) {
        h.Add({std::to_string(c.value("revision", 0)), Short(Str(c, "at")), Str(c, "actor"),
               Str(c, "action"), OrDash(c, "from"), OrDash(c, "to"), OrDash(c, "incident"),
               OrDash(c, "reason")});
      }
      h.Print(std::cout);
      return 0;
    };
  });

  auto* deploy = agent->add_subcommand("deploy", "make a version current");
  deploy->add_option("agent", o->agent, "agent name")->required();
  deploy->add_option("version", o->version, "version name")->required();
  deploy->add_flag("--force", o->force, "deploy even a version pulled by a rollback");
  change_options(deploy);
  deploy->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = ChangeBody(*o);
      body["version"] = o->version;
      return ChangeResult(ctx, ctx.Call("POST", path_of("/deploy"), body), "deployed");
    };
  });

  auto* promote = agent->add_subcommand("promote", "mark a version as the last known stable");
  promote->add_option("agent", o->agent, "agent name")->required();
  promote->add_option("version", o->version, "version name")->required();
  promote->add_flag("--force", o->force, "promote even a version pulled by a rollback");
  promote->add_flag("--skip-gate", o->skip_gate,
                    "promote past a refusing regression battery (admin; --reason required; audited)");
  change_options(promote);
  promote->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      return ChangeResult(
          ctx,
          ctx.Call("POST", path_of("/versions/" + Escape(o->version) + "/promote"), ChangeBody(*o)),
          "promoted");
    };
  });

  auto* rollback = agent->add_subcommand(
      "rollback", "pull the current version, go back to the last known stable");
  rollback->add_option("agent", o->agent, "agent name")->required();
  rollback->add_option("--to", o->to, "roll back to this version instead of the last known stable");
  rollback->add_option("--reason", o->reason, "why (shown in the history and on the timeline)")
      ->required();
  rollback->add_option("--incident", o->incident,
                       "INC-42: put the rollback on the incident's timeline");
  rollback->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = ChangeBody(*o);
      if (!o->to.empty()) body["to"] = o->to;
      return ChangeResult(ctx, ctx.Call("POST", path_of("/rollback"), body), "rolled back");
    };
  });

  auto* kill = agent->add_subcommand("kill", "switch the agent off (kill switch)");
  kill->add_option("agent", o->agent, "agent name")->required();
  change_options(kill);
  kill->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      return ChangeResult(ctx, ctx.Call("POST", path_of("/kill"), ChangeBody(*o)), "killed");
    };
  });

  auto* resume = agent->add_subcommand("resume", "switch the agent back on");
  resume->add_option("agent", o->agent, "agent name")->required();
  change_options(resume);
  resume->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      return ChangeResult(ctx, ctx.Call("POST", path_of("/resume"), ChangeBody(*o)), "resumed");
    };
  });

  auto* runtime = agent->add_subcommand("runtime", "what the agent runs now (as agents see it)");
  runtime->add_option("agent", o->agent, "agent name")->required();
  runtime->add_flag("--watch", o->watch, "keep watching and print every change (long-poll)");
  runtime->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      auto res = ctx.Call("GET", path_of("/runtime"));
      if (!res) return 1;
      auto print = [&ctx](const Json& rt) {
        if (ctx.json) {
          std::cout << rt.dump() << std::endl;  // one line per state with --watch
        } else {
          PrintRuntime(rt);
          std::cout.flush();
        }
      };
      if (!o->watch) {
        if (ctx.json) return ctx.PrintJson(*res);
        PrintRuntime(*res);
        return 0;
      }
      print(*res);
      int64_t revision = res->value("revision", int64_t{0});
      while (true) {
        auto next =
            ctx.Call("GET", path_of("/runtime?wait=30&revision=" + std::to_string(revision)));
        if (!next) return 1;
        int64_t r = next->value("revision", int64_t{0});
        if (r == revision) continue;
        revision = r;
        print(*next);
      }
    };
  });
}

}  // namespace firebreak::cli
