// Serve: wires the store, the domain services, the API and the HTTP server together and runs
// them until SIGTERM or SIGINT. The only place in Firebreak that knows every component.
#pragma once

#include <map>
#include <string>

namespace firebreak {

// Runs `firebreak serve`; returns the process exit code.
int Serve(const std::string& config_path, const std::map<std::string, std::string>& flags);

}  // namespace firebreak
