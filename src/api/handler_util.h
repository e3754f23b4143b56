// Helpers shared by the API handlers: authentication guard, JSON field access, responses.
#pragma once

#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/auth.h"
#include "common/clock.h"
#include "common/crypto.h"
#include "http/router.h"
#include "incidents/incident_service.h"
#include "store/store.h"

namespace firebreak::api {

using http::Request;
using http::Response;
using Json = nlohmann::json;

using GuardedHandler = std::function<Response(const Request&, const Principal&)>;

// Wraps a handler with authentication and the role check.
inline http::Handler Guard(TokenService& tokens, Role role, GuardedHandler fn) {
  return [&tokens, role, fn = std::move(fn)](const Request& req) -> Response {
    auto principal = tokens.Authenticate(req.Header("authorization"));
    if (!principal.ok()) return http::Error(principal.status());
    Status allowed = Authorize(*principal, role);
    if (!allowed.ok()) return http::Error(allowed);
    return fn(req, *principal);
  };
}

// Idempotency-Key (README.md, "Retries"): at most this many bytes of letters, digits and
// "-_.:+/="; an answer is replayed for 24 hours; a claim left by a request that never finished
// (the process died) is given up after a minute.
inline constexpr size_t kMaxIdempotencyKeyBytes = 255;
inline constexpr int64_t kIdempotencyTtlMs = 24LL * 3600 * 1000;
inline constexpr int64_t kIdempotencyClaimMs = 60'000;

// Returns OK when `key` is a usable Idempotency-Key, kInvalidArgument saying why otherwise.
inline Status CheckIdempotencyKey(std::string_view key) {
  if (key.size() > kMaxIdempotencyKeyBytes) {
    return InvalidArgument("the Idempotency-Key header is longer than 255 bytes");
  }
  for (char c : key) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("-_.:+/=").find(c) != std::string_view::npos;
    if (!ok) {
      return InvalidArgument("the Idempotency-Key header may hold only letters, digits and -_.:+/=");
    }
  }
  return Status::Ok();
}

// Wraps a POST handler that writes, so a retry with the same Idempotency-Key by the same token
// gets the first answer (with "Idempotent-Replayed: true") and writes nothing. The same key
// with another method, path or body is kConflict, and so is a retry while the first request
// still runs. The handler's first committed write marks the key "applied" in its own
// transaction (IdempotentWriteScope), so when the answer could not be stored (a crash, a
// failed write) a retry is kConflict saying so, never a second write. A 5xx answer of a
// request that wrote nothing is not kept (the retry runs again). Without the header, `fn`
// runs as is.
inline GuardedHandler Idempotent(Store& store, const Clock& clock, GuardedHandler fn) {
  return [&store, &clock, fn = std::move(fn)](const Request& req, const Principal& p) -> Response {
    std::string key(req.Header("idempotency-key"));
    if (key.empty()) return fn(req, p);
    if (Status valid = CheckIdempotencyKey(key); !valid.ok()) return http::Error(valid);
    std::string hash = Sha256Hex(req.method + " " + req.target + "\n" + req.body);
    TimeMs now = clock.NowMs();
    std::optional<IdempotencyRecord> prior;
    Status claimed = store.Write([&](Txn& txn) -> Status {
      FB_RETURN_IF_ERROR(txn.idempotency().Sweep(now - kIdempotencyTtlMs, 100).status());
      FB_ASSIGN_OR_RETURN(prior, txn.idempotency().Get(p.token_id, key));
      if (prior && (prior->state != "pending" || now - prior->created_at < kIdempotencyClaimMs)) {
        return Status::Ok();
      }
      prior.reset();
      return txn.idempotency().Put({p.token_id, key, hash, "pending", 0, "", now});
    });
    if (!claimed.ok()) return http::Error(claimed);
    if (prior) {
      if (prior->request_hash != hash) {
        return http::Error(Conflict(
            "this Idempotency-Key was used for a different request; use a new key for a new request"));
      }
      if (prior->state == "applied") {
        return http::Error(Conflict(
            "the request with this Idempotency-Key was applied but its answer was lost (the server "
            "stopped or failed before storing it); look the result up instead of retrying"));
      }
      if (prior->state != "done") {
        return http::Error(Conflict("a request with this Idempotency-Key is still running; retry later"));
      }
      Response replay;
      replay.status = prior->status;
      replay.body = prior->body;
      replay.headers.push_back({"Idempotent-Replayed", "true"});
      return replay;
    }
    Response answer;
    bool applied = false;
    {
      IdempotentWriteScope scope({p.token_id, key, hash, "applied", 0, "", now});
      answer = fn(req, p);
      applied = scope.applied();
    }
    // If this fails, the key stays pending (retries get 409 until the claim is given up) or
    // applied (retries get 409).
    (void)store.Write([&](Txn& txn) -> Status {
      if (answer.status >= 500) {
        return applied ? Status::Ok() : txn.idempotency().Remove(p.token_id, key);
      }
      return txn.idempotency().Put({p.token_id, key, hash, "done", answer.status, answer.body, now});
    });
    return answer;
  };
}

// Reads an optional string field; kInvalidArgument when present with another type.
inline StatusOr<std::string> StringField(const Json& body, const char* name, bool required) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) {
    if (required) return InvalidArgument(std::string("'") + name + "' is required");
    return std::string();
  }
  if (!it->is_string()) return InvalidArgument(std::string("'") + name + "' must be a string");
  return it->get<std::string>();
}

