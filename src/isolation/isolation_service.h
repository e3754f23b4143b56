// IsolationService: the isolation playbook ("isolate before investigating") as one action.
//
// For the incident's agent, in this order: (1) roll back to the last known stable version, or
// kill the agent when there is none; (2) quarantine the memory written since the pulled
// version became current, with its taint closure; (3) flag the traces of that window
// `suspect` and the incident's evidence traces `toxic`; (4) raise the public banner through
// the BannerRaiser seam. Each step is done by the component that owns it (ReleaseService,
// MemoryService, TraceService, BannerRaiser), which audits its own change; each step that
// changed something or failed is then summarised on the incident's timeline as an
// `isolation.<step>` event with its time and counts. A failed step is reported and the others
// still run. Running it again changes nothing more and says so per step; a dry run reads only.
// When a run covering rollback, memory and traces had no failed step, the incident moves to
// `isolated` and its time to contain is fixed (the first time).
//
// AutoIsolator runs the steps the [isolation] policy names for a severity when an incident is
// classified at it, on its own thread after the classification committed. Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "common/status.h"
#include "incidents/incident_service.h"
#include "memory/memory_service.h"
#include "releases/release_service.h"
#include "store/store.h"
#include "traces/trace_service.h"

namespace firebreak {

enum class IsolationStep { kRollback, kMemory, kTraces, kBanner };

// Returns "rollback", "memory", "traces" or "banner".
std::string_view IsolationStepName(IsolationStep step);

// Parses step names into the playbook's order without duplicates; kInvalidArgument naming the
// first unknown name. An empty list is every step.
StatusOr<std::vector<IsolationStep>> ParseIsolationSteps(const std::vector<std::string>& names);

// The `[isolation]` policy: which steps run by themselves when an incident is classified at a
// severity. Default: nothing automatic.
struct IsolationPolicy {
  std::map<int, std::vector<IsolationStep>> auto_steps;  // severity 1..4 -> steps
  // When not empty, automatic isolation runs only for incidents opened by a signal whose kind
  // is one of these or starts with one of them and a dot ("pii" matches "pii.card").
  std::vector<std::string> auto_only_for_signals;
};

// The seam of step 4: the public banner belongs to the communication component.
class BannerRaiser {
 public:
  virtual ~BannerRaiser() = default;
  // Raises the default notice of `incident` (dry_run: says what it would do).
  // Returns a one-line summary for the timeline, or an error.
  virtual StatusOr<std::string> RaiseDefaultBanner(const std::string& actor,
                                                   const IncidentRecord& incident,
                                                   bool dry_run) = 0;
};

struct IsolationRequest {
  std::vector<IsolationStep> steps;  // empty: every step
  bool dry_run = false;
  std::optional<TimeMs> since;       // start of the window instead of the derived one
};

// What one step did. `outcome` is one of:
//   done     it changed something now
//   already  an earlier run did it; nothing changed
//   nothing  there was nothing to do (e.g. no memory in the window)
//   would    dry run: what it would change (counts as if done)
//   failed   it was tried and failed (summary says why); the other steps still ran
//   skipped  not run (not asked for, or no banner service)
struct StepReport {
  std::string step;
  std::string outcome;
  std::string summary;  // one line
  nlohmann::json counts = nlohmann::json::object();
  TimeMs at = 0;  // when the step finished
};

struct IsolationReport {
  IncidentRecord incident;  // as it is after the run
  bool dry_run = false;
  TimeMs window_from = 0;
  TimeMs window_to = 0;       // exclusive
  std::string window_source;  // how window_from was chosen, in words
  std::vector<StepReport> steps;
  bool isolated_now = false;  // this run moved the incident to `isolated`
};

class IsolationService {
 public:
  // Borrows everything; all must outlive the service. `banner` may be null (step 4 is then
  // reported as skipped).
  IsolationService(Store& store, const EventLog& log, const Clock& clock,
                   IncidentService& incidents, ReleaseService& releases, MemoryService& memory,
                   traces::TraceService& traces, BannerRaiser* banner)
      : store_(store), log_(log), clock_(clock), incidents_(incidents), releases_(releases),
        memory_(memory), traces_(traces), banner_(banner) {}

  // Runs the playbook on incident `id`. kNotFound for an unknown incident; kConflict (nothing
  // written) for an incident without an agent, one not yet classified, or one resolved or
  // closed; kInvalidArgument for `since` in the future. Step failures are in the report.
  StatusOr<IsolationReport> Isolate(const std::string& actor, int64_t id,
                                    const IsolationRequest& req);

 private:
  struct Window {
    TimeMs from = 0, to = 0;
    std::string source;
  };
  StatusOr<Window> FindWindow(const IncidentRecord& inc, const IsolationRequest& req);
  // Reads the agent and its latest pointer changes; kNotFound for an unknown agent.
  Status ReadReleases(const std::string& agent, AgentRecord& a,
                      std::vector<PointerChangeRecord>& history);
  StepReport Rollback(const std::string& actor, const IncidentRecord& inc, bool dry_run);
  StepReport Memory(const std::string& actor, const IncidentRecord& inc, const Window& w,
                    bool dry_run);
  StepReport Traces(const std::string& actor, const IncidentRecord& inc, const Window& w,
                    bool dry_run);
  StepReport Banner(const std::string& actor, const IncidentRecord& inc, bool dry_run);

  Store& store_;
  const EventLog& log_;
  const Clock& clock_;
  IncidentService& incidents_;
  ReleaseService& releases_;
  MemoryService& memory_;
  traces::TraceService& traces_;
  BannerRaiser* banner_;
};

// Runs the policy's automatic steps when an incident is classified at a severity that has
// some, as actor "policy", then tells `next` (the pager) as before. The run happens after the
// classifying transaction has committed, on the thread Start() made (or in RunPending() for
// tests); one that a crash cuts short is not retried (the timeline shows which steps ran).
class AutoIsolator final : public IncidentObserver {
 public:
  AutoIsolator(Store& store, IsolationService& isolation, IsolationPolicy policy,
               IncidentObserver* next)
      : store_(store), isolation_(isolation), policy_(std::move(policy)), next_(next) {}
  ~AutoIsolator() override { Stop(); }

  Status OnIncidentChanged(Txn& txn, const IncidentRecord& before, const IncidentRecord& after,
                           const std::string& actor) override;

  // Runs queued isolations on a background thread until Stop().
  void Start();
  void Stop();
  // Runs every queued isolation now, in the calling thread; returns how many ran.
  int RunPending();

 private:
  struct Job {
    int64_t incident_id = 0;
    int severity = 0;
    std::vector<IsolationStep> steps;
  };
  void RunJob(const Job& job);

  Store& store_;
  IsolationService& isolation_;
  const IsolationPolicy policy_;
  IncidentObserver* next_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;  // GUARDED_BY(mu_)
  bool stop_ = false;      // GUARDED_BY(mu_)
  std::thread thread_;
};

}  // namespace firebreak
