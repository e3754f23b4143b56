// Fuzzes POST /v1/traces with Content-Type application/json: the OTLP JSON decoder, then what
// ingest does with the spans (stored as JSON and read back, assembled, hashed).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/otlp_pipeline.h"
#include "traces/otlp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  firebreak::fuzz::RunOtlpPipeline(body, firebreak::traces::OtlpEncoding::kJson);
  return 0;
}
