// Fuzzes POST /api/v1/alerts/alertmanager: the body parse and api::AlertmanagerSignals, the
// same function the handler calls. Every signal it makes must be storable: valid UTF-8 text
// and a `measured` document that dumps.
#include <cstddef>
#include <cstdint>
#include <string>

#include "api/alertmanager.h"
#include "fuzz/fuzz_checks.h"
#include "http/router.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace firebreak;
  auto body = http::ParseJsonObject(std::string(reinterpret_cast<const char*>(data), size));
  if (!body.ok()) return 0;
  auto signals = api::AlertmanagerSignals(*body, AlertmanagerPolicy{});
  if (!signals.ok()) {
    fuzz::Require(signals.status().code() == StatusCode::kInvalidArgument,
                  "AlertmanagerSignals failed with a code other than invalid argument");
    return 0;
  }
  for (const auto& s : *signals) {
    for (const std::string* text : {&s.kind, &s.agent, &s.version, &s.category, &s.reason,
                                    &s.fingerprint, &s.status}) {
      fuzz::RequireUtf8(*text, "an Alertmanager signal field is not valid UTF-8");
    }
    fuzz::RequireStrictDump(s.measured, "an Alertmanager signal's measured does not dump");
  }
  return 0;
}
