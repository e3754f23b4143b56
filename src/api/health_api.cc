// GET /healthz (liveness), GET /readyz (readiness) and GET /metrics.
#include "api/routes.h"

#include <algorithm>
#include <sstream>

#include "api/handler_util.h"

namespace firebreak::api {

void RegisterHealth(http::Router& r, const Deps& d) {
  r.Add("GET", "/healthz", [&d](const Request&) {
    // A read transaction proves the store answers, not only that the process is up.
    Status s = d.store.Read([](Txn& txn) { return txn.tokens().Count().status(); });
    if (!s.ok()) return http::Error(Unavailable("store unavailable: " + s.message()));
    return http::Json(200, {{"status", "ok"}, {"version", d.version}});
  });
  r.Add("GET", "/readyz", [&d](const Request&) {
    std::vector<std::string> warming = d.readiness.WarmingAreas();
    Response res = http::Json(warming.empty() ? 200 : 503,
                              {{"ready", warming.empty()}, {"warming", warming}});
    if (!warming.empty()) res.headers.emplace_back("Retry-After", "2");
    return res;
  });
  r.Add("GET", "/metrics", Guard(d.tokens, Role::kViewer, [&d](const Request&, const Principal&) {
    Response res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    d.metrics.Render(res.body);
    StoreStats st = d.store.Stats();
    auto gauge = [&](const char* name, const char* help, const char* type, int64_t v) {
      res.body += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type +
                  "\n" + name + "{backend=\"" + st.backend + "\"} " + std::to_string(v) + "\n";
    };
    gauge("firebreak_store_schema_version", "Applied schema migrations.", "gauge", st.schema_version);
    gauge("firebreak_store_file_bytes", "Size of the store's main file.", "gauge", st.file_bytes);
    gauge("firebreak_store_wal_bytes", "Size of the store's write-ahead log.", "gauge", st.wal_bytes);
    gauge("firebreak_store_write_transactions_total", "Committed write transactions.", "counter",
          st.write_transactions);
    gauge("firebreak_store_failed_write_transactions_total", "Rolled back write transactions.",
          "counter", st.failed_write_transactions);
    gauge("firebreak_store_read_transactions_total", "Read transactions.", "counter",
          st.read_transactions);
    DetectionStats ds = d.detection.Stats();
    auto metric = [&](const char* name, const char* help, double v) {
      std::ostringstream line;
      line << "# HELP " << name << " " << help << "\n# TYPE " << name << " counter\n"
           << name << " " << v << "\n";
      res.body += line.str();
    };
    metric("firebreak_detector_traces_total", "Traces inspected by the detectors.",
           static_cast<double>(ds.traces));
    metric("firebreak_detector_scanned_bytes_total", "Bytes of text scanned for personal data.",
           static_cast<double>(ds.bytes_scanned));
    metric("firebreak_detector_scan_seconds_total", "Time spent scanning for personal data.",
           static_cast<double>(ds.scan_ns) / 1e9);
    metric("firebreak_detector_signals_total", "Signals recorded by the detectors.",
           static_cast<double>(ds.signals));
    metric("firebreak_detector_failures_total",
           "Trace inspections that failed and were queued for a retry.",
           static_cast<double>(ds.failures));
    if (auto counts = d.pager.DeliveryCounts(); counts.ok()) {
      res.body += "# HELP firebreak_deliveries Outbox deliveries (pages, webhooks) by status; a "
                  "growing pending count means paging itself is failing.\n"
                  "# TYPE firebreak_deliveries gauge\n";
      for (const auto& [status, n] : *counts) {
        res.body += "firebreak_deliveries{status=\"" + status + "\"} " + std::to_string(n) + "\n";
      }
    }
    // Post-mortems past their 48 hours, from the store (docs/postmortem.md).
    if (auto overdue = d.postmortems.OverdueCount(); overdue.ok()) {
      res.body += "# HELP firebreak_postmortems_overdue Resolved incidents whose post-mortem is "
                  "not published 48 hours after the resolution.\n"
                  "# TYPE firebreak_postmortems_overdue gauge\n"
                  "firebreak_postmortems_overdue " + std::to_string(*overdue) + "\n";
    }
    // Time to contain of every contained incident, from the store (so it survives restarts).
    std::vector<int64_t> contain_ms;
    Status read = d.store.Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(contain_ms, txn.incidents().TimesToContain());
      return Status::Ok();
    });
    if (read.ok()) {
      static constexpr double kBuckets[] = {60, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400};
      std::ostringstream h;
      h << "# HELP firebreak_incident_time_to_contain_seconds Time from detection to the last "
           "isolation step, per contained incident.\n"
           "# TYPE firebreak_incident_time_to_contain_seconds histogram\n";
      double sum = 0;
      for (int64_t ms : contain_ms) sum += static_cast<double>(ms) / 1000.0;
      for (double le : kBuckets) {
        size_t n = std::count_if(contain_ms.begin(), contain_ms.end(),
                                 [le](int64_t ms) { return static_cast<double>(ms) / 1000.0 <= le; });
        h << "firebreak_incident_time_to_contain_seconds_bucket{le=\"" << le << "\"} " << n << "\n";
      }
      h << "firebreak_incident_time_to_contain_seconds_bucket{le=\"+Inf\"} " << contain_ms.size()
        << "\nfirebreak_incident_time_to_contain_seconds_sum " << sum
        << "\nfirebreak_incident_time_to_contain_seconds_count " << contain_ms.size() << "\n";
      res.body += h.str();
    }
    return res;
  }));
}

}  // namespace firebreak::api
