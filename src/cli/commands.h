// The groups of CLI verbs, one per area. Each adds its subcommands to the app; a chosen verb
// stores its work in `action`, which Main runs after parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "cli/context.h"

namespace firebreak::cli {

using Action = std::function<int()>;

void AddIncidentCommands(CLI::App& app, Context& ctx, Action& action);
void AddAdminCommands(CLI::App& app, Context& ctx, Action& action);
void AddAgentCommands(CLI::App& app, Context& ctx, Action& action);
void AddMemoryCommands(CLI::App& app, Context& ctx, Action& action);
void AddTraceCommands(CLI::App& app, Context& ctx, Action& action);
// `comms lint` runs locally; the other comms verbs call the server.
void AddCommsCommands(CLI::App& app, Context& ctx, Action& action);
// Needs the incident verbs first (adds `incident page`).
void AddSignalCommands(CLI::App& app, Context& ctx, Action& action);
// `notice`, and `comms update` (in the `comms` group when it exists).
void AddNoticeCommands(CLI::App& app, Context& ctx, Action& action);
void AddPostmortemCommands(CLI::App& app, Context& ctx, Action& action);
// `regress run` runs the battery where the CLI is and reports to the server (or --server).
void AddRegressCommands(CLI::App& app, Context& ctx, Action& action);

}  // namespace firebreak::cli
