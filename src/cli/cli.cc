#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/client.h"
#include "cli/table.h"
#include "common/clock.h"
#include "config/settings.h"
#include "incidents/severity.h"

namespace firebreak::cli {
namespace {

using Json = nlohmann::json;

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

// Turns an ISO time into a compact, still unambiguous form for tables.
std::string Short(const std::string& iso) {
  if (iso.size() < 19) return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + "Z";
}

std::string DetailsText(const Json& details) {
  if (!details.is_object()) return details.dump();
  if (details.contains("text") && details.size() == 1) return details["text"].get<std::string>();
  std::string out;
  for (const auto& [key, value] : details.items()) {
    if (!out.empty()) out += "  ";
    std::string v = value.is_string() ? value.get<std::string>() : value.dump();
    if (key.size() > 3 && key.substr(key.size() - 3) == "_ms" && value.is_number_integer()) {
      v = FormatDuration(value.get<int64_t>());
    }
    out += key + "=" + v;
  }
  return out;
}

class Commands {
 public:
  Commands() : client_(ClientConfigFromEnvironment()) {}

  bool json = false;

  // Calls the API; prints the error and returns nullopt unless the status is 2xx.
  std::optional<Json> Call(const std::string& method, const std::string& path,
                           const std::optional<Json>& body = std::nullopt) {
    auto res = client_.Call(method, path, body);
    if (!res.ok()) {
      std::cerr << "error: " << res.status().message() << "\n";
      return std::nullopt;
    }
    if (res->status < 200 || res->status > 299) {
      std::string message = res->raw;
      if (res->body.is_object() && res->body.contains("error")) {
        message = Str(res->body["error"], "message");
      }
      std::cerr << "error: " << message << " (HTTP " << res->status << ")\n";
      return std::nullopt;
    }
    return res->body;
  }

  int PrintJson(const Json& j) {
    std::cout << j.dump(2) << "\n";
    return 0;
  }

  void PrintIncidentRows(const Json& incidents) {
    Table t({"ID", "SEV", "STATE", "AGENT", "DETECTED", "COMMANDER", "TITLE"});
    for (const auto& i : incidents) {
      t.Add({Str(i, "id"), Str(i, "severity"), Str(i, "state"), Str(i, "agent"),
             Short(Str(i, "detected_at")), Str(i, "commander").empty() ? "-" : Str(i, "commander"),
             Str(i, "title")});
    }
    t.Print(std::cout);
  }

  void PrintIncident(const Json& i) {
    auto field = [](const std::string& name, const std::string& value) {
      std::cout << "  " << name << std::string(name.size() < 14 ? 14 - name.size() : 1, ' ')
                << (value.empty() ? "-" : value) << "\n";
    };
    std::cout << Str(i, "id") << "  " << Str(i, "title") << "\n";
    field("agent", Str(i, "agent"));
    field("state", Str(i, "state"));
    std::string sev = Str(i, "severity");
    if (i.contains("paging")) sev += " (paging: " + Str(i, "paging") + ")";
    field("severity", sev);
    if (!i["classified_at"].is_null()) {
      field("classified", Short(Str(i, "classified_at")) + " by " + Str(i, "classified_by") +
                              ", " + FormatDuration(i["time_to_classify_ms"].get<int64_t>()) +
                              " after detection");
      field("reason", Str(i, "classification_reason"));
    }
    field("detected", Short(Str(i, "detected_at")));
    field("commander", Str(i, "commander"));
    if (!i["acked_at"].is_null()) field("acknowledged", Short(Str(i, "acked_at")) + " by " + Str(i, "acked_by"));
    if (!i["resolved_at"].is_null()) field("resolved", Short(Str(i, "resolved_at")));
    if (!i["closed_at"].is_null()) field("closed", Short(Str(i, "closed_at")));
  }

  void PrintTimeline(const Json& events) {
    Table t({"TIME (UTC)", "ACTOR", "EVENT", "DETAILS"});
    for (const auto& e : events) {
      t.Add({Str(e, "at"), Str(e, "actor"), Str(e, "kind"), DetailsText(e["details"])});
    }
    t.Print(std::cout);
  }

  void PrintTokens(const Json& tokens) {
    Table t({"ID", "NAME", "ROLE", "AGENT", "PREFIX", "CREATED", "REVOKED"});
    for (const auto& k : tokens) {
      t.Add({Str(k, "id"), Str(k, "name"), Str(k, "role"), Str(k, "agent"), Str(k, "prefix"),
             Short(Str(k, "created_at")), k["revoked_at"].is_null() ? "-" : Short(Str(k, "revoked_at"))});
    }
    t.Print(std::cout);
  }

  // Prints the single incident an action returned.
  int IncidentResult(const std::optional<Json>& res, const std::string& verb) {
    if (!res) return 1;
    if (json) return PrintJson(*res);
    std::cout << Str(*res, "id") << " " << verb << ": " << Str(*res, "severity") << ", "
              << Str(*res, "state") << "\n";
    return 0;
  }

