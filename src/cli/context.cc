#include "cli/context.h"

#include <cctype>
#include <cstdio>
#include <iostream>

#include "common/clock.h"

namespace firebreak::cli {

std::string Str(const Json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

std::string Short(const std::string& iso) {
  if (iso.size() < 19) return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 8) + "Z";
}

std::string DetailsText(const Json& details) {
  if (!details.is_object()) return details.dump();
  if (details.contains("text") && details.size() == 1) return details["text"].get<std::string>();
  std::string out;
  for (const auto& [key, value] : details.items()) {
    if (!out.empty()) out += "  ";
    std::string v = value.is_string() ? value.get<std::string>() : value.dump();
    if (key.size() > 3 && key.substr(key.size() - 3) == "_ms" && value.is_number_integer()) {
      v = FormatDuration(value.get<int64_t>());
    }
    out += key + "=" + v;
  }
  return out;
}

std::string Escape(const std::string& segment) {
  std::string out;
  for (char c : segment) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out += c;
    } else {
      char buf[4];
      std::snprintf(buf, sizeof(buf), "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

std::optional<Json> Context::Call(const std::string& method, const std::string& path,
                                  const std::optional<Json>& body) {
  if (body) return CallRaw(method, path, "application/json", body->dump());
  return CallRaw(method, path, "", "");
}

namespace {

// Prints why a call failed; returns whether it succeeded (2xx).
bool Succeeded(const StatusOr<ApiResponse>& res) {
  if (!res.ok()) {
    std::cerr << "error: " << res.status().message() << "\n";
    return false;
  }
  if (res->status < 200 || res->status > 299) {
    std::string message = res->raw;
    if (res->body.is_object() && res->body.contains("error")) {
      message = Str(res->body["error"], "message");
    }
    std::cerr << "error: " << message << " (HTTP " << res->status << ")\n";
    return false;
  }
  return true;
}

}  // namespace

std::optional<Json> Context::CallRaw(const std::string& method, const std::string& path,
                                     const std::string& content_type, const std::string& body) {
  auto res = client_.CallRaw(method, path, content_type, body);
  if (!Succeeded(res)) return std::nullopt;
  return res->body;
}

std::optional<std::string> Context::CallText(const std::string& method, const std::string& path) {
  auto res = client_.CallRaw(method, path, "", "");
  if (!Succeeded(res)) return std::nullopt;
  return res->raw;
}

int Context::PrintJson(const Json& j) {
  std::cout << j.dump(2) << "\n";
  return 0;
}

}  // namespace firebreak::cli
