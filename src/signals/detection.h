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
// Signals carry fingerprints, so inspecting a trace twice (late spans, the rescan at start)
// records nothing new. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
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
};

class DetectionPipeline final : public traces::TraceObserver {
 public:
  // kInvalidArgument for a bad allow-list pattern or detector kind.
  static StatusOr<std::unique_ptr<DetectionPipeline>> Create(Store& store, SignalService& signals,
                                                             const Clock& clock,
                                                             const DetectionOptions& options);

  // TraceObserver: inspects and records; failures are logged, never thrown.
  void OnTracesStored(const std::vector<traces::StoredTraceEvent>& traces) override;

  // Inspects traces and records their signals in one transaction; returns what was recorded.
  StatusOr<std::vector<SignalOutcome>> Inspect(const std::vector<traces::StoredTraceEvent>& traces);

  // Returns the signals one trace calls for, without recording them.
  std::vector<NewSignal> Findings(const traces::StoredTraceEvent& trace);

  // Feeds an evaluation score or feedback into the quality windows; records what it starts.
  StatusOr<std::vector<SignalOutcome>> OnScore(const ScoreRecord& score);

  // At start: replays the traces of the quality baseline window into the monitor, and
  // re-inspects the traces ingested in the last `rescan_ms` (a crash between a trace's commit
  // and its inspection loses nothing; fingerprints make the second look free of duplicates).
  Status Warm(int64_t rescan_ms);

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

  std::atomic<int64_t> traces_{0}, bytes_{0}, scan_ns_{0}, signals_count_{0};
};

}  // namespace firebreak
