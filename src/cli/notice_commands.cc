// CLI verbs under `firebreak notice` (the public banner of an incident) and `firebreak comms
// update` (a structured update for one audience).
#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string id, status, message, eta, next_update, override_reason;
  std::string audience, impact, actions, user_action;
};

// The times and the override a banner or an update may carry.
void AddCommon(CLI::App* cmd, const std::shared_ptr<Options>& o) {
  cmd->add_option("--eta", o->eta, "when it should be fixed (RFC 3339)");
  cmd->add_option("--next-update", o->next_update, "when the next update comes (RFC 3339)");
  cmd->add_option("--override-reason", o->override_reason,
                  "publish despite blocking lint findings, for this reason (audited)");
}

void SetCommon(Json& body, const Options& o) {
  if (!o.eta.empty()) body["eta"] = o.eta;
  if (!o.next_update.empty()) body["next_update_at"] = o.next_update;
  if (!o.override_reason.empty()) body["override_reason"] = o.override_reason;
}

void PrintFindings(const Json& findings) {
  for (const auto& f : findings) {
    std::cout << (f.value("blocking", false) ? "  blocking " : "  warning  ") << Str(f, "rule") << ": "
              << Str(f, "message") << "\n";
  }
}

void PrintNotices(const Json& notices) {
  Table t({"INCIDENT", "SEV", "STATUS", "NEXT UPDATE", "ETA", "OVERDUE", "MESSAGE"});
  for (const auto& n : notices) {
    t.Add({Str(n, "incident"), Str(n, "severity"), Str(n, "status"), Short(Str(n, "next_update_at")),
           Short(Str(n, "eta")), n.value("overdue", false) ? "yes" : "no", Str(n, "message")});
  }
  t.Print(std::cout);
}

}  // namespace

void AddNoticeCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();  // kept alive by the callbacks below
  auto path_of = [o](const std::string& suffix) { return "/api/v1/incidents/" + Escape(o->id) + suffix; };

  auto* notice = app.add_subcommand("notice", "the public banner of an incident (GET /api/v1/status)");
  notice->require_subcommand(1);

  auto* set = notice->add_subcommand("set", "raise or change the banner (the lint checks it first)");
  set->add_option("id", o->id, "INC-42")->required();
  set->add_option("--message", o->message, "what the users of the product read")->required();
  set->add_option("--status", o->status, "investigating, identified, monitoring or resolved");
  AddCommon(set, o);
  set->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = {{"message", o->message}};
      if (!o->status.empty()) body["status"] = o->status;
      SetCommon(body, *o);
      auto res = ctx.Call("PUT", path_of("/notice"), body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "banner of " << Str((*res)["notice"], "incident") << " is up\n";
      PrintFindings((*res)["findings"]);
      return 0;
    };
  });

  auto* clear = notice->add_subcommand("clear", "take the banner down");
  clear->add_option("id", o->id, "INC-42")->required();
  clear->callback([&ctx, &action, path_of] {
    action = [&ctx, path_of] {
      auto res = ctx.Call("DELETE", path_of("/notice"));
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "banner of " << Str(*res, "incident") << " taken down\n";
      return 0;
    };
  });

  auto* show = notice->add_subcommand("show", "the banners the public sees now");
  show->callback([&ctx, &action] {
    action = [&ctx] {
      auto res = ctx.Call("GET", "/api/v1/status");
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      PrintNotices((*res)["notices"]);
      return 0;
    };
  });

  auto existing = app.get_subcommands([](CLI::App* a) { return a->get_name() == "comms"; });
  CLI::App* comms = existing.empty() ? nullptr : existing.front();
  if (comms == nullptr) {
    comms = app.add_subcommand("comms", "communication: updates, affected users, lint");
    comms->require_subcommand(1);
  }
  auto* update = comms->add_subcommand("update", "post a structured update for one audience");
  update->add_option("id", o->id, "INC-42")->required();
  update->add_option("--audience", o->audience, "internal, affected or public")->required();
  update->add_option("--impact", o->impact, "what is affected, as the audience sees it")->required();
  update->add_option("--actions", o->actions, "what is being done");
  update->add_option("--user-action", o->user_action, "what the reader should do");
  AddCommon(update, o);
  update->callback([&ctx, &action, o, path_of] {
    action = [&ctx, o, path_of] {
      Json body = {{"audience", o->audience}, {"impact", o->impact}};
      if (!o->actions.empty()) body["actions"] = o->actions;
      if (!o->user_action.empty()) body["user_action"] = o->user_action;
      SetCommon(body, *o);
      auto res = ctx.Call("POST", path_of("/updates"), body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "update " << (*res)["update"].value("id", 0) << " posted to "
                << Str((*res)["update"], "audience") << " on " << Str((*res)["update"], "incident") << "\n";
      PrintFindings((*res)["findings"]);
      return 0;
    };
  });
}

}  // namespace firebreak::cli
