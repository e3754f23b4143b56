// Router: the HTTP-independent surface that API handlers see.
//
// A handler receives a Request (method, path, decoded query, path parameters, headers, body)
// and returns a Response. Handlers are synchronous and run on the server's worker threads; they
// must be thread-safe. Routes are registered once at start and read-only afterwards.
//
// Two more kinds serve requests that wait without holding a thread: an AsyncHandler receives a
// Completion it may complete later from any thread (long-poll), or turn into an EventStream of
// server-sent events (SSE). The server keeps no thread per waiting request.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
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

// One server-sent event. Multi-line data is sent as several "data:" lines.
struct SseEvent {
  std::string id;     // "" : no id line
  std::string event;  // "" : no event line (the client sees "message")
  std::string data;
};

// Returns the wire form of an event ("id: ...\nevent: ...\ndata: ...\n\n").
std::string FormatSse(const SseEvent& event);

// An open server-sent-event stream. Thread-safe; may outlive the connection: once the client
// went away (or the server shuts down) Send returns false and does nothing.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues an event for the client; returns false when the stream is closed.
  virtual bool Send(const SseEvent& event) = 0;
  // Ends the stream and the connection.
  virtual void Close() = 0;
  // Returns true once the stream is closed (by either side).
  virtual bool closed() const = 0;
  // Calls `fn` once when the stream closes (at once when it is already closed). The callback
  // runs on a server thread and must not block.
  virtual void OnClose(std::function<void()> fn) = 0;
};

// The pending answer of an asynchronous request. Thread-safe: the first of Respond or
// OpenStream wins, later calls do nothing. Dropping the last reference without answering
// answers 500.
class Completion {
 public:
  virtual ~Completion() = default;
  // Answers the request.
  virtual void Respond(Response response) = 0;
  // Answers with a `text/event-stream` response (status 200, `headers` added) and returns the
  // stream; the server sends a comment line every keep-alive interval so proxies keep it open.
  // Returns null when the request was already answered.
  virtual std::shared_ptr<EventStream> OpenStream(
      std::vector<std::pair<std::string, std::string>> headers = {}) = 0;
  // Answers with `on_timeout()` unless answered within `after`; also when the server shuts
  // down first, so waiting clients get an answer instead of a cut connection.
  virtual void SetDeadline(std::chrono::milliseconds after, std::function<Response()> on_timeout) = 0;
  // Returns true once answered.
  virtual bool done() const = 0;
};

// A handler that answers through `completion`, now or later, from any thread. It must return
// quickly: it runs on a worker thread.
using AsyncHandler = std::function<void(const Request&, std::shared_ptr<Completion> completion)>;

class Router {
 public:
  // Registers `handler` for `method` and `pattern` ("/api/v1/incidents/{id}/timeline").
  void Add(std::string method, std::string pattern, Handler handler);
  // Registers an asynchronous handler (long-poll, server-sent events).
  void AddAsync(std::string method, std::string pattern, AsyncHandler handler);

  struct Match {
    const Handler* handler = nullptr;  // null when nothing matched or the route is async
    const AsyncHandler* async_handler = nullptr;  // set for routes added with AddAsync
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
    Handler handler;             // exactly one of handler and async_handler is set
    AsyncHandler async_handler;
  };
  std::vector<Route> routes_;
};

// Fills request.path (DecodePath below) and request.query (keys and
// values percent-decoded, '+' as space) from a request target ("/api/v1/x?a=1&b=2");
// kInvalidArgument naming the problem for a bad escape or a target that is not a path.
Status ParseTarget(std::string_view target, Request& request);

// Decodes %XX escapes (and '+' as space when `plus_as_space`); returns nullopt on a bad escape.
std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space);

// Decodes the path of a request target (the part before '?'). Returns kInvalidArgument for what
// must never reach a route: no leading '/', a bad escape, an encoded '/' or '\' (it would route
// like a real separator), NUL or another control byte, a "." or ".." segment, invalid UTF-8.
StatusOr<std::string> DecodePath(std::string_view raw);

}  // namespace firebreak::http
