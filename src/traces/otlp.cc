#include "traces/otlp.h"

#include <zlib.h>

#include <algorithm>
#include <set>

#include "common/text.h"
#include "proto/otlp_trace.pb.h"

namespace firebreak::traces {
namespace {

using Json = nlohmann::json;

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

bool IsHexId(const std::string& s, size_t len) {
  if (s.size() != len) return false;
  bool nonzero = false;
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    if (c != '0') nonzero = true;
  }
  return nonzero;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Base64(const std::string& in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += k[v >> 18], out += k[(v >> 12) & 63], out += k[(v >> 6) & 63], out += k[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += k[v >> 18], out += k[(v >> 12) & 63], out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += k[v >> 18], out += k[(v >> 12) & 63], out += k[(v >> 6) & 63], out += '=';
  }
  return out;
}

// What one request may still cost, across the whole decode (IngestLimits).
class Budget {
 public:
  explicit Budget(const IngestLimits& limits) : l_(limits) {}

  const IngestLimits& limits() const { return l_; }

  // Counts `bytes` the decoder builds; kTooLarge past max_decoded_bytes.
  Status Produce(size_t bytes) {
    produced_ += bytes;
    if (produced_ > l_.max_decoded_bytes) {
      return TooLarge("the decoded spans are larger than " + std::to_string(l_.max_decoded_bytes) +
                      " bytes");
    }
    return Status::Ok();
  }
  Status Span() {
    values_ = 0;
    if (++spans_ > l_.max_spans_per_request) {
      return TooLarge("a request may hold at most " + std::to_string(l_.max_spans_per_request) +
                      " spans");
    }
    return Status::Ok();
  }
  // Checks one value about to be decoded at `depth` (1: an attribute's own value).
  Status Value(int depth) {
    if (depth > l_.max_value_depth) {
      return InvalidArgument("attribute values nest deeper than " +
                             std::to_string(l_.max_value_depth) + " levels");
    }
    if (++values_ > l_.max_values_per_span) {
      return InvalidArgument("a span holds more than " + std::to_string(l_.max_values_per_span) +
                             " attribute values");
    }
    return Status::Ok();
  }
  Status Elements(size_t n, const char* what) {
    if (n > l_.max_elements) {
      return InvalidArgument(std::string("an attribute ") + what + " has more than " +
                             std::to_string(l_.max_elements) + " elements");
    }
    return Status::Ok();
  }
  // Checks a (flattened) key of `bytes` and counts it.
  Status Key(size_t bytes) {
    if (bytes > l_.max_key_bytes) {
      return InvalidArgument("an attribute key is longer than " + std::to_string(l_.max_key_bytes) +
                             " bytes");
    }
    return Produce(bytes);
  }
  Status Attributes(size_t n) {
    if (n > l_.max_attributes_per_span) {
      return InvalidArgument("a span has more than " +
                             std::to_string(l_.max_attributes_per_span) + " attributes");
    }
    return Status::Ok();
  }
  size_t produced() const { return produced_; }

  // Returns the text cut to max_value_bytes, counted.
  StatusOr<std::string> Text(std::string_view text) {
    std::string out = TruncateUtf8(text, l_.max_value_bytes, "…");
    FB_RETURN_IF_ERROR(Produce(out.size()));
    return out;
  }

