// Fuzzes POST /v1/traces with Content-Type application/x-protobuf: gunzip (when the bytes
// look like gzip), the protobuf decoder, then what ingest does with the spans (stored as JSON
// and read back, assembled into a trace, hashed).
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "fuzz/otlp_pipeline.h"
#include "traces/otlp.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string body(reinterpret_cast<const char*>(data), size);
  if (body.size() >= 2 && static_cast<uint8_t>(body[0]) == 0x1f && static_cast<uint8_t>(body[1]) == 0x8b) {
    auto inflated = firebreak::traces::Gunzip(body, size_t{4} << 20);
    if (!inflated.ok()) return 0;
    body = std::move(*inflated);
  }
  firebreak::fuzz::RunOtlpPipeline(body, firebreak::traces::OtlpEncoding::kProtobuf);
  return 0;
}
