// CLI verbs for detection and paging: `firebreak signal list`, `firebreak incident page ID`
// (added to the incident verbs), `firebreak deliveries`.
#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string id, agent, kind, status, incident, message;
  std::vector<std::string> targets;
  int limit = 50;
};

std::string IncidentOrDash(const Json& j) {
  std::string s = Str(j, "incident");
  return s.empty() ? "-" : s;
}

void PrintDeliveries(const Json& list) {
  Table t({"ID", "INCIDENT", "TARGET", "CHANNEL", "ACTION", "STATUS", "TRIES", "LAST", "CREATED"});
  for (const auto& d : list) {
    std::string last = Str(d, "last_error");
    if (last.empty() && d.value("last_http_status", 0) != 0) {
      last = "HTTP " + std::to_string(d.value("last_http_status", 0));
    }
    std::string status = Str(d, "status");
    if (status == "pending" && !Str(d, "next_attempt_at").empty()) {
      status += " (next " + Short(Str(d, "next_attempt_at")) + ")";
    }
    t.Add({Str(d, "id"), IncidentOrDash(d), Str(d, "target"), Str(d, "channel"), Str(d, "action"),
           status, Str(d, "attempts"), last.empty() ? "-" : last, Short(Str(d, "created_at"))});
  }
  t.Print(std::cout);
}

}  // namespace

void AddSignalCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();

  auto* signal = app.add_subcommand("signal", "what the detectors and alerting sources reported");
  signal->require_subcommand(1);
  auto* list = signal->add_subcommand("list", "signals, newest first");
  list->add_option("--agent", o->agent, "only this agent");
  list->add_option("--kind", o->kind, "only this kind (a prefix: pii, alert., quality.)");
  list->add_option("--status", o->status, "firing or resolved");
  list->add_option("--incident", o->incident, "only the signals of INC-42");
  list->add_option("--limit", o->limit, "at most this many")->check(CLI::Range(1, 1000));
  list->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      std::string path = "/api/v1/signals?limit=" + std::to_string(o->limit);
      if (!o->agent.empty()) path += "&agent=" + Escape(o->agent);
      if (!o->kind.empty()) path += "&kind=" + Escape(o->kind);
      if (!o->status.empty()) path += "&status=" + Escape(o->status);
      if (!o->incident.empty()) path += "&incident=" + Escape(o->incident);
      auto res = ctx.Call("GET", path);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      Table t({"ID", "DETECTED", "KIND", "AGENT", "SEV", "RULE", "INCIDENT", "REASON"});
      for (const auto& s : (*res)["signals"]) {
        t.Add({Str(s, "id"), Short(Str(s, "detected_at")), Str(s, "kind"), Str(s, "agent"),
               Str(s, "severity"), Str(s, "rule"), IncidentOrDash(s), Str(s, "reason")});
      }
      t.Print(std::cout);
      return 0;
    };
  });

  auto* deliveries = app.add_subcommand("deliveries", "the outbox: pages and webhooks, newest first");
  deliveries->add_option("--incident", o->incident, "only those of INC-42");
  deliveries->add_option("--status", o->status, "pending, delivered or failed");
  deliveries->add_option("--limit", o->limit, "at most this many")->check(CLI::Range(1, 1000));
  deliveries->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      std::string path = "/api/v1/deliveries?limit=" + std::to_string(o->limit);
      if (!o->incident.empty()) path += "&incident=" + Escape(o->incident);
      if (!o->status.empty()) path += "&status=" + Escape(o->status);
      auto res = ctx.Call("GET", path);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      PrintDeliveries((*res)["deliveries"]);
      return 0;
    };
  });

  // `incident page` lives with the incident verbs for people, but its code is here.
  CLI::App* incident = app.get_subcommand("incident");
  auto* page = incident->add_subcommand("page", "page now, at any hour; or show the paging of an incident");
  page->add_option("id", o->id, "INC-42")->required();
  page->add_option("--target", o->targets, "page these targets (default: escalation step 0)");
  page->add_option("--message", o->message, "what the page says (default: severity and title)");
  page->add_flag("--status", [o](int64_t n) { o->status = n > 0 ? "show" : ""; },
                 "only show the timers and deliveries of this incident");
  page->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      std::string base = "/api/v1/incidents/" + Escape(o->id);
      if (o->status != "show") {
        Json body = Json::object();
        if (!o->targets.empty()) body["targets"] = o->targets;
        if (!o->message.empty()) body["message"] = o->message;
        auto res = ctx.Call("POST", base + "/page", body);
        if (!res) return 1;
        if (ctx.json) return ctx.PrintJson(*res);
        std::cout << "paging " << o->id << ": " << (*res)["deliveries"].size()
                  << " deliveries queued\n";
      }
      auto pages = ctx.Call("GET", base + "/pages");
      if (!pages) return 1;
      if (ctx.json) return ctx.PrintJson(*pages);
      Table t({"TIMER", "KIND", "STEP", "DUE (UTC)", "STATE", "NOTE"});
      for (const auto& x : (*pages)["timers"]) {
        t.Add({Str(x, "id"), Str(x, "kind"), Str(x, "step"), Str(x, "due_at"), Str(x, "state"),
               Str(x, "note")});
      }
      t.Print(std::cout);
      std::cout << "\n";
      PrintDeliveries((*pages)["deliveries"]);
      return 0;
    };
  });
}

}  // namespace firebreak::cli