// Reads an optional integer field in lo..hi (`fallback` when absent or null); kInvalidArgument
// for another type or a value out of range (checked before any narrowing, so 2^32 + 5 is not 5).
inline StatusOr<int64_t> IntField(const Json& body, const char* name, int64_t fallback, int64_t lo,
                                  int64_t hi) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return fallback;
  bool in_range = false;
  int64_t n = 0;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    in_range = u <= static_cast<uint64_t>(hi) && hi >= 0 && static_cast<int64_t>(u) >= lo;
    n = static_cast<int64_t>(u);
  } else if (it->is_number_integer()) {
    n = it->get<int64_t>();
    in_range = n >= lo && n <= hi;
  }
  if (!in_range) {
    return InvalidArgument(std::string("'") + name + "' must be a whole number in " +
                           std::to_string(lo) + ".." + std::to_string(hi));
  }
  return n;
}

// Reads an optional boolean field (nullopt when absent or null); kInvalidArgument for another type.
inline StatusOr<std::optional<bool>> BoolField(const Json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return std::optional<bool>();
  if (!it->is_boolean()) return InvalidArgument(std::string("'") + name + "' must be true or false");
  return std::optional<bool>(it->get<bool>());
}

// Reads an optional array of strings; kInvalidArgument when present with another shape.
inline StatusOr<std::vector<std::string>> StringArray(const Json& body, const char* name) {
  std::vector<std::string> out;
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) return InvalidArgument(std::string("'") + name + "' must be an array of strings");
  for (const auto& v : *it) {
    if (!v.is_string()) return InvalidArgument(std::string("'") + name + "' must be an array of strings");
    out.push_back(v.get<std::string>());
  }
  return out;
}

// Reads a body that may be absent (an empty object then) or a JSON object.
inline StatusOr<Json> OptionalBody(const Request& req) {
  if (req.body.empty()) return Json::object();
  return http::ParseJsonObject(req.body);
}

// Reads an optional RFC 3339 time field; kInvalidArgument when present and not a time.
inline StatusOr<std::optional<TimeMs>> TimeField(const Json& body, const char* name) {
  FB_ASSIGN_OR_RETURN(std::string text, StringField(body, name, false));
  if (text.empty()) return std::optional<TimeMs>();
  auto t = ParseTime(text);
  if (!t) return InvalidArgument(std::string("'") + name + "' must be an RFC 3339 time");
  return std::optional<TimeMs>(*t);
}

// Reads the optional "incident" field ("INC-42", "42" or 42). A malformed id is
// kInvalidArgument; whether the incident exists is the domain's check (kNotFound).
inline StatusOr<std::optional<int64_t>> IncidentField(const Json& body) {
  auto it = body.find("incident");
  if (it == body.end() || it->is_null()) return std::optional<int64_t>();
  std::optional<int64_t> id;
  if (it->is_string()) id = ParseIncidentId(it->get<std::string>());
  if (it->is_number_integer() && it->get<int64_t>() > 0) id = it->get<int64_t>();
  if (!id) return InvalidArgument("'incident' must be an incident id such as INC-42");
  return id;
}

// Reads an optional integer query parameter in lo..hi; `fallback` when absent.
inline StatusOr<int> IntParam(const Request& req, const std::string& name, int fallback, int lo, int hi) {
  std::string v = req.Query(name);
  if (v.empty()) return fallback;
  try {
    size_t used = 0;
    int n = std::stoi(v, &used);
    if (used == v.size() && n >= lo && n <= hi) return n;
  } catch (const std::exception&) {
  }
  return InvalidArgument("'" + name + "' must be a whole number in " + std::to_string(lo) + ".." +
                         std::to_string(hi));
}

// Reads an optional RFC 3339 time query parameter; kInvalidArgument when present and not a time.
inline StatusOr<std::optional<TimeMs>> TimeParam(const Request& req, const std::string& name) {
  std::string v = req.Query(name);
  if (v.empty()) return std::optional<TimeMs>();
  auto t = ParseTime(v);
  if (!t) return InvalidArgument("'" + name + "' must be an RFC 3339 time");
  return std::optional<TimeMs>(*t);
}

// A page of a newest-first listing: ?limit= (1..1000, default `fallback`) and ?before=<id>.
struct PageParams {
  int limit = 100;
  int64_t before = 0;
};
inline StatusOr<PageParams> PageParamsOf(const Request& req, int fallback) {
  PageParams p;
  FB_ASSIGN_OR_RETURN(p.limit, IntParam(req, "limit", fallback, 1, 1000));
  FB_ASSIGN_OR_RETURN(int before, IntParam(req, "before", 0, 0, std::numeric_limits<int>::max()));
  p.before = before;
  return p;
}

inline StatusOr<int64_t> IncidentIdParam(const Request& req) {
  const std::string& raw = req.params.at("id");
  auto id = ParseIncidentId(raw);
  if (!id) return NotFound("no incident '" + raw + "' (ids look like INC-42)");
  return *id;
}

// An error answer with the lint findings behind it: the usual error body plus "findings".
inline Response ErrorWithFindings(const Status& status, const Json& findings) {
  Response r = http::Error(status);
  Json body = Json::parse(r.body, nullptr, false);
  if (body.is_object()) {
    body["findings"] = findings;
    r.body = body.dump();
  }
  return r;
}

template <typename T, typename Fn>
Response Respond(StatusOr<T> result, int status, Fn encode) {
  if (!result.ok()) return http::Error(result.status());
  return http::Json(status, encode(*result));
}

}  // namespace firebreak::api
