// Receiver: a local HTTP/1.1 endpoint for tests of outbound deliveries (PagerDuty, Slack,
// webhooks). Listens on 127.0.0.1, port 0, in its own thread (Boost.Beast over Asio); records
// every request and answers from a script: the statuses queued by FailNext first, then the
// default status (202). An optional delay before each answer makes a slow endpoint for timeout
// tests. Thread-safe; Stop() (or the destructor) closes everything and joins the thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace firebreak::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;                                        // path and query, e.g. "/pd"
  std::vector<std::pair<std::string, std::string>> headers;  // as received
  std::string body;
  int64_t received_at_ms = 0;  // system clock, UTC milliseconds
  int answered_status = 0;     // the status the script chose for it (0: connection closed)

  // Returns the first header with this name (case-insensitive), or "" when there is none.
  std::string Header(const std::string& name) const;
  // Returns the body parsed as JSON, or null when it is not JSON.
  nlohmann::json Json() const;
};

class Receiver {
 public:
  Receiver();
  ~Receiver();  // Stop()s
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Binds 127.0.0.1:0 and starts serving in a new thread; returns false when binding failed.
  bool Start();
  // Closes the listener and every connection (also ones waiting out a delay) and joins.
  void Stop();

  uint16_t port() const { return port_; }
  // Returns "http://127.0.0.1:<port>" + path.
  std::string url(const std::string& path = "/") const;

  // Answers the next `n` requests with `status` (after any already queued), with a
  // Retry-After header when `retry_after` is not empty. Status 0 closes the connection
  // without answering (the request is still recorded).
  void FailNext(int n, int status, const std::string& retry_after = "");
  // Sets the status (default 202) and body (default a PagerDuty-style success) used once the
  // FailNext queue is empty.
  void SetDefaultResponse(int status, const std::string& body);
  // Waits this long before each answer from now on (0: none).
  void SetDelayMs(int ms);

  // Waits until at least `n` requests have arrived; returns false when `timeout` passes first.
  bool WaitForRequests(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  bool WaitForRequests(size_t n, int timeout_ms) {
    return WaitForRequests(n, std::chrono::milliseconds(timeout_ms));
  }
  // Returns a copy of every request received so far, in arrival order.
  std::vector<ReceivedRequest> requests() const;
  size_t request_count() const;
  // Forgets the requests received so far.
  void ClearRequests();

  struct Impl;  // public for the connection handlers in receiver.cc

 private:
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace firebreak::testing
