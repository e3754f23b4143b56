#include "support/stream_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>

namespace firebreak::testing {

StreamClient::StreamClient(uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Close();
}

StreamClient::~StreamClient() { Close(); }

void StreamClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

void StreamClient::Get(const std::string& path, const std::string& token,
                       const std::string& extra_headers) {
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
  req += extra_headers + "\r\n";
  size_t off = 0;
  while (fd_ >= 0 && off < req.size()) {
    ssize_t n = send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

bool StreamClient::ReadUntil(const std::string& text, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[16384];
  while (received_.find(text) == std::string::npos) {
    if (fd_ < 0 || peer_closed_) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      peer_closed_ = true;
      return received_.find(text) != std::string::npos;
    }
    received_.append(buf, static_cast<size_t>(n));
  }
  return true;
}

bool StreamClient::ReadUntilClosed(int timeout_ms) {
  ReadUntil(std::string(1, '\0'), timeout_ms);  // NUL never appears in HTTP text
  return peer_closed_;
}

}  // namespace firebreak::testing