 private:
  ApiClient client_;
};

std::string Escape(const std::string& id) {
  std::string out;
  for (char c : id) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

}  // namespace

int Main(int argc, char** argv, const ServeFn& serve) {
  CLI::App app{"firebreak: the incident control plane for AI agents in production"};
  app.require_subcommand(1);
  Commands cmd;
  app.add_flag("--json", cmd.json, "print JSON instead of tables");
  app.fallthrough();
  std::function<int()> action;

  // serve
  auto* serve_cmd = app.add_subcommand("serve", "run the server: API, OTLP receiver, dashboard, workers");
  std::string config_path;
  std::map<std::string, std::string> serve_flags;
  serve_cmd->add_option("--config", config_path, "TOML settings file")->envname("FIREBREAK_CONFIG");
  std::vector<std::pair<std::string, CLI::Option*>> serve_opts;
  std::map<std::string, std::string> raw;  // what CLI11 parses into; stable node addresses
  for (const SettingSpec& spec : SettingSpecs()) {
    std::string flag = "--" + spec.key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    serve_opts.emplace_back(spec.key, serve_cmd->add_option(flag, raw[spec.key], spec.help + " [" + spec.env + "]"));
  }
  serve_cmd->callback([&] {
    action = [&] {
      for (auto& [key, opt] : serve_opts) {
        if (opt->count() > 0) serve_flags[key] = raw[key];
      }
      return serve(config_path, serve_flags);
    };
  });

  // incident
  auto* incident = app.add_subcommand("incident", "declare, classify and follow incidents");
  incident->require_subcommand(1);
  std::string id, title, agent, severity, reason, commander, state, text;
  int limit = 50;

  auto* declare = incident->add_subcommand("declare", "declare a new incident");
  declare->add_option("--title", title, "what is happening")->required();
  declare->add_option("--agent", agent, "the agent involved")->required();
  declare->add_option("--severity", severity, "SEV-1..SEV-4 (classify at once; needs --reason)");
  declare->add_option("--reason", reason, "why this severity");
  declare->add_option("--commander", commander, "incident commander");
  declare->callback([&] {
    action = [&] {
      Json body = {{"title", title}, {"agent", agent}};
      if (!severity.empty()) body["severity"] = severity;
      if (!reason.empty()) body["reason"] = reason;
      if (!commander.empty()) body["commander"] = commander;
      return cmd.IncidentResult(cmd.Call("POST", "/api/v1/incidents", body), "declared");
    };
  });

  auto* list = incident->add_subcommand("list", "list incidents, newest first");
  list->add_option("--state", state, "open, or states separated by commas");
  list->add_option("--agent", agent, "only this agent");
  list->add_option("--limit", limit, "at most this many")->check(CLI::Range(1, 1000));
  list->callback([&] {
    action = [&] {
      std::string path = "/api/v1/incidents?limit=" + std::to_string(limit);
      if (!state.empty()) path += "&state=" + Escape(state);
      if (!agent.empty()) path += "&agent=" + Escape(agent);
      auto res = cmd.Call("GET", path);
      if (!res) return 1;
      if (cmd.json) return cmd.PrintJson(*res);
      cmd.PrintIncidentRows((*res)["incidents"]);
      return 0;
    };
  });

  auto* show = incident->add_subcommand("show", "an incident with its timeline");
  show->add_option("id", id, "INC-42")->required();
  show->callback([&] {
    action = [&] {
      auto inc = cmd.Call("GET", "/api/v1/incidents/" + Escape(id));
      if (!inc) return 1;
      auto timeline = cmd.Call("GET", "/api/v1/incidents/" + Escape(id) + "/timeline");
      if (!timeline) return 1;
      if (cmd.json) {
        Json out = *inc;
        out["timeline"] = (*timeline)["events"];
        return cmd.PrintJson(out);
      }
      cmd.PrintIncident(*inc);
      std::cout << "\nTimeline\n";
      cmd.PrintTimeline((*timeline)["events"]);
      return 0;
    };
  });

  auto* classify = incident->add_subcommand("classify", "set the severity, with a reason");
  classify->add_option("id", id, "INC-42")->required();
  classify->add_option("severity", severity, "SEV-1..SEV-4")->required();
  classify->add_option("--reason", reason, "why this severity")->required();
  classify->callback([&] {
    action = [&] {
      return cmd.IncidentResult(cmd.Call("POST", "/api/v1/incidents/" + Escape(id) + "/classify",
                                         Json{{"severity", severity}, {"reason", reason}}),
                                "classified");
    };
  });

  auto* ack = incident->add_subcommand("ack", "acknowledge: you are on it");
  ack->add_option("id", id, "INC-42")->required();
  ack->callback([&] {
    action = [&] {
      return cmd.IncidentResult(cmd.Call("POST", "/api/v1/incidents/" + Escape(id) + "/ack", Json::object()),
                                "acknowledged");
    };
  });

  auto* note = incident->add_subcommand("note", "add a note to the timeline");
  note->add_option("id", id, "INC-42")->required();
  note->add_option("text", text, "the note")->required();
  note->callback([&] {
    action = [&] {
      auto res = cmd.Call("POST", "/api/v1/incidents/" + Escape(id) + "/timeline", Json{{"text", text}});
      if (!res) return 1;
      if (cmd.json) return cmd.PrintJson(*res);
      std::cout << "noted on " << Str(*res, "incident") << " at " << Str(*res, "at") << "\n";
      return 0;
    };
  });

  auto* resolve = incident->add_subcommand("resolve", "mark the incident resolved");
  resolve->add_option("id", id, "INC-42")->required();
  resolve->add_option("--reason", reason, "what resolved it");
  resolve->callback([&] {
    action = [&] {
      Json body = Json::object();
      if (!reason.empty()) body["reason"] = reason;
      return cmd.IncidentResult(cmd.Call("POST", "/api/v1/incidents/" + Escape(id) + "/resolve", body),
                                "resolved");
    };
  });

  auto* move = incident->add_subcommand("state", "move to investigating or mitigated, or reopen");
  move->add_option("id", id, "INC-42")->required();
  move->add_option("state", state, "investigating, mitigated, resolved")->required();
  move->add_option("--reason", reason, "why");
  move->callback([&] {
    action = [&] {
      Json body = {{"state", state}};
      if (!reason.empty()) body["reason"] = reason;
      return cmd.IncidentResult(cmd.Call("POST", "/api/v1/incidents/" + Escape(id) + "/state", body),
                                "moved");
    };
  });

  auto* severities = incident->add_subcommand("severities", "the severity taxonomy and how each pages");
  severities->callback([&] {
    action = [&] {
      if (cmd.json) {
        Json out = Json::array();
        for (const auto& s : SeverityTable()) {
          out.push_back({{"severity", s.name}, {"meaning", s.meaning}, {"response", s.response},
                         {"paging", PagingClassName(s.paging)}, {"escalates", s.escalates},
                         {"backlog_due_days", s.backlog_due_days}});
        }
        return cmd.PrintJson(out);
      }
      Table t({"SEVERITY", "PAGING", "RESPONSE", "WHEN"});
      for (const auto& s : SeverityTable()) {
        t.Add({std::string(s.name), std::string(PagingClassName(s.paging)), std::string(s.response),
               std::string(s.meaning)});
      }
      t.Print(std::cout);
      return 0;
    };
  });

  // token
  auto* token = app.add_subcommand("token", "API tokens (admin)");
  token->require_subcommand(1);
  std::string role, name;
  auto* tcreate = token->add_subcommand("create", "create a token; its secret is shown once");
  tcreate->add_option("--name", name, "who or what uses it")->required();
  tcreate->add_option("--role", role, "agent, viewer, responder or admin")->required();
  tcreate->add_option("--agent", agent, "for role agent: the agent it belongs to");
  tcreate->callback([&] {
    action = [&] {
      Json body = {{"name", name}, {"role", role}};
      if (!agent.empty()) body["agent"] = agent;
      auto res = cmd.Call("POST", "/api/v1/tokens", body);
      if (!res) return 1;
      if (cmd.json) return cmd.PrintJson(*res);
      std::cout << "token '" << Str(*res, "name") << "' (" << Str(*res, "role")
                << ") created; it is shown only now:\n" << Str(*res, "token") << "\n";
      return 0;
    };
  });
  auto* tlist = token->add_subcommand("list", "list tokens (secrets are never shown)");
  tlist->callback([&] {
    action = [&] {
      auto res = cmd.Call("GET", "/api/v1/tokens");
      if (!res) return 1;
      if (cmd.json) return cmd.PrintJson(*res);
      cmd.PrintTokens((*res)["tokens"]);
      return 0;
    };
  });
  auto* trevoke = token->add_subcommand("revoke", "revoke a token by name or id");
  trevoke->add_option("name", name, "token name or id")->required();
  trevoke->callback([&] {
    action = [&] {
      auto res = cmd.Call("DELETE", "/api/v1/tokens/" + Escape(name));
      if (!res) return 1;
      if (cmd.json) return cmd.PrintJson(*res);
      std::cout << "revoked " << name << "\n";
      return 0;
    };
  });

  // audit
  auto* audit = app.add_subcommand("audit", "the hash-chained audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "recompute the chain; exit 1 if it is broken");
  verify->callback([&] {
    action = [&] {
      auto res = cmd.Call("GET", "/api/v1/audit/verify");
      if (!res) return 1;
      bool intact = (*res)["intact"].get<bool>();
      if (cmd.json) {
        cmd.PrintJson(*res);
      } else if (intact) {
        std::cout << "audit chain intact: " << Str(*res, "events_checked") << " events verified\n";
      } else {
        const Json& e = (*res)["first_broken"];
        std::cout << "audit chain BROKEN at event " << Str(e, "seq") << " (" << Str(e, "kind")
                  << (e["incident"].is_null() ? "" : " on " + Str(e, "incident")) << ", "
                  << Str(e, "at") << "): " << Str(*res, "problem") << "\n"
                  << Str(*res, "events_checked") << " events before it verified\n";
      }
      return intact ? 0 : 1;
    };
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return action ? action() : 0;
}

}  // namespace firebreak::cli
