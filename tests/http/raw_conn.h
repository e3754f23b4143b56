// RawConn: one raw client connection for tests of the HTTP server's edge cases: send any
// bytes, read whole answers or until the server closes, and connect from another loopback
// address (127.0.0.2 is a different client to the server).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace firebreak::testing {

// One raw client connection, optionally from another loopback address (127.0.0.2 counts as a
// different client).
class RawConn {
 public:
  explicit RawConn(uint16_t port, const char* from = "127.0.0.1") {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return;
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, from, &local.sin_addr);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), sizeof(local)) != 0 ||
        connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawConn() { Close(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  // Sends all bytes; returns false when the connection is gone.
  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  // Reads until `text` arrived, the peer closed, or the timeout; returns whether it arrived.
  bool ReadUntil(std::string_view text, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (received_.find(text) == std::string::npos) {
      if (closed_ || !WaitReadable(deadline)) return false;
    }
    return true;
  }
  // Reads one whole answer (head and Content-Length body); returns whether it arrived.
  bool ReadAnswer(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    size_t head_end;
    while ((head_end = received_.find("\r\n\r\n")) == std::string::npos) {
      if (closed_ || !WaitReadable(deadline)) return false;
    }
    size_t at = received_.find("Content-Length: ");
    size_t length = at < head_end ? std::stoul(received_.substr(at + 16)) : 0;
    while (received_.size() < head_end + 4 + length) {
      if (closed_ || !WaitReadable(deadline)) return false;
    }
    return true;
  }
  // Reads until the peer closes; returns whether it did within the timeout.
  bool ReadUntilClosed(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (!closed_) {
      if (!WaitReadable(deadline)) return false;
    }
    return true;
  }
  bool closed() const { return closed_; }
  const std::string& received() const { return received_; }
  void Clear() { received_.clear(); }

 private:
  // Waits for bytes or a close until the deadline, and takes them; false on timeout.
  bool WaitReadable(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left))) <= 0) return false;
    char buf[16384];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = true;
    } else {
      received_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }

  int fd_ = -1;
  bool closed_ = false;
  std::string received_;
};

}  // namespace firebreak::testing
