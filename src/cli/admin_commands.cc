// CLI verbs under `firebreak token` and `firebreak audit`.
#include <iostream>

#include "cli/commands.h"
#include "cli/table.h"

namespace firebreak::cli {
namespace {

struct Options {
  std::string name, role, agent;
};

void PrintTokens(const Json& tokens) {
  Table t({"ID", "NAME", "ROLE", "AGENT", "PREFIX", "CREATED", "REVOKED"});
  for (const auto& k : tokens) {
    t.Add({Str(k, "id"), Str(k, "name"), Str(k, "role"), Str(k, "agent"), Str(k, "prefix"),
           Short(Str(k, "created_at")),
           k["revoked_at"].is_null() ? "-" : Short(Str(k, "revoked_at"))});
  }
  t.Print(std::cout);
}

}  // namespace

void AddAdminCommands(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<Options>();

  auto* token = app.add_subcommand("token", "API tokens (admin)");
  token->require_subcommand(1);
  auto* create = token->add_subcommand("create", "create a token; its secret is shown once");
  create->add_option("--name", o->name, "who or what uses it")->required();
  create->add_option("--role", o->role, "agent, viewer, responder or admin")->required();
  create->add_option("--agent", o->agent, "for role agent: the agent it belongs to");
  create->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      Json body = {{"name", o->name}, {"role", o->role}};
      if (!o->agent.empty()) body["agent"] = o->agent;
      auto res = ctx.Call("POST", "/api/v1/tokens", body);
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "token '" << Str(*res, "name") << "' (" << Str(*res, "role")
                << ") created; it is shown only now:\n"
                << Str(*res, "token") << "\n";
      return 0;
    };
  });
  auto* list = token->add_subcommand("list", "list tokens (secrets are never shown)");
  list->callback([&ctx, &action] {
    action = [&ctx] {
      auto res = ctx.Call("GET", "/api/v1/tokens");
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      PrintTokens((*res)["tokens"]);
      return 0;
    };
  });
  auto* revoke = token->add_subcommand("revoke", "revoke a token by name or id");
  revoke->add_option("name", o->name, "token name or id")->required();
  revoke->callback([&ctx, &action, o] {
    action = [&ctx, o] {
      auto res = ctx.Call("DELETE", "/api/v1/tokens/" + Escape(o->name));
      if (!res) return 1;
      if (ctx.json) return ctx.PrintJson(*res);
      std::cout << "revoked " << o->name << "\n";
      return 0;
    };
  });

  auto* audit = app.add_subcommand("audit", "the hash-chained audit log");
  audit->require_subcommand(1);
  auto* verify = audit->add_subcommand("verify", "recompute the chain; exit 1 if it is broken");
  verify->callback([&ctx, &action] {
    action = [&ctx] {
      auto res = ctx.Call("GET", "/api/v1/audit/verify");
      if (!res) return 1;
      bool intact = (*res)["intact"].get<bool>();
      if (ctx.json) {
        ctx.PrintJson(*res);
      } else if (intact) {
        std::cout << "audit chain intact: " << Str(*res, "events_checked") << " events verified\n";
      } else if (const Json& e = (*res)["first_broken"]; e.is_object()) {
        std::cout << "audit chain BROKEN at event " << Str(e, "seq") << " (" << Str(e, "kind")
                  << (e["incident"].is_null() ? "" : " on " + Str(e, "incident")) << ", "
                  << Str(e, "at") << "): " << Str(*res, "problem") << "\n"
                  << Str(*res, "events_checked") << " events before it verified\n";
      } else {
        std::cout << "audit chain BROKEN: " << Str(*res, "problem") << "\n"
                  << Str(*res, "events_checked") << " events verified\n";
      }
      if (!ctx.json) {
        const Json& a = (*res)["last_anchor"];
        if (a.is_object()) {
          std::cout << "last anchored event: " << Str(a, "seq") << " at " << Str(a, "at") << " ("
                    << Str(a, "hash").substr(0, 16) << ")\n";
        } else if (res->value("anchors_checked", false)) {
          std::cout << "no anchored event yet\n";
        }
      }
      return intact ? 0 : 1;
    };
  });
}

}  // namespace firebreak::cli
