#include "paging/sender.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <memory>
#include <mutex>

namespace firebreak::paging {
namespace {

constexpr size_t kMaxErrorChars = 200;

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Sink {
  std::string body;
  bool overflow = false;
};

size_t WriteBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  size_t n = size * nmemb;
  size_t room = HttpSender::kMaxResponseBytes - sink->body.size();
  if (n > room) {
    sink->body.append(data, room);
    sink->overflow = true;
    return 0;  // stops the transfer: the answer's status is all that matters
  }
  sink->body.append(data, n);
  return n;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// A printable, single-line excerpt of a response body for the delivery row.
std::string Excerpt(const std::string& body, size_t max) {
  std::string out;
  for (char ch : body) {
    if (out.size() >= max) break;
    unsigned char u = static_cast<unsigned char>(ch);
    out += (u < 0x20 || u == 0x7f) ? ' ' : ch;
  }
  return out;
}

std::optional<std::string> ResponseHeader(CURL* easy, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(easy, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == nullptr) {
    return std::nullopt;
  }
  return std::string(h->value);
}

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct ListDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kDelivered:
      return "delivered";
    case Outcome::kRetry:
      return "retry";
    case Outcome::kPermanent:
      return "permanent";
  }
  return "retry";
}

SendResult HttpSender::Post(const HttpPost& post) {
  GlobalInit();
  auto started = std::chrono::steady_clock::now();
  SendResult result;
  auto finish = [&](SendResult r) {
    r.elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - started)
                       .count();
    if (r.error.size() > kMaxErrorChars) r.error.resize(kMaxErrorChars);
    return r;
  };
  auto permanent = [&](std::string error) {
    SendResult r;
    r.outcome = Outcome::kPermanent;
    r.error = std::move(error);
    return finish(std::move(r));
  };

  if (post.url.empty()) return permanent("no URL");
  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) {
    result.error = "could not create an HTTP client";
    return finish(std::move(result));
  }

  std::unique_ptr<curl_slist, ListDeleter> headers;
  bool has_content_type = false;
  for (const auto& [name, value] : post.headers) {
    if (name.empty() || name.find_first_of(":\r\n") != std::string::npos ||
        value.find_first_of("\r\n") != std::string::npos) {
      return permanent("invalid header \"" + Excerpt(name, 40) + "\"");
    }
    if (EqualsIgnoreCase(name, "Content-Type")) has_content_type = true;
    std::string line = name + ": " + value;
    headers.reset(curl_slist_append(headers.release(), line.c_str()));
  }
  if (!has_content_type) {
    headers.reset(curl_slist_append(headers.release(), "Content-Type: application/json"));
  }
  // No "Expect: 100-continue" round trip before larger bodies.
  headers.reset(curl_slist_append(headers.release(), "Expect:"));

  int timeout_ms = post.timeout_ms > 0 ? post.timeout_ms : 10'000;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  Sink sink;
  CURL* e = easy.get();
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(e, CURLOPT_URL, post.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, post.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(e, CURLOPT_USERAGENT, "firebreak");
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &sink);

  CURLcode rc = curl_easy_perform(e);
  long status = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
  bool answered = status > 0 && (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && sink.overflow));

  if (!answered) {
    result.http_status = 0;
    switch (rc) {
      case CURLE_UNSUPPORTED_PROTOCOL:
        return permanent("scheme not allowed (http or https only)");
      case CURLE_URL_MALFORMAT:
        return permanent("malformed URL");
      case CURLE_OPERATION_TIMEDOUT:
        result.error = "timeout after " + std::to_string(timeout_ms) + " ms";
        break;
      case CURLE_COULDNT_CONNECT: {
        long os_errno = 0;
        curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
        result.error = os_errno == ECONNREFUSED ? "connection refused" : "could not connect";
        break;
      }
      case CURLE_COULDNT_RESOLVE_HOST:
        result.error = "could not resolve host";
        break;
      default:
        result.error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(rc);
    }
    result.outcome = Outcome::kRetry;
    return finish(std::move(result));
  }

  result.http_status = static_cast<int>(status);
  result.response_body = std::move(sink.body);
  if (status >= 200 && status < 300) {
    result.outcome = Outcome::kDelivered;
    return finish(std::move(result));
  }
  result.error = "HTTP " + std::to_string(status);
  if (status == 429 || status == 503) {
    if (auto value = ResponseHeader(e, "Retry-After")) {
      TimeMs now = SystemClock().NowMs();
      if (auto date = ResponseHeader(e, "Date")) {
        time_t t = curl_getdate(date->c_str(), nullptr);
        if (t >= 0) now = static_cast<TimeMs>(t) * 1000;
      }
      result.retry_after_ms = ParseRetryAfter(*value, now);
    }
  }
  if (status == 408 || status == 429 || status >= 500) {
    result.outcome = Outcome::kRetry;
  } else {
    result.outcome = Outcome::kPermanent;
    if (status >= 300 && status < 400) {
      result.error += " (redirects are not followed)";
    } else if (!result.response_body.empty()) {
      result.error += ": " + Excerpt(result.response_body, 120);
    }
  }
  return finish(std::move(result));
}

int64_t BackoffMs(int attempt, int64_t base_ms, int64_t max_ms, double rand01) {
  if (base_ms <= 0 || max_ms <= 0) return 0;
  if (attempt < 1) attempt = 1;
  if (!(rand01 >= 0.0)) rand01 = 0.0;  // also NaN
  if (rand01 >= 1.0) rand01 = std::nextafter(1.0, 0.0);
  int64_t cap = max_ms;
  // base * 2^(attempt-1), stopping at max before it can overflow.
  int64_t grown = base_ms;
  for (int i = 1; i < attempt && grown < max_ms; ++i) grown *= 2;
  cap = std::min(cap, grown);
  return static_cast<int64_t>(std::floor(rand01 * static_cast<double>(cap)));
}

std::optional<int64_t> ParseRetryAfter(std::string_view value, TimeMs now) {
  size_t b = value.find_first_not_of(" \t");
  size_t e = value.find_last_not_of(" \t\r\n");
  if (b == std::string_view::npos) return std::nullopt;
  value = value.substr(b, e - b + 1);
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return int64_t{999'999'999} * 1000;  // absurdly far: the caller caps it
    return static_cast<int64_t>(std::stoll(std::string(value))) * 1000;
  }
  time_t t = curl_getdate(std::string(value).c_str(), nullptr);
  if (t < 0) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(t) * 1000 - now);
}

}  // namespace firebreak::paging
