// HttpMetrics: request counts and latency histograms per route, in Prometheus text format.
//
// Labels come only from bounded sets, so no client can grow the output: the method is one of
// the known HTTP methods or "other", and the route is a registered pattern or one of the fixed
// names the server uses ("unmatched", "unparsed", "rejected").
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace firebreak::http {

class HttpMetrics {
 public:
  // Records one answered request. `route` must be a registered pattern or a fixed name
  // ("unmatched" when none matched); `method` is counted as itself when it is a known method
  // (GET, POST, PUT, DELETE, PATCH, HEAD, OPTIONS) and as "other" otherwise. Thread-safe.
  void Observe(std::string_view method, const std::string& route, int status, double seconds);

  // Returns `method` when it is a known method, "other" otherwise.
  static std::string_view MethodLabel(std::string_view method);

  // Appends the metrics in Prometheus text exposition format. Thread-safe.
  void Render(std::string& out) const;

  std::atomic<int64_t> connections_open{0};
  std::atomic<int64_t> connections_total{0};
  std::atomic<int64_t> requests_in_flight{0};
  std::atomic<int64_t> malformed_requests{0};
  std::atomic<int64_t> streams_open{0};  // server-sent-event streams
  std::atomic<int64_t> connections_refused{0};  // over the total or per-client limit
  std::atomic<int64_t> accept_errors{0};         // failed accepts (e.g. out of descriptors)
  std::atomic<int64_t> read_timeouts{0};         // connections cut for slow headers or body

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
