// Server: HTTP/1.1 over Boost.Beast, asynchronous, on a pool of worker threads.
//
// Keeps connections alive, accepts sized and chunked request bodies up to a limit (413 above
// it), answers unparseable bytes with a JSON 400 and closes that connection, and shuts down
// gracefully: Shutdown() stops accepting, closes idle connections and open event streams,
// answers waiting asynchronous requests through their deadline callback, lets requests in
// flight finish (up to a grace period) and then returns. Asynchronous routes (long-poll, SSE)
// hold no thread while they wait. Owns sockets and threads; borrows the Router
// and HttpMetrics, which must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

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
  std::chrono::seconds idle_timeout{60};
  // How often an open event stream gets a comment line, so that proxies keep it open.
  std::chrono::milliseconds sse_keepalive{15000};
  // An event stream whose client reads slower than this much backlog is closed.
  size_t max_stream_buffer_bytes = 1 << 20;
};

class Server {
 public:
  // Binds and listens; returns kUnavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<Server>> Create(const ServerOptions& options,
                                                  const Router& router, HttpMetrics& metrics);
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
