#include "cli/client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdlib>
#include <fstream>

namespace firebreak::cli {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string Env(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

ClientConfig ClientConfigFromEnvironment() {
  ClientConfig c;
  c.url = Env("FIREBREAK_URL", "http://127.0.0.1:7070");
  c.token = Env("FIREBREAK_TOKEN", "");
  if (c.token.empty()) {
    std::ifstream in(Env("FIREBREAK_DATA_DIR", "./firebreak-data") + "/admin.token");
    std::string line;
    if (in && std::getline(in, line)) c.token = Trim(line);
  }
  return c;
}

StatusOr<ApiResponse> ApiClient::Call(const std::string& method, const std::string& path,
                                      const std::optional<nlohmann::json>& body) const {
  if (body) return CallRaw(method, path, "application/json", body->dump());
  return CallRaw(method, path, "", "");
}

StatusOr<ApiResponse> ApiClient::CallRaw(const std::string& method, const std::string& path,
                                         const std::string& content_type,
                                         const std::string& body) const {
  std::string rest = config_.url;
  if (rest.rfind("http://", 0) != 0) {
    return InvalidArgument("FIREBREAK_URL must start with http:// (got '" + config_.url + "')");
  }
  rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::string prefix;
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    prefix = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  std::string host = rest, port = "80";
  if (size_t colon = rest.rfind(':'); colon != std::string::npos && rest.back() != ']') {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  try {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    stream.expires_after(std::chrono::seconds(60));
    stream.connect(resolver.resolve(host, port));
    bhttp::request<bhttp::string_body> req(bhttp::string_to_verb(method), prefix + path, 11);
    req.set(bhttp::field::host, rest);
    req.set(bhttp::field::user_agent, "firebreak-cli");
    if (!config_.token.empty()) req.set(bhttp::field::authorization, "Bearer " + config_.token);
    if (!content_type.empty()) {
      req.set(bhttp::field::content_type, content_type);
      req.body() = body;
    }
    req.prepare_payload();
    bhttp::write(stream, req);
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 << 20);
    bhttp::read(stream, buffer, parser);
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    ApiResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    out.raw = std::move(parser.get().body());
    out.body = nlohmann::json::parse(out.raw, nullptr, false);
    if (out.body.is_discarded()) out.body = nullptr;
    return out;
  } catch (const std::exception& e) {
    return Unavailable("cannot reach " + config_.url + ": " + e.what());
  }
}

}  // namespace firebreak::cli
