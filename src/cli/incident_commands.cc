// CLI verbs under `firebreak incident`.
#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"
#include "common/clock.h"
#include "incidents/severity.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string id, title, agent, severity, reason, commander, state, text, since, steps;
  bool dry_run = false;
  int limit = 50;
};

void PrintIncidentRows(const Json& incidents) {
  Table t({"ID", "SEV", "STATE", "AGENT", "DETECTED", "COMMANDER", "TITLE"});
  for (const auto& i : incidents) {
    std::string commander = Str(i, "commander");
    t.Add({Str(i, "id"), Str(i, "severity"), Str(i, "state"), Str(i, "agent"),
           Short(Str(i, "detected_at")), commander.empty() ? "-" : commander, Str(i, "title")});
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
  field("detected", Short(Str(i, "detected_at")));
  if (!i["classified_at"].is_null()) {
    field("classified", Short(Str(i, "classified_at")) + " by " + Str(i, "classified_by") +
                            ", " + FormatDuration(i["time_to_classify_ms"].get<int64_t>()) +
                            " after detection");
    field("reason", Str(i, "classification_reason"));
  } else {
    field("classified", "not yet");
  }
  field("commander", Str(i, "commander"));
  if (!i["acked_at"].is_null()) {
    field("acknowledged", Short(Str(i, "acked_at")) + " by " + Str(i, "acked_by"));
  }
  if (i.contains("contained_at") && !i["contained_at"].is_null()) {
    field("contained", Short(Str(i, "contained_at")) + ", " +
                           FormatDuration(i["time_to_contain_ms"].get<int64_t>()) +
                           " after detection (time to contain)");
  }
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

// Prints the single incident an action returned.
int IncidentResult(Context& ctx, const std::optional<Json>& res, const std::string& verb) {
  if (!res) return 1;
  if (ctx.json) return ctx.PrintJson(*res);
  std::cout << Str(*res, "id") << " " << verb << ": " << Str(*res, "severity") << ", "
            << Str(*res, "state") << "\n";
  return 0;
}

// Prints what the isolation playbook did (or would do), one line per step. Returns 1 when a
// step failed, so scripts notice.
int PrintIsolation(const Json& r) {
  bool dry = r.value("dry_run", false);
  const Json& inc = r["incident"];
  std::cout << Str(inc, "id") << (dry ? " isolation (dry run, nothing changed)" : " isolation")
            << "\n  window  " << Str(r["window"], "from") << " .. " << Str(r["window"], "to")
            << "  (" << Str(r["window"], "source") << ")\n";
  Table t({"STEP", "OUTCOME", "AT", "SUMMARY"});
  for (const auto& s : r["steps"]) {
    t.Add({Str(s, "step"), Str(s, "outcome"), s["at"].is_null() ? "-" : Short(Str(s, "at")),
           Str(s, "summary")});
  }
  t.Print(std::cout);
  std::cout << "state: " << Str(inc, "state");
  if (!inc["time_to_contain_ms"].is_null()) {
    std::cout << ", time to contain " << FormatDuration(inc["time_to_contain_ms"].get<int64_t>());
  }
  std::cout << "\n";
  return r.value("failed", false) ? 1 : 0;
}

}  // namespace

void AddIncidentCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();  // kept alive by the callbacks below
  auto* incident = app.add_subcommand("incident", "declare, classify and follow incidents");
  incident->require_subcommand(1);
  auto path_of = [o](const std::string& suffix) { return "/api/v1/incidents/" + Escape(o->id) + suffix; };

  auto* declare = incident->add_subcommand("declare", "declare a new incident");
  declare->add_option("--title", o->title, "what is happening")->required();
  declare->add_option("--agent", o->agent, "the agent involved")->required();
  declare->add_option("--severity", o->severity, "SEV-1..SEV-4 (classify at once; needs --reason)");
  declare->add_option("--reason", o->reason, "why this severity");
  declare->add_option("--commander", o->commander, "incident commander");
  declare->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      Json body = {{"title", o->title}, {"agent", o->agent}};
      if (!o->severity.empty()) body["severity"] = o->severity;
      if (!o->reason.empty()) body["reason"] = o->reason;
      if (!o->commander.empty()) body["commander"] = o->commander;
      return IncidentResult(ctx, ctx.Call("POST", "/api/v1/incidents", body), "declared");
    };
  });

  auto* list = incident->add_subcommand("list", "list incidents, newest first");
  list->add_option("--state", o->state, "open, or states separated by commas");
  list->add_option("--agent", o->agent, "only this agent");
  list->add_option("--limit", o->limit, "at most this many")->check(CLI::Range(1, 1000));
  list->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      std::string path = "/api/v1/incidents?limit=" + std::to_string(o->limit);
      if (!o->state.empty()) path += "&state=" + Escape(o->state);
      if (!o->agent.empty()) path += "&agent=" + Escape(o->agent);
      auto res = ctx.Call("GET", path);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      PrintIncidentRows((*res)["incidents"]);
      return 0;
    };
  });

  auto* show = incident->add_subcommand("show", "an incident with its timeline");
  show->add_option("id", o->id, "INC-42")->required();
  show->callback([&ctx, &action, path_of] {
    action = [&ctx, path_of] {
      auto inc = ctx.Call("GET", path_of(""));
      if (!inc) return 1;
      auto timeline = ctx.Call("GET", path_of("/timeline"));
      if (!timeline) return 1;
      if (ctx.json) {
        Json out = *inc;
        out["timeline"] = (*timeline)["events"];
        return ctx.PrintJson(out);
      }
      PrintIncident(*inc);
      std::cout << "\nTimeline\n";
      PrintTimeline((*timeline)["events"]);
      return 0;
    };
  });

  auto* classify = incident->add_subcommand("classify", "set the severity, with a reason");
  classify->add_option("id", o->id, "INC-42")->required();
  classify->add_option("severity", o->severity, "SEV-1..SEV-4")->required();
  classify->add_option("--reason", o->reason, "why this severity")->required();
  classify->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = {{"severity", o->severity}, {"reason", o->reason}};
      return IncidentResult(ctx, ctx.Call("POST", path_of("/classify"), body), "classified");
    };
  });

  auto* ack = incident->add_subcommand("ack", "acknowledge: you are on it");
  ack->add_option("id", o->id, "INC-42")->required();
  ack->callback([&ctx, &action, path_of] {
    action = [&ctx, path_of] {
      return IncidentResult(ctx, ctx.Call("POST", path_of("/ack"), Json::object()), "acknowledged");
    };
  });

  auto* note = incident->add_subcommand("note", "add a note to the timeline");
  note->add_option("id", o->id, "INC-42")->required();
  note->add_option("text", o->text, "the note")->required();
  note->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      auto res = ctx.Call("POST", path_of("/timeline"), Json{{"text", o->text}});
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "noted on " << Str(*res, "incident") << " at " << Str(*res, "at") << "\n";
      return 0;
    };
  });

  auto* resolve = incident->add_subcommand("resolve", "mark the incident resolved");
  resolve->add_option("id", o->id, "INC-42")->required();
  resolve->add_option("--reason", o->reason, "what resolved it");
  resolve->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = Json::object();
      if (!o->reason.empty()) body["reason"] = o->reason;
      return IncidentResult(ctx, ctx.Call("POST", path_of("/resolve"), body), "resolved");
    };
  });

  auto* close = incident->add_subcommand(
      "close", "close a resolved incident (needs a passing regression case and a post-mortem)");
  close->add_option("id", o->id, "INC-42")->required();
  close->add_option("--reason", o->reason, "why it can close");
  close->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = Json::object();
      if (!o->reason.empty()) body["reason"] = o->reason;
      return IncidentResult(ctx, ctx.Call("POST", path_of("/close"), body), "closed");
    };
  });

  auto* move = incident->add_subcommand("state", "move to investigating or mitigated, or reopen");
  move->add_option("id", o->id, "INC-42")->required();
  move->add_option("state", o->state, "investigating, mitigated, resolved")->required();
  move->add_option("--reason", o->reason, "why");
  move->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = {{"state", o->state}};
      if (!o->reason.empty()) body["reason"] = o->reason;
      return IncidentResult(ctx, ctx.Call("POST", path_of("/state"), body), "moved");
    };
  });

  auto* isolate = incident->add_subcommand(
      "isolate", "run the isolation playbook: rollback, memory quarantine, trace flags, banner");
  isolate->add_option("id", o->id, "INC-42")->required();
  isolate->add_flag("--dry-run", o->dry_run, "show every step with its counts, change nothing");
  isolate->add_option("--since", o->since,
                      "start of the window (RFC 3339); default: when the pulled version became "
                      "current");
  isolate->add_option("--steps", o->steps, "some of rollback,memory,traces,banner (default: all)");
  isolate->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = {{"dry_run", o->dry_run}};
      if (!o->since.empty()) body["since"] = o->since;
      if (!o->steps.empty()) {
        Json steps = Json::array();
        size_t start = 0;
        while (start <= o->steps.size()) {
          size_t comma = o->steps.find(',', start);
          if (comma == std::string::npos) comma = o->steps.size();
          steps.push_back(o->steps.substr(start, comma - start));
          start = comma + 1;
        }
        body["steps"] = steps;
      }
      auto res = ctx.Call("POST", path_of("/isolate"), body);
      if (!res) return 1;
      if (ctx.json) {
        ctx.PrintJson(*res);
        return res->value("failed", false) ? 1 : 0;
      }
      return PrintIsolation(*res);
    };
  });

  auto* severities = incident->add_subcommand("severities", "the severity taxonomy and how each pages");
  severities->callback([&ctx, &action] {
    action = [&ctx] {
      if (ctx.json) {
        Json out = Json::array();
        for (const auto& s : SeverityTable()) {
          out.push_back({{"severity", s.name}, {"meaning", s.meaning}, {"response", s.response},
                         {"paging", PagingClassName(s.paging)}, {"escalates", s.escalates},
                         {"backlog_due_days", s.backlog_due_days}});
        }
        return ctx.PrintJson(out);
      }
      Table t({"SEVERITY", "PAGING", "RESPONSE", "WHEN"});
      for (const auto& s : SeverityTable()) {
        t.Add({std::string(s.name), std::string(PagingClassName(s.paging)),
               std::string(s.response), std::string(s.meaning)});
      }
      t.Print(std::cout);
      return 0;
    };
  });
}

}  // namespace firebreak::cli
