// DetectionPipeline: the built-in detectors, run on every trace as it is ingested (streaming,
// in the ingesting request, before the agent gets its answer), turning findings into signals
// through SignalService.
//
// Per trace:
//  - personal data (detect/pii.h) in the final response and in the arguments of tool calls
//    whose effect is external (the version's manifest says so; a tool the manifest does not
//    know counts as external) -> kind "pii";
//  - unauthorised actions: a tool the version's manifest does not declare, or one that needs
//    approval without an approver on the call -> "action.unauthorised" (external effect) or
//    "action.internal" (read-only);
//  - quality and drift (detect/quality.h) on first-time traces and on scores -> the monitor's
//    kinds "quality.degraded", "quality.category", "drift".
// Signals carry fingerprints, so inspecting a trace twice (late spans, a retry) records
// nothing new.
//
// Durable: every stored trace has a row in the store's inspection queue, written in the
// trace's own transaction. The ingesting request inspects its traces before it is answered and
// deletes their rows; what it could not inspect (a failure, or a crash before or during
// inspection) stays queued and is drained at start and by a background thread, a failure being
// retried with backoff. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "detect/pii.h"
#include "detect/quality.h"
#include "signals/signal_service.h"
#include "store/store.h"
#include "traces/trace_service.h"

namespace firebreak {

struct DetectionOptions {
  bool enabled = true;
  detect::PiiOptions pii;
  detect::QualityOptions quality;
};

struct DetectionStats {
  int64_t traces = 0;
  int64_t bytes_scanned = 0;
  int64_t scan_ns = 0;
  int64_t signals = 0;
  int64_t failures = 0;  // inspections that failed and were queued for a retry
};

// How long a queued trace is left to the request that ingested it before the background drain
// takes it; and the backoff of a failed inspection.
inline constexpr int64_t kInspectionGraceMs = 10'000;
inline constexpr int64_t kInspectionRetryBaseMs = 1'000;
inline constexpr int64_t kInspectionRetryMaxMs = 300'000;

class DetectionPipeline final : public traces::TraceObserver {
 public:
  // kInvalidArgument for a bad allow-list pattern or detector kind.
  static StatusOr<std::unique_ptr<DetectionPipeline>> Create(Store& store, SignalService& signals,
                                                             const Clock& clock,
                                                             const DetectionOptions& options);

  ~DetectionPipeline() override { Stop(); }

  // TraceObserver: inspects and records, then deletes the traces' queue rows; a failure is
  // logged and the rows are kept for a retry with backoff. Never throws.
  void OnTracesStored(const std::vector<traces::StoredTraceEvent>& traces) override;

  // Inspects the queued traces due at or before `due_by` (a retry's backoff, or the grace
  // left to the ingesting request) and deletes their rows; a trace whose inspection fails
  // stays queued with its backoff. Returns how many traces were inspected.
  StatusOr<int64_t> DrainQueue(TimeMs due_by);

  // Starts the background drain: every `poll_ms`, the traces queued longer than
  // kInspectionGraceMs or whose retry is due. Stop() ends it. Idempotent.
  void Start(int64_t poll_ms = 1000);
  void Stop();

  // Inspects traces and records their signals in one transaction; returns what was recorded.
  StatusOr<std::vector<SignalOutcome>> Inspect(const std::vector<traces::StoredTraceEvent>& traces);

  // Returns the signals one trace calls for, without recording them.
  std::vector<NewSignal> Findings(const traces::StoredTraceEvent& trace);

  // Feeds an evaluation score or feedback into the quality windows; records what it starts.
  StatusOr<std::vector<SignalOutcome>> OnScore(const ScoreRecord& score);

  // At start: replays the traces of the quality baseline window into the monitor (except the
  // ones still queued: they count when they are inspected), then inspects every queued trace.
  Status Warm();

  DetectionStats Stats() const;

 private:
  DetectionPipeline(Store& store, SignalService& signals, const Clock& clock,
                    DetectionOptions options, std::unique_ptr<detect::PiiScanner> scanner);

  struct ToolRule {
    std::string effect_class;
    bool requires_approval = false;
  };
  // The tools of an agent version's manifest; nullopt when the version is not registered.
  std::optional<std::map<std::string, ToolRule>> ManifestTools(const std::string& agent,
                                                               const std::string& version);
  detect::Observation ObservationOf(const traces::TraceContent& t) const;
  // Deletes the queue rows of inspected traces (queued at or before `queued_by`).
  Status MarkInspected(const std::vector<std::string>& trace_ids, TimeMs queued_by);
  // Keeps the queue rows of traces whose inspection failed, with their next attempt.
  void MarkFailed(std::vector<InspectionItem> items, const Status& why);
  std::vector<NewSignal> QualitySignals(const std::string& agent,
                                        const std::vector<detect::QualitySignal>& found,
                                        const std::string& evidence);

  Store& store_;
  SignalService& signals_;
  const Clock& clock_;
  const DetectionOptions options_;
  std::unique_ptr<detect::PiiScanner> scanner_;
  detect::QualityMonitor quality_;

  std::mutex manifests_mu_;
  std::map<std::pair<std::string, std::string>, std::map<std::string, ToolRule>> manifests_;

  std::atomic<int64_t> traces_{0}, bytes_{0}, scan_ns_{0}, signals_count_{0}, failures_{0};

  std::mutex drain_mu_;
  std::condition_variable drain_cv_;
  bool stop_ = false;  // GUARDED_BY(drain_mu_)
  std::thread drain_thread_;
};

}  // namespace firebreak
