// Server: HTTP/1.1 over Boost.Beast, asynchronous, on a pool of worker threads.
//
// Keeps connections alive, accepts sized and chunked request bodies up to a limit (413 above
// it), answers unparseable bytes with a JSON 400 and closes that connection, and shuts down
// gracefully: Shutdown() stops accepting, closes idle connections and open event streams,
// answers waiting asynchronous requests through their deadline callback, lets requests in
// flight finish (up to a grace period) and then returns. Asynchronous routes (long-poll, SSE)
// hold no thread while they wait. Owns sockets and threads; borrows the Router, HttpMetrics and
// Clock, which must outlive it.
//
// Hardened against a hostile client: a Transfer-Encoding other than exactly `chunked`, or one
// next to a Content-Length, is a 400 and the connection closes (RFC 9112 6.3: no body can run as
// a second request); a path with an encoded '/', a NUL or a dot segment is a 400; connections
// over the total or per-address limit get a 503 with Retry-After and are closed; each API token
// (or client address without one) has a request rate (429 with Retry-After, nothing runs);
// headers, bodies and idle keep-alive connections each have a timeout; the accept loop backs
// off when it runs out of descriptors; a handler that throws answers 500 for that request only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "http/metrics.h"
#include "http/router.h"

namespace firebreak::http {

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 7070;  // 0: any free port
  int threads = 2;
  size_t max_body_bytes = 16 << 20;
  size_t max_header_bytes = 16 << 10;
  // How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60000};
  // The request line and headers must arrive within this (from the accept, or from the first
  // byte of a later request on the connection): slow senders (slowloris) are cut off.
  std::chrono::milliseconds header_timeout{10000};
  // The body must arrive within this once the headers are in.
  std::chrono::milliseconds body_timeout{60000};
  // Open connections in all and per client address; above either a new connection gets a 503
  // and is closed. 0: no limit.
  size_t max_connections = 10000;
  size_t max_connections_per_client = 1000;
  // Requests a second per Authorization header value (per client address without one), with
  // bursts up to `rate_limit_burst`; above it a request gets a 429 with Retry-After. 0: off.
  double rate_limit_per_second = 1000;
  double rate_limit_burst = 2000;
  // When accepting fails (out of descriptors), the loop waits this long, doubling up to the
  // maximum, instead of spinning.
  std::chrono::milliseconds accept_backoff_min{50};
  std::chrono::milliseconds accept_backoff_max{1000};
  // How often an open event stream gets a comment line, so that proxies keep it open.
  std::chrono::milliseconds sse_keepalive{15000};
  // An event stream whose client reads slower than this much backlog is closed.
  size_t max_stream_buffer_bytes = 1 << 20;
};

class Server {
 public:
  // Binds and listens; returns kUnavailable when the address cannot be bound. `clock` drives
  // the request-rate buckets.
  static StatusOr<std::unique_ptr<Server>> Create(const ServerOptions& options,
                                                  const Router& router, HttpMetrics& metrics,
                                                  const Clock& clock);
  virtual ~Server() = default;

  // Returns the bound port (useful with port 0).
  virtual uint16_t port() const = 0;

  // Starts the worker threads and returns at once.
  virtual void Start() = 0;

  // Stops accepting, closes idle connections, waits for requests in flight up to `grace`, then
  // stops the workers. Safe to call once from any thread other than a worker.
  virtual void Shutdown(std::chrono::milliseconds grace) = 0;
};

}  // namespace firebreak::http
