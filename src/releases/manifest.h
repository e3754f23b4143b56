// Manifest: what an agent version is, and the validation of one sent by a person or a CI job.
//
// A manifest is immutable once registered: label, model, prompt hash, the tools the version may
// call (each with its effect class and whether it needs approval), free configuration, and how
// the regression battery reaches this version (the `regression` provider section).
// Validation names the offending field ("manifest.tools[1].effect_class") so the caller can fix
// it without guessing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace firebreak {

// Returns the effect classes a tool may declare, in documentation order.
const std::vector<std::string>& EffectClasses();

// Checks `manifest` and returns its canonical form (every optional field present, nothing
// unknown); kInvalidArgument naming the field otherwise.
StatusOr<nlohmann::json> ValidateManifest(const nlohmann::json& manifest);

// The longest a regression provider may take for one attempt, and the default.
inline constexpr int64_t kMaxProviderTimeoutMs = 600'000;
inline constexpr int64_t kDefaultProviderTimeoutMs = 30'000;

// Checks a regression provider section and returns its canonical form, kInvalidArgument
// naming the field under `path` otherwise:
//   {"provider": "exec", "command": ["./agent", "--v3"], "timeout_ms": 30000}  (argv, no shell)
//   {"provider": "http", "url": "https://agent.internal/case", "timeout_ms": 30000}
StatusOr<nlohmann::json> ValidateRegressionProvider(const nlohmann::json& section,
                                                    const std::string& path);

}  // namespace firebreak
