// HttpMetrics: request counts and latency histograms per route, in Prometheus text format.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace firebreak::http {

class HttpMetrics {
 public:
  // Records one answered request. `route` is the matched pattern ("unmatched" when none), so
  // label cardinality stays bounded. Thread-safe.
  void Observe(const std::string& method, const std::string& route, int status, double seconds);

  // Appends the metrics in Prometheus text exposition format. Thread-safe.
  void Render(std::string& out) const;

  std::atomic<int64_t> connections_open{0};
  std::atomic<int64_t> connections_total{0};
  std::atomic<int64_t> requests_in_flight{0};
  std::atomic<int64_t> malformed_requests{0};
  std::atomic<int64_t> streams_open{0};  // server-sent-event streams

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;  // GUARDED_BY(mu_)
  std::map<std::pair<std::string, std::string>, Histogram> latency_;        // GUARDED_BY(mu_)
};

}  // namespace firebreak::http