 private:
  const IngestLimits& l_;
  size_t produced_ = 0;
  size_t spans_ = 0;
  size_t values_ = 0;
};

// ---- protobuf ----

StatusOr<Json> ProtoValue(const otlp::AnyValue& v, Budget& b, int depth);

// Adds key -> value to `out`; a key-value list becomes dotted keys (a.b.c). The caller has
// checked `key` with Budget::Key.
Status PutProto(Json& out, const std::string& key, const otlp::AnyValue& v, Budget& b, int depth) {
  if (v.value_case() == otlp::AnyValue::kKvlistValue) {
    FB_RETURN_IF_ERROR(b.Value(depth));
    FB_RETURN_IF_ERROR(b.Elements(v.kvlist_value().values_size(), "key-value list"));
    for (const auto& kv : v.kvlist_value().values()) {
      // The length is checked before the flattened key is built.
      FB_RETURN_IF_ERROR(b.Key(key.size() + 1 + kv.key().size()));
      FB_RETURN_IF_ERROR(PutProto(out, key + "." + kv.key(), kv.value(), b, depth + 1));
    }
    return Status::Ok();
  }
  FB_ASSIGN_OR_RETURN(out[key], ProtoValue(v, b, depth));
  return b.Attributes(out.size());
}

StatusOr<Json> ProtoValue(const otlp::AnyValue& v, Budget& b, int depth) {
  FB_RETURN_IF_ERROR(b.Value(depth));
  switch (v.value_case()) {
    case otlp::AnyValue::kStringValue: {
      FB_ASSIGN_OR_RETURN(std::string text, b.Text(v.string_value()));
      return Json(std::move(text));
    }
    case otlp::AnyValue::kBoolValue:
      return Json(v.bool_value());
    case otlp::AnyValue::kIntValue:
      return Json(v.int_value());
    case otlp::AnyValue::kDoubleValue:
      return Json(v.double_value());
    case otlp::AnyValue::kBytesValue: {
      // Bytes are not text: they are cut at a byte count, before encoding.
      std::string bytes = v.bytes_value().substr(0, b.limits().max_value_bytes / 4 * 3);
      FB_RETURN_IF_ERROR(b.Produce(bytes.size() / 3 * 4 + 4));
      return Json(Base64(bytes));
    }
    case otlp::AnyValue::kArrayValue: {
      FB_RETURN_IF_ERROR(b.Elements(v.array_value().values_size(), "array"));
      Json a = Json::array();
      for (const auto& e : v.array_value().values()) {
        FB_ASSIGN_OR_RETURN(Json ev, ProtoValue(e, b, depth + 1));
        a.push_back(std::move(ev));
      }
      return a;
    }
    case otlp::AnyValue::kKvlistValue: {
      FB_RETURN_IF_ERROR(b.Elements(v.kvlist_value().values_size(), "key-value list"));
      Json o = Json::object();
      for (const auto& kv : v.kvlist_value().values()) {
        FB_RETURN_IF_ERROR(b.Key(kv.key().size()));
        FB_RETURN_IF_ERROR(PutProto(o, kv.key(), kv.value(), b, depth + 1));
      }
      return o;
    }
    default:
      return Json(nullptr);
  }
}

StatusOr<Json> ProtoAttrs(const google::protobuf::RepeatedPtrField<otlp::KeyValue>& kvs,
                          Budget& b) {
  FB_RETURN_IF_ERROR(b.Attributes(static_cast<size_t>(kvs.size())));
  Json o = Json::object();
  for (const auto& kv : kvs) {
    FB_RETURN_IF_ERROR(b.Key(kv.key().size()));
    FB_RETURN_IF_ERROR(PutProto(o, kv.key(), kv.value(), b, 1));
  }
  return o;
}

// Records the first reason a span was rejected.
void Reject(OtlpBatch& batch, const std::string& why) {
  if (batch.rejected++ == 0) batch.rejection_message = why;
}

// Returns a span's name as a refusal message may quote it.
std::string Quoted(std::string_view name) { return "'" + TruncateUtf8(name, 128, "…") + "'"; }

StatusOr<OtlpBatch> DecodeProtobuf(const std::string& body, Budget& b) {
  otlp::ExportTraceServiceRequest req;
  if (!req.ParseFromString(body)) {
    return InvalidArgument("the body is not a valid OTLP ExportTraceServiceRequest (protobuf)");
  }
  OtlpBatch batch;
  std::set<std::string> services;
  for (const auto& rs : req.resource_spans()) {
    size_t before = b.produced();
    FB_ASSIGN_OR_RETURN(Json resource, ProtoAttrs(rs.resource().attributes(), b));
    size_t resource_bytes = b.produced() - before;
    services.insert(resource.contains("service.name") && resource["service.name"].is_string()
                        ? resource["service.name"].get<std::string>()
                        : std::string());
    for (const auto& ss : rs.scope_spans()) {
      for (const auto& sp : ss.spans()) {
        FB_RETURN_IF_ERROR(b.Span());
        if (sp.trace_id().size() != 16 || !IsHexId(Hex(sp.trace_id()), 32)) {
          Reject(batch, "span " + Quoted(sp.name()) +
                            " has no valid trace_id (16 bytes, not all zero)");
          continue;
        }
        if (sp.span_id().size() != 8 || !IsHexId(Hex(sp.span_id()), 16)) {
          Reject(batch,
                 "span " + Quoted(sp.name()) + " has no valid span_id (8 bytes, not all zero)");
          continue;
        }
        if (!sp.parent_span_id().empty() && sp.parent_span_id().size() != 8) {
          Reject(batch, "span " + Quoted(sp.name()) + " has a malformed parent_span_id");
          continue;
        }
        SpanData s;
        s.trace_id = Hex(sp.trace_id());
        s.span_id = Hex(sp.span_id());
        s.parent_span_id = IsHexId(Hex(sp.parent_span_id()), 16) ? Hex(sp.parent_span_id()) : "";
        FB_ASSIGN_OR_RETURN(s.name, b.Text(sp.name()));
        s.kind = sp.kind();
        s.start_ns = sp.start_time_unix_nano();
        s.end_ns = std::max(sp.end_time_unix_nano(), sp.start_time_unix_nano());
        FB_ASSIGN_OR_RETURN(s.attributes, ProtoAttrs(sp.attributes(), b));
        // The resource is copied into every span, so each copy counts.
        FB_RETURN_IF_ERROR(b.Produce(resource_bytes));
        s.resource = resource;
        FB_ASSIGN_OR_RETURN(s.scope, b.Text(ss.scope().name()));
        s.status_code = sp.status().code();
        FB_ASSIGN_OR_RETURN(s.status_message, b.Text(sp.status().message()));
        FB_RETURN_IF_ERROR(b.Elements(static_cast<size_t>(sp.events_size()), "event list"));
        for (const auto& e : sp.events()) {
          FB_RETURN_IF_ERROR(b.Value(1));
          FB_ASSIGN_OR_RETURN(std::string name, b.Text(e.name()));
          FB_ASSIGN_OR_RETURN(Json attrs, ProtoAttrs(e.attributes(), b));
          s.events.push_back({{"name", std::move(name)},
                              {"time_ns", std::to_string(e.time_unix_nano())},
                              {"attributes", std::move(attrs)}});
        }
        batch.spans.push_back(std::move(s));
      }
    }
  }
  batch.services.assign(services.begin(), services.end());
  return batch;
}

// ---- JSON ----

// Returns j[camel] or j[snake] (receivers accept both spellings), or null.
const Json* Field(const Json& j, const char* camel, const char* snake) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(camel);
  if (it == j.end()) it = j.find(snake);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

std::string StrField(const Json& j, const char* camel, const char* snake) {
  const Json* f = Field(j, camel, snake);
  return f && f->is_string() ? f->get<std::string>() : "";
}

StatusOr<uint64_t> U64Field(const Json& j, const char* camel, const char* snake) {
  const Json* f = Field(j, camel, snake);
  if (f == nullptr) return uint64_t{0};
  if (f->is_number_unsigned()) return f->get<uint64_t>();
  if (f->is_number_integer() && f->get<int64_t>() >= 0)
    return static_cast<uint64_t>(f->get<int64_t>());
  if (f->is_string()) {
    const std::string& s = f->get_ref<const std::string&>();
    if (!s.empty() && s.size() <= 20 && std::all_of(s.begin(), s.end(), ::isdigit)) {
      try {
        return static_cast<uint64_t>(std::stoull(s));
      } catch (const std::exception&) {
      }
    }
  }
  return InvalidArgument(std::string("'") + camel +
                         "' must be an unsigned integer (or its decimal string)");
}

StatusOr<Json> JsonValue(const Json& v, Budget& b, int depth);

// Returns the entries of a kvlistValue / arrayValue ({"values": [...]}); nullptr when absent.
StatusOr<const Json*> Values(const Json& list, Budget& b, const char* what) {
  const Json* values = Field(list, "values", "values");
  if (values == nullptr || !values->is_array()) return nullptr;
  FB_RETURN_IF_ERROR(b.Elements(values->size(), what));
  return values;
}

// Adds key -> value to `out`; a key-value list becomes dotted keys (a.b.c). The caller has
// checked `key` with Budget::Key.
Status PutJson(Json& out, const std::string& key, const Json& v, Budget& b, int depth) {
  if (const Json* kv = Field(v, "kvlistValue", "kvlist_value")) {
    FB_RETURN_IF_ERROR(b.Value(depth));
    FB_ASSIGN_OR_RETURN(const Json* values, Values(*kv, b, "key-value list"));
    if (values == nullptr) return Status::Ok();
    for (const auto& e : *values) {
      if (!e.is_object() || !e.contains("key") || !e["key"].is_string()) {
        return InvalidArgument("a key-value list entry needs a string 'key'");
      }
      const std::string& child = e["key"].get_ref<const std::string&>();
      std::string flat = key.empty() ? child : key + "." + child;
      FB_RETURN_IF_ERROR(b.Key(flat.size()));
      FB_RETURN_IF_ERROR(
          PutJson(out, flat, e.contains("value") ? e["value"] : Json(), b, depth + 1));
    }
    return Status::Ok();
  }
  FB_ASSIGN_OR_RETURN(out[key], JsonValue(v, b, depth));
  return b.Attributes(out.size());
}

StatusOr<Json> JsonValue(const Json& v, Budget& b, int depth) {
  FB_RETURN_IF_ERROR(b.Value(depth));
  if (v.is_null()) return Json(nullptr);
  if (!v.is_object()) return InvalidArgument("an attribute value must be an AnyValue object");
  if (const Json* f = Field(v, "stringValue", "string_value")) {
    if (!f->is_string()) return InvalidArgument("stringValue must be a string");
    FB_ASSIGN_OR_RETURN(std::string text, b.Text(f->get_ref<const std::string&>()));
    return Json(std::move(text));
  }
  if (const Json* f = Field(v, "boolValue", "bool_value"))
    return Json(f->is_boolean() && f->get<bool>());
  if (const Json* f = Field(v, "intValue", "int_value")) {
    if (f->is_number_integer()) return *f;
    if (f->is_string()) {
      try {
        size_t used = 0;
        int64_t n = std::stoll(f->get<std::string>(), &used);
        if (used == f->get_ref<const std::string&>().size()) return Json(n);
      } catch (const std::exception&) {
      }
    }
    return InvalidArgument("intValue must be an integer or its decimal string");
  }
  if (const Json* f = Field(v, "doubleValue", "double_value")) {
    if (f->is_number()) return *f;
    if (f->is_string()) return *f;  // "NaN", "Infinity" per the JSON mapping
    return InvalidArgument("doubleValue must be a number");
  }
  if (const Json* f = Field(v, "bytesValue", "bytes_value")) {
    if (!f->is_string()) return InvalidArgument("bytesValue must be a base64 string");
    // base64 is ASCII, so the byte cut is a character cut.
    FB_ASSIGN_OR_RETURN(std::string text, b.Text(f->get_ref<const std::string&>()));
    return Json(std::move(text));
  }
  if (const Json* f = Field(v, "arrayValue", "array_value")) {
    Json a = Json::array();
    FB_ASSIGN_OR_RETURN(const Json* values, Values(*f, b, "array"));
    if (values != nullptr) {
      for (const auto& e : *values) {
        FB_ASSIGN_OR_RETURN(Json ev, JsonValue(e, b, depth + 1));
        a.push_back(std::move(ev));
      }
    }
    return a;
  }
  if (const Json* f = Field(v, "kvlistValue", "kvlist_value")) {
    Json o = Json::object();
    FB_ASSIGN_OR_RETURN(const Json* values, Values(*f, b, "key-value list"));
    if (values != nullptr) {
      for (const auto& e : *values) {
        if (!e.is_object() || !e.contains("key") || !e["key"].is_string()) {
          return InvalidArgument("a key-value list entry needs a string 'key'");
        }
        const std::string& key = e["key"].get_ref<const std::string&>();
        FB_RETURN_IF_ERROR(b.Key(key.size()));
        FB_RETURN_IF_ERROR(
            PutJson(o, key, e.contains("value") ? e["value"] : Json(), b, depth + 1));
      }
    }
    return o;
  }
  return Json(nullptr);
}

StatusOr<Json> JsonAttrs(const Json* attrs, Budget& b) {
  Json o = Json::object();
  if (attrs == nullptr) return o;
  if (!attrs->is_array()) return InvalidArgument("'attributes' must be an array of {key, value}");
  FB_RETURN_IF_ERROR(b.Attributes(attrs->size()));
  for (const auto& kv : *attrs) {
    if (!kv.is_object() || !kv.contains("key") || !kv["key"].is_string()) {
      return InvalidArgument("every attribute needs a string 'key'");
    }
    const std::string& key = kv["key"].get_ref<const std::string&>();
    FB_RETURN_IF_ERROR(b.Key(key.size()));
    FB_RETURN_IF_ERROR(PutJson(o, key, kv.contains("value") ? kv["value"] : Json(), b, 1));
  }
  return o;
}

int EnumField(const Json& j, const char* camel, const char* snake,
              std::initializer_list<std::pair<const char*, int>> names) {
  const Json* f = Field(j, camel, snake);
  if (f == nullptr) return 0;
  if (f->is_number_integer()) return f->get<int>();
  if (f->is_string()) {
    for (const auto& [name, value] : names) {
      if (f->get<std::string>() == name) return value;
    }
  }
  return 0;
}

StatusOr<OtlpBatch> DecodeJson(const std::string& body, Budget& b) {
  // Parsing, copying and dumping JSON all recurse: the depth is checked on the bytes first.
  FB_RETURN_IF_ERROR(CheckJsonDepth(body, kMaxJsonDepth));
  Json req = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (req.is_discarded()) return InvalidArgument("the body is not valid JSON");
  if (!req.is_object())
    return InvalidArgument("the body must be an ExportTraceServiceRequest object");
  OtlpBatch batch;
  std::set<std::string> services;
  const Json* rss = Field(req, "resourceSpans", "resource_spans");
  if (rss == nullptr) return batch;
  if (!rss->is_array()) return InvalidArgument("'resourceSpans' must be an array");
  for (const auto& rs : *rss) {
    const Json* res = Field(rs, "resource", "resource");
    size_t before = b.produced();
    FB_ASSIGN_OR_RETURN(Json resource,
                        JsonAttrs(res ? Field(*res, "attributes", "attributes") : nullptr, b));
    size_t resource_bytes = b.produced() - before;
    services.insert(resource.contains("service.name") && resource["service.name"].is_string()
                        ? resource["service.name"].get<std::string>()
                        : std::string());
    const Json* sss = Field(rs, "scopeSpans", "scope_spans");
    if (sss == nullptr) continue;
    if (!sss->is_array()) return InvalidArgument("'scopeSpans' must be an array");
    for (const auto& ss : *sss) {
      const Json* scope = Field(ss, "scope", "scope");
      const Json* spans = Field(ss, "spans", "spans");
      if (spans == nullptr) continue;
      if (!spans->is_array()) return InvalidArgument("'spans' must be an array");
      for (const auto& sp : *spans) {
        if (!sp.is_object()) return InvalidArgument("every span must be an object");
        FB_RETURN_IF_ERROR(b.Span());
        SpanData s;
        FB_ASSIGN_OR_RETURN(s.name, b.Text(StrField(sp, "name", "name")));
        s.trace_id = Lower(StrField(sp, "traceId", "trace_id"));
        s.span_id = Lower(StrField(sp, "spanId", "span_id"));
        s.parent_span_id = Lower(StrField(sp, "parentSpanId", "parent_span_id"));
        if (!IsHexId(s.trace_id, 32)) {
          Reject(batch, "span " + Quoted(s.name) +
                            " has no valid traceId (32 hex digits, not all zero)");
          continue;
        }
        if (!IsHexId(s.span_id, 16)) {
          Reject(batch,
                 "span " + Quoted(s.name) + " has no valid spanId (16 hex digits, not all zero)");
          continue;
        }
        if (!s.parent_span_id.empty() && s.parent_span_id.size() != 16) {
          Reject(batch, "span " + Quoted(s.name) + " has a malformed parentSpanId");
          continue;
        }
        if (!IsHexId(s.parent_span_id, 16)) s.parent_span_id.clear();
        s.kind = EnumField(sp, "kind", "kind",
                           {{"SPAN_KIND_INTERNAL", 1},
                            {"SPAN_KIND_SERVER", 2},
                            {"SPAN_KIND_CLIENT", 3},
                            {"SPAN_KIND_PRODUCER", 4},
                            {"SPAN_KIND_CONSUMER", 5}});
        FB_ASSIGN_OR_RETURN(s.start_ns, U64Field(sp, "startTimeUnixNano", "start_time_unix_nano"));
        FB_ASSIGN_OR_RETURN(s.end_ns, U64Field(sp, "endTimeUnixNano", "end_time_unix_nano"));
        s.end_ns = std::max(s.end_ns, s.start_ns);
        FB_ASSIGN_OR_RETURN(s.attributes, JsonAttrs(Field(sp, "attributes", "attributes"), b));
        // The resource is copied into every span, so each copy counts.
        FB_RETURN_IF_ERROR(b.Produce(resource_bytes));
        s.resource = resource;
        if (scope) {
          FB_ASSIGN_OR_RETURN(s.scope, b.Text(StrField(*scope, "name", "name")));
        }
        if (const Json* st = Field(sp, "status", "status")) {
          s.status_code =
              EnumField(*st, "code", "code", {{"STATUS_CODE_OK", 1}, {"STATUS_CODE_ERROR", 2}});
          FB_ASSIGN_OR_RETURN(s.status_message, b.Text(StrField(*st, "message", "message")));
        }
        if (const Json* events = Field(sp, "events", "events"); events && events->is_array()) {
          FB_RETURN_IF_ERROR(b.Elements(events->size(), "event list"));
          for (const auto& e : *events) {
            FB_RETURN_IF_ERROR(b.Value(1));
            FB_ASSIGN_OR_RETURN(uint64_t t, U64Field(e, "timeUnixNano", "time_unix_nano"));
            FB_ASSIGN_OR_RETURN(std::string name, b.Text(StrField(e, "name", "name")));
            FB_ASSIGN_OR_RETURN(Json attrs, JsonAttrs(Field(e, "attributes", "attributes"), b));
            s.events.push_back({{"name", std::move(name)},
                                {"time_ns", std::to_string(t)},
                                {"attributes", std::move(attrs)}});
          }
        }
        batch.spans.push_back(std::move(s));
      }
    }
  }
  batch.services.assign(services.begin(), services.end());
  return batch;
}

}  // namespace

StatusOr<OtlpEncoding> OtlpEncodingOf(std::string_view content_type) {
  std::string ct = Lower(std::string(content_type.substr(0, content_type.find(';'))));
  while (!ct.empty() && ct.back() == ' ') ct.pop_back();
  if (ct == "application/x-protobuf" || ct == "application/protobuf")
    return OtlpEncoding::kProtobuf;
  if (ct == "application/json") return OtlpEncoding::kJson;
  return Status(StatusCode::kUnsupportedMediaType,
                "OTLP/HTTP takes application/x-protobuf or application/json, not '" +
                    std::string(content_type) + "'");
}

StatusOr<std::string> Gunzip(const std::string& body, size_t max_bytes) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return Internal("zlib init failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(body.data()));
  zs.avail_in = static_cast<uInt>(body.size());
  std::string out;
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return InvalidArgument("the gzip body is corrupt or truncated");
    }
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (out.size() > max_bytes) {
      inflateEnd(&zs);
      return TooLarge("the decompressed body is larger than " + std::to_string(max_bytes) +
                      " bytes");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return InvalidArgument("the gzip body is truncated");
    }
  }
  inflateEnd(&zs);
  return out;
}

