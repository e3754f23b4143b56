#include "cli/cli.h"

#include <CLI/CLI.hpp>
#include <algorithm>

#include "cli/commands.h"
#include "config/settings.h"

namespace firebreak::cli {
namespace {

// `firebreak serve`: one flag per setting; only the flags given are passed on, so that the
// environment and the config file can fill in the rest (config/settings.h).
void AddServeCommand(CLI::App& app, const ServeFn& serve, Action& action) {
  struct Options {
    std::string config_path;
    std::map<std::string, std::string> values;  // stable addresses for CLI11 to write into
    std::vector<std::pair<std::string, CLI::Option*>> options;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("serve", "run the server: API, OTLP receiver, dashboard, workers");
  cmd->add_option("--config", o->config_path, "TOML settings file [FIREBREAK_CONFIG]")
      ->envname("FIREBREAK_CONFIG");
  for (const SettingSpec& spec : SettingSpecs()) {
    std::string flag = "--" + spec.key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    o->options.emplace_back(spec.key, cmd->add_option(flag, o->values[spec.key],
                                                      spec.help + " [" + spec.env + "]"));
  }
  cmd->callback([&serve, &action, o] {
    action = [&serve, o] {
      std::map<std::string, std::string> given;
      for (auto& [key, opt] : o->options) {
        if (opt->count() > 0) given[key] = o->values[key];
      }
      return serve(o->config_path, given);
    };
  });
}

}  // namespace

int Main(int argc, char** argv, const ServeFn& serve) {
  CLI::App app{"firebreak: the incident control plane for AI agents in production"};
  app.require_subcommand(1);
  app.fallthrough();
  Context ctx;
  app.add_flag("--json", ctx.json, "print JSON instead of tables");
  Action action;
  AddServeCommand(app, serve, action);
  AddIncidentCommands(app, ctx, action);
  AddAdminCommands(app, ctx, action);
  AddAgentCommands(app, ctx, action);
  AddMemoryCommands(app, ctx, action);
  AddTraceCommands(app, ctx, action);
  AddSignalCommands(app, ctx, action);
  AddCommsCommands(app, ctx, action);
  AddNoticeCommands(app, ctx, action);
  AddPostmortemCommands(app, ctx, action);
  AddRegressCommands(app, ctx, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return action ? action() : 0;
}

}  // namespace firebreak::cli
