#include "http/router.h"

#include "common/text.h"

namespace firebreak::http {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

std::string_view Request::Header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

std::string Request::Query(const std::string& name, const std::string& fallback) const {
  auto it = query.find(name);
  return it == query.end() ? fallback : it->second;
}

Response Json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body += '\n';
  return r;
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kUnauthenticated: return 401;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kConflict: return 409;
    case StatusCode::kAlreadyExists: return 409;
    case StatusCode::kTooLarge: return 413;
    case StatusCode::kUnsupportedMediaType: return 415;
    case StatusCode::kResourceExhausted: return 429;
    case StatusCode::kUnavailable: return 503;
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

Response Error(const Status& status) {
  Response r = Json(HttpStatusFor(status.code()),
                    {{"error", {{"code", StatusCodeName(status.code())},
                                {"message", status.message()}}}});
  if (status.code() == StatusCode::kUnauthenticated) {
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
  }
  return r;
}

StatusOr<nlohmann::json> ParseJsonObject(const std::string& body) {
  if (body.empty()) return InvalidArgument("the request needs a JSON object body");
  // Parsing, copying and dumping JSON all recurse: the depth is bounded before any of them.
  FB_RETURN_IF_ERROR(CheckJsonDepth(body, kMaxJsonDepth));
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument("the body is not valid JSON");
  if (!j.is_object()) return InvalidArgument("the body must be a JSON object");
  return j;
}

std::string FormatSse(const SseEvent& event) {
  std::string out;
  out.reserve(event.data.size() + 64);
  if (!event.id.empty()) out += "id: " + event.id + "\n";
  if (!event.event.empty()) out += "event: " + event.event + "\n";
  size_t start = 0;
  while (true) {
    size_t nl = event.data.find('\n', start);
    out += "data: ";
    out.append(event.data, start, nl == std::string::npos ? std::string::npos : nl - start);
    out += '\n';
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  out += '\n';
  return out;
}

void Router::Add(std::string method, std::string pattern, Handler handler) {
  Route r;
  for (auto seg : SplitPath(pattern)) r.segments.emplace_back(seg);
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::AddAsync(std::string method, std::string pattern, AsyncHandler handler) {
  Route r;
  for (auto seg : SplitPath(pattern)) r.segments.emplace_back(seg);
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.async_handler = std::move(handler);
  routes_.push_back(std::move(r));
}

Router::Match Router::Find(Request& request) const {
  Match match;
  auto segments = SplitPath(request.path);
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (size_t i = 0; i < segments.size() && ok; ++i) {
      const std::string& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        params[want.substr(1, want.size() - 2)] = std::string(segments[i]);
      } else {
        ok = want == segments[i];
      }
    }
    if (!ok) continue;
    if (route.method != request.method) {
      match.method_not_allowed = true;
      match.pattern = route.pattern;
      match.allowed_methods += (match.allowed_methods.empty() ? "" : ", ") + route.method;
      continue;
    }
    request.params = std::move(params);
    if (route.async_handler) {
      match.async_handler = &route.async_handler;
    } else {
      match.handler = &route.handler;
    }
    match.pattern = route.pattern;
    match.method_not_allowed = false;
    return match;
  }
  return match;
}

Status ParseTarget(std::string_view target, Request& request) {
  size_t q = target.find('?');
  FB_ASSIGN_OR_RETURN(request.path, DecodePath(target.substr(0, q)));
  if (q == std::string_view::npos) return Status::Ok();
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    auto key = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return InvalidArgument("bad query string");
    if (!key->empty()) request.query.emplace(std::move(*key), std::move(*value));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return Status::Ok();
}

std::optional<std::string> PercentDecode(std::string_view in, bool plus_as_space) {
  std::string out;
  out.reserve(in.size());
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

StatusOr<std::string> DecodePath(std::string_view raw) {
  for (size_t i = 0; i + 2 < raw.size(); ++i) {
    if (raw[i] != '%') continue;
    char hi = raw[i + 1], lo = static_cast<char>(std::tolower(static_cast<unsigned char>(raw[i + 2])));
    if ((hi == '2' && lo == 'f') || (hi == '5' && lo == 'c')) {
      return InvalidArgument("bad request target: the path has an encoded '/' or '\\'");
    }
  }
  auto path = PercentDecode(raw, false);
  if (!path) return InvalidArgument("bad request target: bad %-escape in the path");
  if (path->empty() || (*path)[0] != '/') {
    return InvalidArgument("bad request target: the path must start with '/'");
  }
  for (unsigned char c : *path) {
    if (c < 0x20 || c == 0x7f) {
      return InvalidArgument("bad request target: the path has a NUL or control byte");
    }
  }
  for (std::string_view segment : SplitPath(*path)) {
    if (segment == "." || segment == "..") {
      return InvalidArgument("bad request target: the path has a '.' or '..' segment");
    }
  }
  if (!IsValidUtf8(*path)) return InvalidArgument("bad request target: the path is not UTF-8");
  return *std::move(path);
}

}  // namespace firebreak::http
