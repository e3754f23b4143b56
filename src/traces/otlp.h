// OTLP/HTTP trace decoding and answers: ExportTraceServiceRequest in protobuf (libprotobuf,
// from src/traces/proto/otlp_trace.proto) or in the OTLP JSON mapping (hex ids,
// lowerCamelCase names, int64 as strings or numbers), optionally gzip-compressed.
//
// Decoding never throws and never half-succeeds silently: a body that cannot be parsed is
// kInvalidArgument; spans that parse but cannot be used (missing or malformed ids) are left
// out and counted as rejected, with the reason, for partial_success. What a body may cost is
// bounded by IngestLimits (span.h), checked while decoding, before anything grows with it.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"
#include "traces/span.h"

namespace firebreak::traces {

enum class OtlpEncoding { kProtobuf, kJson };

struct OtlpBatch {
  std::vector<SpanData> spans;
  int64_t rejected = 0;
  std::string rejection_message;      // why the first rejected span was rejected
  std::vector<std::string> services;  // distinct service.name values of the resources
};

// Returns the encoding named by a Content-Type header, or kUnsupportedMediaType.
StatusOr<OtlpEncoding> OtlpEncodingOf(std::string_view content_type);

// Returns the gunzipped body; kInvalidArgument for corrupt data, kTooLarge when the result
// would exceed `max_bytes`.
StatusOr<std::string> Gunzip(const std::string& body, size_t max_bytes);

// Returns the spans of an OTLP body. Holds the decode to `limits`: kTooLarge for a body, a
// decoded batch or a span count over its bound, kInvalidArgument for a span over a per-span
// bound (attributes, key length, elements, nesting); string values are cut, not refused.
StatusOr<OtlpBatch> DecodeOtlp(const std::string& body, OtlpEncoding encoding,
                               const IngestLimits& limits = {});

// Returns the ExportTraceServiceResponse body in `encoding`.
std::string EncodeOtlpResponse(OtlpEncoding encoding, int64_t rejected, const std::string& message);

// Returns a google.rpc.Status body (protobuf) for an error answer.
std::string EncodeRpcStatus(int code, const std::string& message);

}  // namespace firebreak::traces
