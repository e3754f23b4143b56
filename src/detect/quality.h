// Quality monitor: notices when an agent's runs get worse, from a stream of finished runs.
//
// Rolling windows: error rate, negative-feedback rate and mean evaluation score of the current
// window (window_ms) against a baseline (the baseline_ms before it), overall and per input
// category. Degraded everywhere -> "quality.degraded" (SEV-2); degraded in one category or a
// strict minority of them -> "quality.category" (SEV-3). Drift: a two-sided Page-Hinkley test
// per agent on error, refusal, score, tool calls and response length -> "drift" (SEV-4).
// Signals are edge-triggered with a cooldown. Time comes only from the observations (pure, no
// clock); memory is bounded by per-minute buckets (docs/detect.md).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"

namespace firebreak::detect {

// One finished agent run.
struct Observation {
  TimeMs at = 0;                 // trace start (or ingest) time
  std::string category;          // input category, may be empty ("" = uncategorised)
  bool error = false;            // span status error / errors present
  std::optional<bool> negative_feedback;  // user thumbs-down (true) / up (false)
  std::optional<double> score;   // evaluation score in [0,1] (gen_ai.evaluation.* or POST /scores)
  double tool_calls = 0;         // tool calls in the run
  double response_chars = 0;     // length of the final response
  bool refusal = false;          // use IsRefusal(output)
  // false: a score or feedback that arrived after its run (POST /api/v1/scores); it counts
  // for feedback and scores only, not as a run (error rate and behaviour are left alone).
  bool run = true;
};

struct QualityOptions {
  int64_t window_ms = 15 * 60'000;        // current window
  int64_t baseline_ms = 24 * 3'600'000;   // baseline: the baseline_ms before the current window
  int min_samples = 30;                   // per window (and per category) before judging
  double error_rate_increase = 0.10;      // absolute increase that counts as degraded ...
  double error_rate_ratio = 2.0;          // ... and relative (current >= ratio * baseline)
  double negative_feedback_increase = 0.15;
  double score_drop = 0.10;               // absolute drop in mean evaluation score
  // Drift: two-sided Page-Hinkley per agent per metric (tool_calls, response_chars, refusal,
  // error, score) on standardised values z = (x - running mean) / running std dev, clipped to
  // +-drift_clip. drift_delta is the tolerated change per run and drift_lambda the alarm
  // threshold, both in running-std-dev units (docs/detect.md explains the defaults).
  double drift_delta = 0.15;
  double drift_lambda = 50;
  int drift_min_samples = 200;            // runs before the test starts (and after each alarm)
  double drift_clip = 3.0;                // |z| cap, so one outlier cannot raise an alarm
  int64_t cooldown_ms = 60 * 60'000;      // after a signal, the same (agent,kind,category,metric) stays quiet
  int max_categories = 64;                // per agent; further categories count as "other"
};

// A reason to look at an agent, as the detectors suggest it.
struct QualitySignal {
  std::string kind;      // "quality.degraded" (all categories), "quality.category" (one category), "drift"
  std::string agent, category, metric;   // metric: "error_rate","negative_feedback","score","tool_calls","response_chars","refusal_rate"
  double baseline = 0, current = 0;
  int64_t samples = 0;   // runs (or feedbacks, scores) in the current window; for drift, since the test started
  int severity = 0;      // 2, 3 or 4 per the issue
  std::string reason;    // one sentence for a person, with the numbers
};

// Watches the runs of every agent. Thread-safe (one internal mutex). Memory per agent: at most
// (window_ms + baseline_ms) / 60 s minute buckets, each with at most max_categories + 1
// counters, plus a fixed drift state per metric.
class QualityMonitor {
 public:
  explicit QualityMonitor(QualityOptions options);
  ~QualityMonitor();

  // Adds one run of `agent`; returns the signals that start now (edge-triggered + cooldown).
  // Observations older than the agent's baseline are ignored by the windows.
  std::vector<QualitySignal> Add(const std::string& agent, const Observation& o);

 private:
  struct AgentState;
  QualityOptions options_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<AgentState>> agents_;  // guarded by mu_
};

// Returns whether a final response reads as a refusal ("I can't help with that", "I'm sorry,
// but I cannot ..."), from its first few hundred characters.
bool IsRefusal(std::string_view response);

}  // namespace firebreak::detect
