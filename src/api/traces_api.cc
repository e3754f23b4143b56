// Traces: OTLP/HTTP ingest (POST /v1/traces), native batch ingest, lookup by hash prefix,
// listing with filters, similar cases, flags, and the admin erasure of one user's traces.
#include "api/handler_util.h"
#include "api/routes.h"
#include "common/text.h"
#include "traces/otlp.h"
#include "traces/span.h"

namespace firebreak::api {
namespace {

using traces::OtlpEncoding;

constexpr size_t kPreviewBytes = 200;  // input and output in a listing, marker included

// The full trace: the stored document plus hash, flag and store times.
Json TraceJson(const TraceRow& row, int64_t same_hash) {
  Json doc = Json::parse(row.doc_json, nullptr, false);
  if (!doc.is_object()) doc = Json::object();
  doc["hash"] = row.hash;
  doc["flag"] = row.flag.empty() ? Json() : Json(row.flag);
  doc["error_count"] = row.error_count;
  doc["ingested_at"] = FormatTime(row.ingested_at);
  doc["updated_at"] = FormatTime(row.updated_at);
  doc["same_hash"] = same_hash;
  // Traces stored before the canonical form carried a version were hashed with version 1.
  if (!doc.contains("hash_version")) doc["hash_version"] = 1;
  return doc;
}

// One line of a listing.
Json TraceSummaryJson(const TraceRow& row) {
  Json doc = Json::parse(row.doc_json, nullptr, false);
  Json tools = Json::array();
  std::string input, output;
  if (doc.is_object()) {
    for (const auto& c : doc.value("tool_calls", Json::array()))
      tools.push_back(c.value("name", ""));
    input = doc.value("input", "");
    output = doc.value("output", "");
  }
  return {{"hash", row.hash},
          {"trace_id", row.trace_id},
          {"agent", row.agent},
          {"version", row.version},
          {"user_id", row.user_id},
          {"session_id", row.session_id},
          {"category", row.category},
          {"started_at", FormatTime(row.started_at)},
          {"duration_ms", row.ended_at - row.started_at},
          {"span_count", row.span_count},
          {"error_count", row.error_count},
          {"flag", row.flag.empty() ? Json() : Json(row.flag)},
          {"tools", tools},
          {"input", TruncateUtf8(input, kPreviewBytes, "…")},
          {"output", TruncateUtf8(output, kPreviewBytes, "…")}};
}

Json HitsJson(const std::vector<traces::SimilarHit>& hits) {
  Json out = Json::array();
  for (const auto& h : hits) {
    Json j = TraceSummaryJson(h.row);
    j["score"] = h.score;
    j["jaccard"] = h.jaccard;
    j["text_score"] = h.text;
    out.push_back(std::move(j));
  }
  return out;
}

// Answers an OTLP request that failed: protobuf requests get a google.rpc.Status body,
// JSON requests the API's JSON error; the HTTP status comes from http::Error either way.
Response OtlpError(const Status& s, OtlpEncoding encoding) {
  Response r = http::Error(s);
  if (encoding == OtlpEncoding::kProtobuf) {
    // gRPC codes: 3 invalid argument, 16 unauthenticated, 7 permission denied, 8 exhausted.
    int code = s.code() == StatusCode::kUnauthenticated    ? 16
               : s.code() == StatusCode::kPermissionDenied ? 7
               : s.code() == StatusCode::kTooLarge         ? 8
               : s.code() == StatusCode::kUnavailable      ? 14
               : s.code() == StatusCode::kInternal         ? 13
                                                           : 3;
    r.content_type = "application/x-protobuf";
    r.body = traces::EncodeRpcStatus(code, s.message());
  }
  return r;
}

Response OtlpIngest(const Request& req, const Deps& d) {
  auto encoding = traces::OtlpEncodingOf(req.Header("content-type"));
  if (!encoding.ok()) return http::Error(encoding.status());
  auto principal = d.tokens.Authenticate(req.Header("authorization"));
  if (!principal.ok()) return OtlpError(principal.status(), *encoding);
  const traces::IngestLimits& limits = d.traces.options().limits;

  std::string inflated;
  const std::string* body = &req.body;
  std::string content_encoding(req.Header("content-encoding"));
  if (content_encoding == "gzip") {
    auto out = traces::Gunzip(req.body, limits.max_decoded_bytes);
    if (!out.ok()) return OtlpError(out.status(), *encoding);
    inflated = std::move(*out);
    body = &inflated;
  } else if (!content_encoding.empty() && content_encoding != "identity") {
    return OtlpError(
        Status(StatusCode::kUnsupportedMediaType,
               "Content-Encoding '" + content_encoding + "' is not supported (gzip or none)"),
        *encoding);
  }
  auto batch = traces::DecodeOtlp(*body, *encoding, limits);
  if (!batch.ok()) return OtlpError(batch.status(), *encoding);
  // An agent token may only send its own agent's spans (service.name of every resource).
  for (const auto& service : batch->services) {
    Status allowed = AuthorizeForAgent(*principal, service);
    if (!allowed.ok()) return OtlpError(allowed, *encoding);
  }
  // An agent token writes as its agent: the service also refuses another agent's traces.
  std::string writer = principal->role == Role::kAgent ? principal->agent : "";
  if (!batch->spans.empty()) {
    auto result = d.traces.IngestSpans(batch->spans, writer);
    if (!result.ok()) return OtlpError(result.status(), *encoding);
  }
  Response r;
  r.status = 200;
  r.content_type =
      *encoding == OtlpEncoding::kProtobuf ? "application/x-protobuf" : "application/json";
  r.body = traces::EncodeOtlpResponse(*encoding, batch->rejected, batch->rejection_message);
  return r;
}

}  // namespace

void RegisterTraces(http::Router& r, const Deps& d) {
  TokenService& tok = d.tokens;
  traces::TraceService& svc = d.traces;

  r.Add("POST", "/v1/traces", [&d](const Request& req) { return OtlpIngest(req, d); });

  // Native batch: {"traces": [{agent, version, user_id, input, retrieved, tool_calls, ...}]}.
  r.Add("POST", "/api/v1/traces",
        Guard(tok, Role::kAgent, [&svc](const Request& req, const Principal& p) {
          // The parser recurses: nesting is checked on the bytes first.
          if (Status depth = CheckJsonDepth(req.body, kMaxJsonDepth); !depth.ok())
            return http::Error(depth);
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          if (auto it = body->find("traces"); it != body->end() && it->is_array()) {
            for (const auto& t : *it) {
              std::string agent = t.is_object() && t.contains("agent") && t["agent"].is_string()
                                      ? t["agent"].get<std::string>()
                                      : "";
              Status allowed = AuthorizeForAgent(p, agent);
              if (!allowed.ok()) return http::Error(allowed);
            }
          }
          auto hashes = svc.IngestNative(*body, p.role == Role::kAgent ? p.agent : "");
          if (!hashes.ok()) return http::Error(hashes.status());
          return http::Json(201, {{"hashes", *hashes}});
        }));

  r.Add("GET", "/api/v1/traces",
        Guard(tok, Role::kViewer, [&svc](const Request& req, const Principal&) {
          TraceFilter f;
          f.agent = req.Query("agent");
          f.version = req.Query("version");
          f.user_id = req.Query("user");
          f.session_id = req.Query("session");
          f.category = req.Query("category");
          f.flag = req.Query("flag");
          f.tool = req.Query("tool");
          f.text = req.Query("q");
          auto from = TimeParam(req, "from");
          auto to = TimeParam(req, "to");
          auto limit = IntParam(req, "limit", 50, 1, 1000);
          for (const Status* s : {&from.status(), &to.status(), &limit.status()}) {
            if (!s->ok()) return http::Error(*s);
          }
          f.from = *from;
          f.to = *to;
          f.limit = *limit;
          std::string cursor = req.Query("cursor");
          if (!cursor.empty()) {
            size_t colon = cursor.find(':');
            try {
              if (colon == std::string::npos) throw std::invalid_argument("cursor");
              f.before_started_at = std::stoll(cursor.substr(0, colon));
              f.before_id = std::stoll(cursor.substr(colon + 1));
            } catch (const std::exception&) {
              return http::Error(
                  InvalidArgument("bad 'cursor' (use next_cursor of the previous page)"));
            }
          }
          auto rows = svc.List(f);
          if (!rows.ok()) return http::Error(rows.status());
          Json out = {{"traces", Json::array()}};
          for (const auto& row : *rows) out["traces"].push_back(TraceSummaryJson(row));
          if (static_cast<int>(rows->size()) == f.limit) {
            out["next_cursor"] =
                std::to_string(rows->back().started_at) + ":" + std::to_string(rows->back().id);
          }
          return http::Json(200, out);
        }));

  // Registered before /{hash} so "similar" is not read as a hash.
  r.Add("GET", "/api/v1/traces/similar",
        Guard(tok, Role::kViewer, [&svc](const Request& req, const Principal&) {
          auto k = IntParam(req, "k", 10, 1, 100);
          if (!k.ok()) return http::Error(k.status());
          std::string text = req.Query("q");
          if (text.empty())
            return http::Error(InvalidArgument("'q' (the text to compare) is required"));
          auto hits = svc.SimilarToText(text, *k);
          if (!hits.ok()) return http::Error(hits.status());
          return http::Json(200, {{"results", HitsJson(*hits)}});
        }));

  r.Add("GET", "/api/v1/traces/{hash}",
        Guard(tok, Role::kViewer, [&svc](const Request& req, const Principal&) {
          auto view = svc.Get(req.params.at("hash"));
          if (!view.ok()) return http::Error(view.status());
          Json out = TraceJson(view->row, view->same_hash);
          std::string raw = req.Query("raw");
          if (raw == "1" || raw == "true") {
            auto spans = svc.RawSpans(view->row.trace_id);
            if (!spans.ok()) return http::Error(spans.status());
            out["spans"] = Json::array();
            for (const auto& s : *spans) out["spans"].push_back(traces::SpanToJson(s));
          }
          return http::Json(200, out);
        }));

  r.Add("GET", "/api/v1/traces/{hash}/similar",
        Guard(tok, Role::kViewer, [&svc](const Request& req, const Principal&) {
          auto k = IntParam(req, "k", 10, 1, 100);
          if (!k.ok()) return http::Error(k.status());
          auto view = svc.Get(req.params.at("hash"));
          if (!view.ok()) return http::Error(view.status());
          auto hits = svc.Similar(view->row.hash, *k);
          if (!hits.ok()) return http::Error(hits.status());
          return http::Json(200, {{"query", view->row.hash}, {"results", HitsJson(*hits)}});
        }));

  r.Add("POST", "/api/v1/traces/flags",
        Guard(tok, Role::kResponder, [&svc](const Request& req, const Principal& p) {
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          traces::FlagRequest fr;
          auto flag = StringField(*body, "flag", true);
          auto reason = StringField(*body, "reason", true);
          auto agent = StringField(*body, "agent", false);
          auto version = StringField(*body, "version", false);
          for (const auto* f : {&flag, &reason, &agent, &version}) {
            if (!f->ok()) return http::Error(f->status());
          }
          auto from = TimeField(*body, "from");
          if (!from.ok()) return http::Error(from.status());
          auto to = TimeField(*body, "to");
          if (!to.ok()) return http::Error(to.status());
          auto incident = IncidentField(*body);
          if (!incident.ok()) return http::Error(incident.status());
          fr.flag = *flag;
          fr.reason = *reason;
          fr.agent = *agent;
          fr.version = *version;
          fr.from = *from;
          fr.to = *to;
          fr.incident_id = *incident;
          if (auto it = body->find("hashes"); it != body->end() && !it->is_null()) {
            if (!it->is_array())
              return http::Error(InvalidArgument("'hashes' must be an array of strings"));
            for (const auto& h : *it) {
              if (!h.is_string())
                return http::Error(InvalidArgument("'hashes' must be an array of strings"));
              fr.hashes.push_back(h.get<std::string>());
            }
          }
          auto result = svc.Flag(p.name, fr);
          if (!result.ok()) return http::Error(result.status());
          Json out = {{"flag", fr.flag}, {"flagged", result->flagged}, {"hashes", result->hashes}};
          if (fr.incident_id) out["incident"] = IncidentName(*fr.incident_id);
          return http::Json(200, out);
        }));

  r.Add("POST", "/api/v1/admin/erasure",
        Guard(tok, Role::kAdmin, [&svc](const Request& req, const Principal& p) {
          auto body = http::ParseJsonObject(req.body);
          if (!body.ok()) return http::Error(body.status());
          auto user = StringField(*body, "user_id", true);
          if (!user.ok()) return http::Error(user.status());
          auto reason = StringField(*body, "reason", true);
          if (!reason.ok()) return http::Error(reason.status());
          auto erased = svc.EraseUser(p.name, *user, *reason);
          if (!erased.ok()) return http::Error(erased.status());
          return http::Json(200, {{"traces_erased", *erased}});
        }));
}

}  // namespace firebreak::api
