// Fuzzes POST /api/v1/traces (the native batch): the body parse and each trace's reading, then
// what ingest does with it (hash, stored document, read back).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_checks.h"
#include "http/router.h"
#include "traces/canonical.h"
#include "traces/trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using Json = nlohmann::json;
  using namespace firebreak;
  auto body = http::ParseJsonObject(std::string(reinterpret_cast<const char*>(data), size));
  if (!body.ok()) return 0;
  auto it = body->find("traces");
  if (it == body->end() || !it->is_array()) return 0;
  for (const auto& t : *it) {
    auto content = traces::ContentFromJson(t);
    if (!content.ok()) {
      fuzz::Require(content.status().code() == StatusCode::kInvalidArgument,
                    "ContentFromJson failed with a code other than invalid argument");
      continue;
    }
    (void)traces::TraceHash(*content);
    std::string doc =
        traces::ContentToJson(*content).dump(-1, ' ', false, Json::error_handler_t::replace);
    auto again = traces::ContentFromJson(Json::parse(doc, nullptr, false));
    fuzz::Require(again.ok(), "a stored trace document does not read back");
  }
  return 0;
}
