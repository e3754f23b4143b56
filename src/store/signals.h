// Signals as stored: what a detector or an outside system reported, how the classification
// rules judged it, and which incident it opened or joined. The domain (src/signals/) decides
// what goes in; this is storage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

struct SignalRecord {
  int64_t id = 0;
  std::string kind;      // "pii.card", "action.unauthorised", "quality.degraded", "alert", ...
  std::string source;    // detector name, "alertmanager", or the token that posted it
  std::string agent, version, category;
  std::string evidence_json = "[]";  // JSON array of trace hashes
  std::string measured_json = "{}";  // JSON object of measured values
  int suggested_severity = 0;        // 0: none suggested
  int severity = 0;                  // as classified by the rules; 0: below paging
  std::string reason;                // the detector's own sentence
  std::string rule;                  // the classification rule that matched
  std::string rule_reason;           // the rule's stated reason
  std::string status = "firing";     // firing or resolved
  std::string fingerprint;           // same fingerprint: the same signal again (deduplicated)
  std::optional<int64_t> incident_id;
  TimeMs detected_at = 0;
  TimeMs received_at = 0;
  TimeMs updated_at = 0;
};

struct SignalQuery {
  std::string agent, kind, status;     // empty: any; kind matches a prefix ("pii." = every pii)
  std::optional<int64_t> incident_id;
  int64_t before_id = 0;               // cursor: only ids below this; 0: from the newest
  int limit = 100;
};

// An evaluation score or a user's feedback on one trace (POST /api/v1/scores).
struct ScoreRecord {
  int64_t id = 0;
  std::string trace_id;
  std::string agent, category;
  std::string name;                       // "helpfulness", "feedback", ...
  std::optional<double> value;            // in [0, 1]
  std::optional<bool> negative_feedback;  // thumbs down (true) or up (false)
  std::string actor;
  TimeMs at = 0;
};

class SignalRepo {
 public:
  virtual ~SignalRepo() = default;
  virtual StatusOr<int64_t> Insert(const SignalRecord& r) = 0;
  virtual Status Update(const SignalRecord& r) = 0;
  virtual StatusOr<SignalRecord> Get(int64_t id) = 0;
  // Returns the signal with this fingerprint, if any.
  virtual StatusOr<std::optional<SignalRecord>> GetByFingerprint(const std::string& fp) = 0;
  // Returns the signals matching q, newest first.
  virtual StatusOr<std::vector<SignalRecord>> List(const SignalQuery& q) = 0;

  virtual StatusOr<int64_t> InsertScore(const ScoreRecord& s) = 0;
  // Returns the scores recorded at or after `from`, oldest first, at most `limit`.
  virtual StatusOr<std::vector<ScoreRecord>> ScoresSince(TimeMs from, int limit) = 0;
};

}  // namespace firebreak
