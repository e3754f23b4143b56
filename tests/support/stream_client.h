// StreamClient: one raw HTTP connection held open, for tests of long-poll and server-sent
// events: send a request, then read until some text arrives, the server closes, or a timeout.
#pragma once

#include <cstdint>
#include <string>

namespace firebreak::testing {

class StreamClient {
 public:
  // Connects to 127.0.0.1:port; connected() is false when that failed.
  explicit StreamClient(uint16_t port);
  ~StreamClient();
  StreamClient(const StreamClient&) = delete;
  StreamClient& operator=(const StreamClient&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends a GET with these extra header lines ("Name: value\r\n" each).
  void Get(const std::string& path, const std::string& token,
           const std::string& extra_headers = "");
  // Reads until everything received so far contains `text`; returns whether it does. Stops
  // early when the server closes the connection.
  bool ReadUntil(const std::string& text, int timeout_ms = 5000);
  // Reads until the server closes the connection; returns whether it did within the timeout.
  bool ReadUntilClosed(int timeout_ms = 5000);
  // Closes the connection from this side.
  void Close();
  // Everything received so far.
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool peer_closed_ = false;
  std::string received_;
};

}  // namespace firebreak::testing
