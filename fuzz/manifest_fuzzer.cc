// Fuzzes the agent manifest (POST /api/v1/agents/{agent}/versions): the body parse,
// ValidateManifest, and the canonical form's strict dump that ReleaseService stores.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_checks.h"
#include "http/router.h"
#include "releases/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace firebreak;
  auto body = http::ParseJsonObject(std::string(reinterpret_cast<const char*>(data), size));
  if (!body.ok()) return 0;
  const nlohmann::json& manifest = body->contains("manifest") ? (*body)["manifest"] : *body;
  auto canonical = ValidateManifest(manifest);
  if (!canonical.ok()) {
    fuzz::Require(canonical.status().code() == StatusCode::kInvalidArgument,
            "ValidateManifest failed with a code other than invalid argument");
    return 0;
  }
  fuzz::RequireStrictDump(*canonical, "a valid manifest's canonical form does not dump");
  auto again = ValidateManifest(*canonical);
  fuzz::Require(again.ok() && *again == *canonical, "the canonical form is not a fixed point");
  return 0;
}
