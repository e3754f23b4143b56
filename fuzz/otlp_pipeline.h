// What the OTLP ingest path does with a body, minus the store: decode, keep each span as the
// JSON the store holds and read it back, assemble each trace, hash it and dump its document.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "fuzz/fuzz_checks.h"
#include "traces/assembly.h"
#include "traces/canonical.h"
#include "traces/otlp.h"
#include "traces/span.h"
#include "traces/trace.h"

namespace firebreak::fuzz {

inline void RunOtlpPipeline(const std::string& body, traces::OtlpEncoding encoding) {
  using Json = nlohmann::json;
  auto batch = traces::DecodeOtlp(body, encoding);
  if (!batch.ok()) {
    Require(batch.status().code() == StatusCode::kInvalidArgument ||
                batch.status().code() == StatusCode::kTooLarge,
            "DecodeOtlp failed with a code other than invalid argument or too large");
    return;
  }
  (void)traces::EncodeOtlpResponse(encoding, batch->rejected, batch->rejection_message);
  std::map<std::string, std::vector<traces::SpanData>> by_trace;
  for (const auto& span : batch->spans) {
    // As TraceService stores a raw span and reads it back on the next ingest of its trace.
    std::string stored =
        traces::SpanToJson(span).dump(-1, ' ', false, Json::error_handler_t::replace);
    auto again = traces::SpanFromJson(Json::parse(stored, nullptr, false));
    Require(again.ok(), "a decoded span does not read back from its stored JSON");
    by_trace[span.trace_id].push_back(std::move(*again));
  }
  for (auto& [id, spans] : by_trace) {
    auto content = traces::Assemble(std::move(spans));
    if (!content) continue;
    (void)traces::TraceHash(*content);
    std::string doc =
        traces::ContentToJson(*content).dump(-1, ' ', false, Json::error_handler_t::replace);
    Require(!Json::parse(doc, nullptr, false).is_discarded(), "a trace document is not JSON");
  }
}

}  // namespace firebreak::fuzz
