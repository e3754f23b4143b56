// Router: the HTTP-independent surface that API handlers see.
//
// A handler receives a Request (method, path, decoded query, path parameters, headers, body)
// and returns a Response. Handlers are synchronous and run on the server's worker threads; they
// must be thread-safe. Routes are registered once at start and read-only afterwards.
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace firebreak::http {

struct Request {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received, with the query
  std::string path;    // without the query, percent-decoded
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> params;             // from "{name}" segments of the route
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  std::string body;

  // Returns the first header with this (lower-case) name, or "".
  std::string_view Header(std::string_view lower_name) const;
  // Returns the query parameter, or `fallback`.
  std::string Query(const std::string& name, const std::string& fallback = "") const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// Returns a JSON response.
Response Json(int status, const nlohmann::json& body);

// Returns the HTTP status for a Status code: the one mapping in the code base.
int HttpStatusFor(StatusCode code);

// Returns {"error": {"code": ..., "message": ...}} with the status HttpStatusFor gives.
Response Error(const Status& status);

// Parses a request body as a JSON object; kInvalidArgument naming the problem otherwise.
StatusOr<nlohmann::json> ParseJsonObject(const std::string& body);

using Handler = std::function<Response(const Request&)>;

class Router {
 public:
  // Registers `handler` for `method` and `pattern` ("/api/v1/incidents/{id}/timeline").
  void Add(std::string method, std::string pattern, Handler handler);

  struct Match {
    const Handler* handler = nullptr;  // null when nothing matched
    std::string pattern;               // the matched route, for metrics ("" when none)
    bool method_not_allowed = false;   // the path exists with other methods
    std::string allowed_methods;       // for the Allow header
  };

  // Finds the route for a request and fills request.params. Thread-safe after registration.
  Match Find(Request& request) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Decodes %XX escapes (and '+' as space when `plus_as_space`); returns nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space);

}  // namespace firebreak::http
