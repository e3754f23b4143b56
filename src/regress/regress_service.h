// RegressionService: the regression battery over the store. Makes cases from traces (with
// default assertions from the incident's signals), edits and lists them, starts runs of the
// battery on an agent version and keeps their results per case and attempt.
//
// A run is executed either by the service's worker thread (a "server" run: the provider comes
// from the request or the version's manifest) or by a client that calls the provider itself and
// reports each case's raw answers (a "cli" run): the service judges both the same way, so a
// verdict is always the server's. Every change is one write transaction with its audited event.
// Thread-safe: the worker's queue is guarded; everything else is in the store (docs/regress.md).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "detect/pii.h"
#include "paging/sender.h"
#include "regress/case.h"
#include "regress/runner.h"
#include "store/store.h"
#include "traces/trace_service.h"

namespace firebreak::regress {

struct RegressOptions {
  // Whether server runs may use exec providers: each is a command that a responder registered
  // in a manifest, run on the server's host. Off by default (serve --regress-exec on).
  bool exec_providers = false;
  int max_parallel = 8;  // cases a server run executes at once
};

struct AddCaseRequest {
  std::string from_trace;  // hash (or a prefix of at least 8 hex) or trace id
  std::optional<int64_t> incident_id;
  std::string name;  // default: from the incident or the trace
  std::optional<nlohmann::json> assertions;  // replaces the default assertions when given
  std::optional<int64_t> repeat, pass_at_least;
  std::optional<bool> required;
};

struct UpdateCaseRequest {
  std::optional<std::string> name;
  std::optional<nlohmann::json> assertions;
  std::optional<int64_t> repeat, pass_at_least;
  std::optional<bool> required;
};

struct CaseView {
  RegressionCaseRecord record;
  CaseSpec spec;
};

struct RunRequest {
  std::string agent, version;
  std::vector<int64_t> cases;                // empty: the whole battery
  int64_t parallel = 1;
  std::optional<nlohmann::json> provider;    // server runs: instead of the manifest's
  bool report = false;                       // the caller runs the cases and reports answers
};

struct RunView {
  RegressionRunRecord run;
  std::vector<int64_t> case_ids;
  std::vector<RegressionResultRecord> results;  // by case id
  std::map<int64_t, std::string> names;         // case id -> name ("" once deleted)
};

class RegressionService {
 public:
  // Borrows everything; all must outlive the service.
  RegressionService(Store& store, const EventLog& log, const Clock& clock,
                    traces::TraceService& traces, const detect::PiiScanner& scanner,
                    paging::HttpSender& sender, RegressOptions options = {});
  ~RegressionService();

  // Makes a case from a stored trace. kNotFound for an unknown trace or incident;
  // kInvalidArgument for bad fields, an incident of another agent, or a case with no assertion
  // (neither given nor called for by the incident's signals).
  StatusOr<CaseView> AddCase(const std::string& actor, const AddCaseRequest& req);
  // Changes a case's name, assertions, repeat or required mark.
  StatusOr<CaseView> UpdateCase(const std::string& actor, int64_t id, const UpdateCaseRequest& req);
  // Deletes a case (its results stay with their runs; its trace is no longer held).
  Status DeleteCase(const std::string& actor, int64_t id, const std::string& reason);
  StatusOr<CaseView> GetCase(int64_t id);
  StatusOr<std::vector<CaseView>> ListCases(const RegressionCaseQuery& q);

  // Creates a run in state running. Server runs go to the worker queue; kConflict when the
  // version has no provider or it is exec and options.exec_providers is off, or the agent has
  // no case. kNotFound for an unknown version or case.
  StatusOr<RunView> StartRun(const std::string& actor, const RunRequest& req);
  // Judges and stores the raw answers a client reports for one case of its "cli" run (one
  // per attempt, as many as the case's repeat); returns the result. kConflict when the run is
  // not the actor's running cli run or the case has a result in it already.
  StatusOr<RegressionResultRecord> ReportResult(const std::string& actor, int64_t run_id,
                                                int64_t case_id,
                                                const std::vector<RawAttempt>& attempts);
  StatusOr<RunView> GetRun(int64_t id);
  StatusOr<std::vector<RegressionRunRecord>> ListRuns(const std::string& agent,
                                                      const std::string& version, int limit);

  // Runs the cases of a queued server run now, on this thread (and options.max_parallel
  // helpers), storing each result as it comes. The worker calls it; so do tests.
  Status Execute(int64_t run_id);

  // Marks server runs left running by a stop or crash as errored, then starts the worker.
  Status Start();
  // Stops the worker: the run in progress stops after the cases in flight (errored).
  void Stop();

 private:
  StatusOr<RegressionResultRecord> StoreResult(int64_t run_id, int64_t case_id,
                                               const CaseOutcome& outcome);
  // The judge context of a case on `version`: the scanner, the case's user, the read-only tools
  // of the version's manifest.
  StatusOr<JudgeContext> ContextFor(const std::string& agent, const std::string& version,
                                    const CaseSpec& spec);
  Status FinishRun(int64_t run_id, const std::string& error);
  void Work();

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  traces::TraceService& traces_;
  const detect::PiiScanner& scanner_;
  paging::HttpSender& sender_;
  const RegressOptions options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<int64_t> queue_;  // GUARDED_BY(mu_): server runs waiting for the worker
  bool stop_ = false;          // GUARDED_BY(mu_)
  std::atomic<bool> stopping_{false};
  std::thread worker_;
};

}  // namespace firebreak::regress
