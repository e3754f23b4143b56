// Manifest: what an agent version is, and the validation of one sent by a person or a CI job.
//
// A manifest is immutable once registered: label, model, prompt hash, the tools the version may
// call (each with its effect class and whether it needs approval) and free configuration.
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

}  // namespace firebreak
