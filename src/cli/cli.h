// The `firebreak` command line: `serve` plus every client verb of the HTTP API.
//
// Client verbs talk to FIREBREAK_URL with FIREBREAK_TOKEN, print tables for people and JSON
// with --json, and exit non-zero with a one-line reason on failure. `serve` is supplied by the
// executable, the only place that wires the server together.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace firebreak::cli {

// Runs the server from a config file path (may be empty) and the flags given (setting key ->
// value); returns the process exit code.
using ServeFn =
    std::function<int(const std::string& config_path, const std::map<std::string, std::string>& flags)>;

// Parses argv and runs one command; returns the process exit code.
int Main(int argc, char** argv, const ServeFn& serve);

}  // namespace firebreak::cli