StatusOr<OtlpBatch> DecodeOtlp(const std::string& body, OtlpEncoding encoding,
                               const IngestLimits& limits) {
  if (body.size() > limits.max_decoded_bytes) {
    return TooLarge("the decoded body is larger than " + std::to_string(limits.max_decoded_bytes) +
                    " bytes");
  }
  Budget budget(limits);
  try {
    return encoding == OtlpEncoding::kProtobuf ? DecodeProtobuf(body, budget)
                                               : DecodeJson(body, budget);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("the OTLP body cannot be decoded: ") + e.what());
  }
}

std::string EncodeOtlpResponse(OtlpEncoding encoding, int64_t rejected,
                               const std::string& message) {
  if (encoding == OtlpEncoding::kProtobuf) {
    otlp::ExportTraceServiceResponse res;
    if (rejected > 0 || !message.empty()) {
      res.mutable_partial_success()->set_rejected_spans(rejected);
      res.mutable_partial_success()->set_error_message(message);
    }
    return res.SerializeAsString();
  }
  Json j = Json::object();
  if (rejected > 0 || !message.empty()) {
    j["partialSuccess"] = {{"rejectedSpans", std::to_string(rejected)}, {"errorMessage", message}};
  }
  return j.dump();
}

std::string EncodeRpcStatus(int code, const std::string& message) {
  otlp::RpcStatus s;
  s.set_code(code);
  s.set_message(message);
  return s.SerializeAsString();
}

}  // namespace firebreak::traces
