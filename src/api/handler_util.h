// Helpers shared by the API handlers: authentication guard, JSON field access, responses.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "auth/auth.h"
#include "http/router.h"
#include "incidents/incident_service.h"

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

inline StatusOr<int64_t> IncidentIdParam(const Request& req) {
  const std::string& raw = req.params.at("id");
  auto id = ParseIncidentId(raw);
  if (!id) return NotFound("no incident '" + raw + "' (ids look like INC-42)");
  return *id;
}

template <typename T, typename Fn>
Response Respond(StatusOr<T> result, int status, Fn encode) {
  if (!result.ok()) return http::Error(result.status());
  return http::Json(status, encode(*result));
}

}  // namespace firebreak::api
