#include "http/metrics.h"

#include <cstdio>

namespace firebreak::http {
namespace {

std::string Labels(const std::string& method, const std::string& route) {
  // Route patterns and methods come from our own registrations: no escaping needed beyond '"'.
  std::string r;
  for (char c : route) r += (c == '"' || c == '\\') ? '_' : c;
  return "method=\"" + method + "\",route=\"" + r + "\"";
}

}  // namespace

std::string_view HttpMetrics::MethodLabel(std::string_view method) {
  static constexpr std::array<std::string_view, 7> kKnown = {"GET",   "POST", "PUT",    "DELETE",
                                                             "PATCH", "HEAD", "OPTIONS"};
  for (std::string_view known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

void HttpMetrics::Observe(std::string_view method, const std::string& route, int status,
                          double seconds) {
  std::string label(MethodLabel(method));
  std::lock_guard<std::mutex> lock(mu_);
  requests_[{label, route, status}]++;
  Histogram& h = latency_[{label, route}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) h.buckets[i]++;
  }
  h.count++;
  h.sum += seconds;
}

void HttpMetrics::Render(std::string& out) const {
  char buf[64];
  out += "# HELP firebreak_http_connections_open Open HTTP connections.\n";
  out += "# TYPE firebreak_http_connections_open gauge\n";
  out += "firebreak_http_connections_open " + std::to_string(connections_open.load()) + "\n";
  out += "# HELP firebreak_http_connections_total Accepted HTTP connections.\n";
  out += "# TYPE firebreak_http_connections_total counter\n";
  out += "firebreak_http_connections_total " + std::to_string(connections_total.load()) + "\n";
  out += "# HELP firebreak_http_requests_in_flight Requests being handled.\n";
  out += "# TYPE firebreak_http_requests_in_flight gauge\n";
  out += "firebreak_http_requests_in_flight " + std::to_string(requests_in_flight.load()) + "\n";
  out += "# HELP firebreak_http_streams_open Open server-sent-event streams.\n";
  out += "# TYPE firebreak_http_streams_open gauge\n";
  out += "firebreak_http_streams_open " + std::to_string(streams_open.load()) + "\n";
  out += "# HELP firebreak_http_malformed_requests_total Requests that could not be parsed.\n";
  out += "# TYPE firebreak_http_malformed_requests_total counter\n";
  out += "firebreak_http_malformed_requests_total " + std::to_string(malformed_requests.load()) + "\n";
  out += "# HELP firebreak_http_connections_refused_total Connections refused over the total or "
         "per-client limit.\n";
  out += "# TYPE firebreak_http_connections_refused_total counter\n";
  out += "firebreak_http_connections_refused_total " + std::to_string(connections_refused.load()) +
         "\n";
  out += "# HELP firebreak_http_accept_errors_total Failed accepts (for example out of file "
         "descriptors).\n";
  out += "# TYPE firebreak_http_accept_errors_total counter\n";
  out += "firebreak_http_accept_errors_total " + std::to_string(accept_errors.load()) + "\n";
  out += "# HELP firebreak_http_read_timeouts_total Connections closed because headers or body "
         "came too slowly.\n";
  out += "# TYPE firebreak_http_read_timeouts_total counter\n";
  out += "firebreak_http_read_timeouts_total " + std::to_string(read_timeouts.load()) + "\n";

  std::lock_guard<std::mutex> lock(mu_);
  out += "# HELP firebreak_http_requests_total Answered HTTP requests.\n";
  out += "# TYPE firebreak_http_requests_total counter\n";
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    out += "firebreak_http_requests_total{" + Labels(method, route) + ",status=\"" +
           std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP firebreak_http_request_duration_seconds Time to answer a request.\n";
  out += "# TYPE firebreak_http_request_duration_seconds histogram\n";
  for (const auto& [key, h] : latency_) {
    std::string labels = Labels(key.first, key.second);
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      std::snprintf(buf, sizeof(buf), "%g", kBuckets[i]);
      out += "firebreak_http_request_duration_seconds_bucket{" + labels + ",le=\"" + buf + "\"} " +
             std::to_string(h.buckets[i]) + "\n";
    }
    out += "firebreak_http_request_duration_seconds_bucket{" + labels + ",le=\"+Inf\"} " +
           std::to_string(h.count) + "\n";
    std::snprintf(buf, sizeof(buf), "%.6f", h.sum);
    out += "firebreak_http_request_duration_seconds_sum{" + labels + "} " + buf + "\n";
    out += "firebreak_http_request_duration_seconds_count{" + labels + "} " +
           std::to_string(h.count) + "\n";
  }
}

}  // namespace firebreak::http
