// The regression battery as stored: cases (made from a trace, each with its replay data and
// assertions as one JSON spec), runs of the battery on an agent version, and the result of
// each case in a run with its attempts. The domain (src/regress/) decides what goes in; this
// is storage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

// One regression case. `spec_json` holds what a run needs (input, context, retrieved content,
// tool mocks, assertions, repeat, pass_at_least); the other columns are kept for lookups.
struct RegressionCaseRecord {
  int64_t id = 0;
  std::string agent;
  std::string name;
  std::optional<int64_t> incident_id;
  std::string source_hash;      // the trace the case was made from (held past retention)
  std::string source_trace_id;
  std::string source_span;      // its root span id; "" for a trace given whole
  std::string source_version;   // the version that produced the trace
  std::string spec_json = "{}";
  bool required = true;         // the promotion gate refuses while it fails
  std::string created_by;
  TimeMs created_at = 0;
  TimeMs updated_at = 0;
};

struct RegressionCaseQuery {
  std::string agent;                  // empty: any
  std::optional<int64_t> incident_id;
  int64_t after_id = 0;               // cursor: only ids above this (oldest first)
  int limit = 100;
};

// One run of cases on an agent version.
struct RegressionRunRecord {
  int64_t id = 0;
  std::string agent;
  std::string version;
  bool whole_battery = true;     // every case of the agent when the run was created
  std::string cases_json = "[]"; // ids of the cases the run covers
  int parallel = 1;
  std::string executed_by;       // "server" (its worker ran the provider) or "cli" (reported)
  std::string provider;          // server runs: the provider's canonical JSON; "" when reported
  std::string status;            // running, passed, failed, errored
  int64_t total = 0, passed = 0, failed = 0, errored = 0;
  std::string error;             // why the run itself stopped ("" when it did not)
  std::string started_by;
  TimeMs started_at = 0;
  std::optional<TimeMs> finished_at;
};

// The outcome of one case in one run; `attempts_json` holds each attempt with its assertion
// results and replay report.
struct RegressionResultRecord {
  int64_t run_id = 0;
  int64_t case_id = 0;
  std::string status;  // passed, failed, errored
  std::string summary;
  std::string attempts_json = "[]";
  TimeMs finished_at = 0;
};

class RegressionRepo {
 public:
  virtual ~RegressionRepo() = default;
  virtual StatusOr<int64_t> InsertCase(const RegressionCaseRecord& r) = 0;
  // Overwrites name, spec, required and updated_at of r.id; kNotFound when there is none.
  virtual Status UpdateCase(const RegressionCaseRecord& r) = 0;
  // kNotFound when there is none. Its results stay with their runs.
  virtual Status DeleteCase(int64_t id) = 0;
  virtual StatusOr<RegressionCaseRecord> GetCase(int64_t id) = 0;
  // Returns the cases matching q, oldest first.
  virtual StatusOr<std::vector<RegressionCaseRecord>> ListCases(const RegressionCaseQuery& q) = 0;
  // Returns the ids of every case of `agent`, oldest first.
  virtual StatusOr<std::vector<int64_t>> CaseIds(const std::string& agent) = 0;

  virtual StatusOr<int64_t> InsertRun(const RegressionRunRecord& r) = 0;
  // Overwrites the status, counts, error and finished_at of r.id.
  virtual Status UpdateRun(const RegressionRunRecord& r) = 0;
  virtual StatusOr<RegressionRunRecord> GetRun(int64_t id) = 0;
  // Returns up to `limit` runs, newest first (agent/version "" : any).
  virtual StatusOr<std::vector<RegressionRunRecord>> ListRuns(const std::string& agent,
                                                              const std::string& version,
                                                              int limit) = 0;
  // Returns the newest finished run of the whole battery on agent/version, if any.
  virtual StatusOr<std::optional<RegressionRunRecord>> LatestWholeRun(
      const std::string& agent, const std::string& version) = 0;
  // Returns the ids of runs still marked running.
  virtual StatusOr<std::vector<int64_t>> RunningRuns() = 0;

  // Inserts a result; kAlreadyExists when the run has one for the case.
  virtual Status InsertResult(const RegressionResultRecord& r) = 0;
  // Returns a run's results by case id.
  virtual StatusOr<std::vector<RegressionResultRecord>> Results(int64_t run_id) = 0;
  // Returns the case's result in the newest run on agent/version that has one.
  virtual StatusOr<std::optional<RegressionResultRecord>> LatestResult(
      int64_t case_id, const std::string& agent, const std::string& version) = 0;
};

}  // namespace firebreak
