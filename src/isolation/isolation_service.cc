#include "isolation/isolation_service.h"

#include <algorithm>
#include <set>

#include "incidents/state.h"
#include "memory/taint.h"

namespace firebreak {
namespace {

constexpr TimeMs kDefaultLookbackMs = 24LL * 60 * 60 * 1000;
constexpr int kHistoryLimit = 1000;
constexpr int kSignalLimit = 1000;

constexpr IsolationStep kAllSteps[] = {IsolationStep::kRollback, IsolationStep::kMemory,
                                       IsolationStep::kTraces, IsolationStep::kBanner};

bool Changed(const StepReport& r) { return r.outcome == "done"; }
bool Failed(const StepReport& r) { return r.outcome == "failed"; }

StepReport Report(IsolationStep step, std::string outcome, std::string summary,
                  nlohmann::json counts = nlohmann::json::object()) {
  StepReport r;
  r.step = std::string(IsolationStepName(step));
  r.outcome = std::move(outcome);
  r.summary = std::move(summary);
  r.counts = std::move(counts);
  return r;
}

StepReport FailedStep(IsolationStep step, const Status& s) {
  return Report(step, "failed", std::string(IsolationStepName(step)) + " failed: " + s.message(),
                {{"error", s.message()}});
}

std::string Reason(const IncidentRecord& inc) {
  return "isolation playbook for " + IncidentName(inc.id);
}

// A rollback or kill that an earlier run of the playbook made for this incident.
std::optional<PointerChangeRecord> PriorIsolation(const std::vector<PointerChangeRecord>& history,
                                                  int64_t incident_id) {
  for (const auto& c : history) {  // newest first
    if (c.incident_id == incident_id && (c.action == "rollback" || c.action == "kill")) return c;
  }
  return std::nullopt;
}

bool SignalKindMatches(const std::string& kind, const std::vector<std::string>& wanted) {
  for (const auto& w : wanted) {
    if (kind == w || kind.rfind(w + ".", 0) == 0) return true;
  }
  return false;
}

}  // namespace

std::string_view IsolationStepName(IsolationStep step) {
  switch (step) {
    case IsolationStep::kRollback: return "rollback";
    case IsolationStep::kMemory: return "memory";
    case IsolationStep::kTraces: return "traces";
    case IsolationStep::kBanner: return "banner";
  }
  return "?";
}

StatusOr<std::vector<IsolationStep>> ParseIsolationSteps(const std::vector<std::string>& names) {
  std::set<IsolationStep> wanted;
  for (const auto& name : names) {
    bool known = false;
    for (IsolationStep s : kAllSteps) {
      if (name == IsolationStepName(s)) {
        wanted.insert(s);
        known = true;
      }
    }
    if (!known) {
      return InvalidArgument("unknown isolation step '" + name +
                             "' (steps: rollback, memory, traces, banner)");
    }
  }
  std::vector<IsolationStep> out;
  for (IsolationStep s : kAllSteps) {
    if (names.empty() || wanted.count(s)) out.push_back(s);
  }
  return out;
}

StatusOr<IsolationReport> IsolationService::Isolate(const std::string& actor, int64_t id,
                                                    const IsolationRequest& req) {
  FB_ASSIGN_OR_RETURN(IncidentRecord inc, incidents_.Get(id));
  if (inc.agent.empty()) {
    return Conflict(IncidentName(id) + " names no agent, so there is nothing to isolate");
  }
  IncidentState state = ParseState(inc.state).value_or(IncidentState::kDetected);
  if (state == IncidentState::kDetected) {
    return Conflict(IncidentName(id) + " is not classified yet; classify it first (isolation "
                    "follows the severity)");
  }
  if (!IsOpen(state)) {
    return Conflict(IncidentName(id) + " is " + inc.state + "; there is nothing left to isolate");
  }
  if (req.since && *req.since > clock_.NowMs()) {
    return InvalidArgument("'since' must not be in the future");
  }
  std::vector<IsolationStep> steps = req.steps;
  if (steps.empty()) steps.assign(std::begin(kAllSteps), std::end(kAllSteps));
  auto asked = [&](IsolationStep s) { return std::find(steps.begin(), steps.end(), s) != steps.end(); };

  IsolationReport report;
  report.dry_run = req.dry_run;
  std::vector<StepReport> ran;
  auto finish = [&](StepReport r) {
    r.at = clock_.NowMs();
    ran.push_back(r);
    report.steps.push_back(std::move(r));
  };
  auto not_asked = [&](IsolationStep s) {
    report.steps.push_back(Report(s, "skipped", "not asked for"));
  };

  // 1. The rollback first: the window of the later steps ends when the pulled version stopped.
  if (asked(IsolationStep::kRollback)) {
    finish(Rollback(actor, inc, req.dry_run));
  } else {
    not_asked(IsolationStep::kRollback);
  }
  auto window = FindWindow(inc, req);
  if (!window.ok()) return window.status();
  report.window_from = window->from;
  report.window_to = window->to;
  report.window_source = window->source;
  if (asked(IsolationStep::kMemory)) {
    finish(Memory(actor, inc, *window, req.dry_run));
  } else {
    not_asked(IsolationStep::kMemory);
  }
  if (asked(IsolationStep::kTraces)) {
    finish(Traces(actor, inc, *window, req.dry_run));
  } else {
    not_asked(IsolationStep::kTraces);
  }
  if (asked(IsolationStep::kBanner)) {
    finish(Banner(actor, inc, req.dry_run));
  } else {
    not_asked(IsolationStep::kBanner);
  }

  report.incident = inc;
  if (req.dry_run) return report;
  bool changed = std::any_of(ran.begin(), ran.end(), Changed);
  bool failed = std::any_of(ran.begin(), ran.end(), Failed);
  if (changed || failed) {
    // Each step's summary goes on the timeline with the time it finished.
    Status logged = store_.Write([&](Txn& txn) -> Status {
      for (const auto& r : ran) {
        nlohmann::json details = {{"outcome", r.outcome}, {"summary", r.summary}};
        for (const auto& [k, v] : r.counts.items()) details[k] = v;
        if (r.step == "memory" || r.step == "traces") {
          details["window"] = {{"from", FormatTime(window->from)},
                               {"to", FormatTime(window->to)},
                               {"source", window->source}};
        }
        FB_RETURN_IF_ERROR(
            log_.Append(txn, {id, actor, "isolation." + r.step, details, r.at}).status());
      }
      return Status::Ok();
    });
    if (!logged.ok()) {
      StepReport r = Report(IsolationStep::kBanner, "failed", "");
      r.step = "timeline";
      r.summary = "recording the steps on the timeline failed: " + logged.message();
      r.at = clock_.NowMs();
      report.steps.push_back(r);
      failed = true;
    }
  }
  // Contained once a run that covered rollback, memory and traces had no failure (the banner
  // is communication, and may be left to a person or not wired yet).
  bool covers = asked(IsolationStep::kRollback) && asked(IsolationStep::kMemory) &&
                asked(IsolationStep::kTraces);
  if (!failed && covers && (changed || !inc.contained_at)) {
    TimeMs last = 0;
    for (const auto& r : ran) last = std::max(last, r.at);
    nlohmann::json steps_done = nlohmann::json::array();
    for (const auto& r : ran) steps_done.push_back(r.step + ": " + r.outcome);
    auto moved = incidents_.MarkIsolated(actor, id, last, {{"steps", steps_done}});
    if (!moved.ok()) {
      StepReport r;
      r.step = "state";
      r.outcome = "failed";
      r.summary = "moving the incident to isolated failed: " + moved.status().message();
      r.at = clock_.NowMs();
      report.steps.push_back(r);
    } else {
      report.isolated_now = inc.state != moved->state && moved->state == "isolated";
      report.incident = *moved;
    }
  }
  return report;
}

StepReport IsolationService::Rollback(const std::string& actor, const IncidentRecord& inc,
                                      bool dry_run) {
  constexpr IsolationStep kStep = IsolationStep::kRollback;
  AgentRecord a;
  std::vector<PointerChangeRecord> history;
  Status read = ReadReleases(inc.agent, a, history);
  if (read.code() == StatusCode::kNotFound) {
    return FailedStep(kStep, Conflict("agent '" + inc.agent +
                                      "' has no registered versions: nothing to roll back or kill"));
  }
  if (!read.ok()) return FailedStep(kStep, read);
  if (auto prior = PriorIsolation(history, inc.id)) {
    nlohmann::json counts = {{"action", prior->action},
                             {"from", prior->from_version},
                             {"to", prior->to_version},
                             {"revision", prior->revision}};
    std::string what = prior->action == "rollback"
                           ? "already rolled back from " + prior->from_version + " to " +
                                 prior->to_version
                           : "already killed (running " + prior->from_version + ")";
    return Report(kStep, "already", what + " at " + FormatTime(prior->at), counts);
  }
  if (!a.enabled) {
    return Report(kStep, "already", "agent '" + inc.agent + "' is already switched off",
                  {{"action", "kill"}, {"from", a.current_version}, {"to", a.current_version}});
  }
  bool stable_usable = false;
  if (!a.stable_version.empty() && a.stable_version != a.current_version) {
    auto v = store_.Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(AgentVersionRecord rec, txn.releases().GetVersion(inc.agent, a.stable_version));
      stable_usable = !rec.pulled;
      return Status::Ok();
    });
    if (!v.ok()) return FailedStep(kStep, v);
  }
  if (!a.current_version.empty() && a.current_version == a.stable_version) {
    return Report(kStep, "nothing",
                  "agent '" + inc.agent + "' already runs its last known stable version " +
                      a.current_version + "; nothing to roll back",
                  {{"from", a.current_version}, {"to", a.current_version}});
  }
  ChangeRequest change;
  change.reason = Reason(inc);
  change.incident_id = inc.id;
  if (stable_usable && !a.current_version.empty()) {
    nlohmann::json counts = {{"action", "rollback"},
                             {"from", a.current_version},
                             {"to", a.stable_version},
                             {"listeners", releases_.hub().SubscribersOf(inc.agent)}};
    if (dry_run) {
      return Report(kStep, "would",
                    "would roll back from " + a.current_version + " to " + a.stable_version, counts);
    }
    auto done = releases_.Rollback(actor, inc.agent, "", change);
    if (!done.ok()) return FailedStep(kStep, done.status());
    counts["revision"] = done->runtime.revision;
    return Report(kStep, "done",
                  "rolled back from " + a.current_version + " to " + a.stable_version + "; " +
                      std::to_string(counts["listeners"].get<size_t>()) +
                      " runtime listener(s) of this server told",
                  counts);
  }
  std::string why = a.stable_version.empty() ? "no last known stable version"
                    : a.current_version.empty()
                        ? "no version deployed"
                        : "its stable version " + a.stable_version + " was pulled";
  nlohmann::json counts = {{"action", "kill"},
                           {"from", a.current_version},
                           {"to", a.current_version},
                           {"listeners", releases_.hub().SubscribersOf(inc.agent)}};
  if (dry_run) return Report(kStep, "would", "would switch the agent off (" + why + ")", counts);
  auto done = releases_.Kill(actor, inc.agent, change);
  if (!done.ok()) return FailedStep(kStep, done.status());
  counts["revision"] = done->runtime.revision;
  return Report(kStep, "done",
                "switched the agent off (" + why + "); " +
                    std::to_string(counts["listeners"].get<size_t>()) +
                    " runtime listener(s) of this server told",
                counts);
}

Status IsolationService::ReadReleases(const std::string& agent, AgentRecord& a,
                                      std::vector<PointerChangeRecord>& history) {
  return store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(a, txn.releases().GetAgent(agent));
    FB_ASSIGN_OR_RETURN(history, txn.releases().Changes(agent, kHistoryLimit));
    return Status::Ok();
  });
}

StatusOr<IsolationService::Window> IsolationService::FindWindow(const IncidentRecord& inc,
                                                               const IsolationRequest& req) {
  Window w;
  TimeMs now = clock_.NowMs();
  w.to = now + 1;
  AgentRecord a;
  std::vector<PointerChangeRecord> history;
  Status read = ReadReleases(inc.agent, a, history);
  if (!read.ok() && read.code() != StatusCode::kNotFound) return read;
  std::string pulled;
  auto prior = PriorIsolation(history, inc.id);
  if (prior) {
    pulled = prior->from_version;
    w.to = prior->at + 1;
  } else if (a.enabled && a.current_version != a.stable_version) {
    pulled = a.current_version;
  }
  std::optional<TimeMs> became_current;
  if (!pulled.empty()) {
    for (const auto& c : history) {  // newest first
      if (prior && c.id == prior->id) continue;
      if (c.at >= w.to) continue;
      if (c.to_version == pulled && (c.action == "deploy" || c.action == "rollback")) {
        became_current = c.at;
        break;
      }
    }
  }
  if (req.since) {
    w.from = *req.since;
    w.source = "since " + FormatTime(*req.since) + " (given)";
  } else if (became_current) {
    w.from = *became_current;
    w.source = "since " + pulled + " became current at " + FormatTime(*became_current);
  } else {
    w.from = inc.detected_at - kDefaultLookbackMs;
    w.source = std::string(pulled.empty() ? "no version was pulled"
                                          : "when " + pulled + " became current is unknown") +
               ": 24 h before detection (" + FormatTime(w.from) + "); use --since to choose";
  }
  if (w.from >= w.to) w.from = w.to - 1;
  return w;
}

StepReport IsolationService::Memory(const std::string& actor, const IncidentRecord& inc,
                                    const Window& w, bool dry_run) {
  constexpr IsolationStep kStep = IsolationStep::kMemory;
  QuarantineRequest q;
  q.window.from = w.from;
  q.window.to = w.to;
  q.taint = true;
  q.reason = Reason(inc);
  q.incident_id = inc.id;
  // What the quarantine would take, and how much of it is still active.
  int64_t direct = 0, tainted = 0, direct_active = 0, tainted_active = 0;
  Status read = store_.Read([&](Txn& txn) -> Status {
    MemoryRepo& repo = txn.memory();
    FB_ASSIGN_OR_RETURN(auto ids, repo.Match(inc.agent, q.window));
    FB_ASSIGN_OR_RETURN(auto closure, TaintClosure(ids, StoreTaintNeighbours(repo, inc.agent)));
    direct = static_cast<int64_t>(ids.size());
    tainted = static_cast<int64_t>(closure.size());
    std::set<int64_t> direct_ids(ids.begin(), ids.end());
    for (const auto& m : closure) ids.push_back(m.record_id);
    FB_ASSIGN_OR_RETURN(auto records, repo.GetMany(ids));
    for (const auto& r : records) {
      if (r.state != kMemoryActive) continue;
      (direct_ids.count(r.id) ? direct_active : tainted_active)++;
    }
    return Status::Ok();
  });
  if (!read.ok()) return FailedStep(kStep, read);
  nlohmann::json counts = {{"direct", direct_active}, {"tainted", tainted_active}};
  if (direct + tainted == 0) {
    return Report(kStep, "nothing", "no memory of '" + inc.agent + "' written in the window",
                  counts);
  }
  if (direct_active + tainted_active == 0) {
    counts["already_quarantined"] = direct + tainted;
    return Report(kStep, "already",
                  "already quarantined: the " + std::to_string(direct + tainted) +
                      " record(s) of the window and its taint",
                  counts);
  }
  std::string what = std::to_string(direct_active) + " record(s) directly and " +
                     std::to_string(tainted_active) + " by taint";
  if (dry_run) return Report(kStep, "would", "would quarantine " + what, counts);
  auto done = memory_.Quarantine(actor, inc.agent, q);
  if (!done.ok()) return FailedStep(kStep, done.status());
  counts["quarantine_id"] = done->quarantine.id;
  return Report(kStep, "done",
                "quarantined " + what + " (quarantine " + std::to_string(done->quarantine.id) + ")",
                counts);
}

StepReport IsolationService::Traces(const std::string& actor, const IncidentRecord& inc,
                                    const Window& w, bool dry_run) {
  constexpr IsolationStep kStep = IsolationStep::kTraces;
  std::set<std::string> evidence;        // hashes of the incident's evidence traces
  std::set<std::string> to_toxic;        // evidence not yet toxic
  std::set<std::string> to_suspect;      // window traces neither suspect nor toxic
  int64_t window_traces = 0;
  Status read = store_.Read([&](Txn& txn) -> Status {
    SignalQuery sq;
    sq.incident_id = inc.id;
    sq.limit = kSignalLimit;
    FB_ASSIGN_OR_RETURN(auto signals, txn.signals().List(sq));
    for (const auto& s : signals) {
      auto hashes = nlohmann::json::parse(s.evidence_json, nullptr, false);
      if (!hashes.is_array()) continue;
      for (const auto& h : hashes) {
        if (h.is_string()) evidence.insert(h.get<std::string>());
      }
    }
    // Evidence: traces flagged with the incident by a person or a detector; the playbook's own
    // `suspect` flags of the window are not evidence.
    FB_ASSIGN_OR_RETURN(auto flags, txn.traces().FlagsFor(inc.id));
    for (const FlagRow& f : flags) {
      if (f.flag == "clean" || (f.flag == "suspect" && f.reason == Reason(inc))) continue;
      auto t = txn.traces().Get(f.trace_row);
      if (t.ok()) evidence.insert(t->hash);
    }
    for (auto it = evidence.begin(); it != evidence.end();) {
      FB_ASSIGN_OR_RETURN(auto rows, txn.traces().RowsWithHash(*it));
      if (rows.empty()) {  // named by a signal, never stored (or erased since)
        it = evidence.erase(it);
        continue;
      }
      for (int64_t row : rows) {
        FB_ASSIGN_OR_RETURN(TraceRow t, txn.traces().Get(row));
        if (t.flag != "toxic") to_toxic.insert(t.hash);
      }
      ++it;
    }
    FB_ASSIGN_OR_RETURN(auto rows, txn.traces().Window(inc.agent, "", w.from, w.to));
    window_traces = static_cast<int64_t>(rows.size());
    for (int64_t row : rows) {
      FB_ASSIGN_OR_RETURN(TraceRow t, txn.traces().Get(row));
      if (t.flag != "suspect" && t.flag != "toxic" && !evidence.count(t.hash)) {
        to_suspect.insert(t.hash);
      }
    }
    return Status::Ok();
  });
  if (!read.ok()) return FailedStep(kStep, read);
  nlohmann::json counts = {{"suspect", to_suspect.size()},
                           {"toxic", to_toxic.size()},
                           {"window_traces", window_traces},
                           {"evidence_traces", evidence.size()}};
  if (window_traces == 0 && evidence.empty()) {
    return Report(kStep, "nothing", "no trace of '" + inc.agent + "' in the window and no evidence",
                  counts);
  }
  if (to_suspect.empty() && to_toxic.empty()) {
    return Report(kStep, "already",
                  "already flagged: " + std::to_string(window_traces) +
                      " trace(s) of the window and " + std::to_string(evidence.size()) +
                      " evidence trace(s)",
                  counts);
  }
  std::string what = std::to_string(to_suspect.size()) + " trace(s) of the window suspect and " +
                     std::to_string(to_toxic.size()) + " evidence trace(s) toxic";
  if (dry_run) return Report(kStep, "would", "would flag " + what, counts);
  auto flag = [&](const char* name, const std::set<std::string>& hashes) -> Status {
    if (hashes.empty()) return Status::Ok();
    traces::FlagRequest fr;
    fr.flag = name;
    fr.reason = Reason(inc);
    fr.hashes.assign(hashes.begin(), hashes.end());
    fr.incident_id = inc.id;
    return traces_.Flag(actor, fr).status();
  };
  if (Status s = flag("suspect", to_suspect); !s.ok()) return FailedStep(kStep, s);
  if (Status s = flag("toxic", to_toxic); !s.ok()) {
    StepReport r = FailedStep(kStep, s);
    r.counts["suspect"] = to_suspect.size();
    r.counts["toxic"] = 0;
    return r;
  }
  return Report(kStep, "done", "flagged " + what, counts);
}

StepReport IsolationService::Banner(const std::string& actor, const IncidentRecord& inc,
                                    bool dry_run) {
  constexpr IsolationStep kStep = IsolationStep::kBanner;
  if (!banner_) return Report(kStep, "skipped", "skipped: no banner service");
  // An earlier run raised it: the playbook does not raise it again.
  std::vector<EventRecord> events;
  Status read = store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(events, txn.events().ForIncident(inc.id));
    return Status::Ok();
  });
  if (!read.ok()) return FailedStep(kStep, read);
  for (const auto& e : events) {
    if (e.kind != "isolation.banner") continue;
    auto d = nlohmann::json::parse(e.details_json, nullptr, false);
    if (d.is_object() && d.value("outcome", "") == "done") {
      return Report(kStep, "already",
                    "already raised at " + FormatTime(e.at) + ": " + d.value("summary", ""));
    }
  }
  auto summary = banner_->RaiseDefaultBanner(actor, inc, dry_run);
  if (!summary.ok()) return FailedStep(kStep, summary.status());
  return Report(kStep, dry_run ? "would" : "done", *summary);
}

Status AutoIsolator::OnIncidentChanged(Txn& txn, const IncidentRecord& before,
                                       const IncidentRecord& after, const std::string& actor) {
  if (after.severity != 0 && after.severity != before.severity) {
    auto it = policy_.auto_steps.find(after.severity);
    if (it != policy_.auto_steps.end() && !it->second.empty()) {
      bool wanted = policy_.auto_only_for_signals.empty();
      if (!wanted) {
        auto ids = nlohmann::json::parse(after.signals_json, nullptr, false);
        if (ids.is_array()) {
          for (const auto& sid : ids) {
            if (!sid.is_number_integer()) continue;
            auto signal = txn.signals().Get(sid.get<int64_t>());
            if (signal.ok() && SignalKindMatches(signal->kind, policy_.auto_only_for_signals)) {
              wanted = true;
            }
          }
        }
      }
      if (wanted) {
        std::lock_guard<std::mutex> lock(mu_);
        queue_.push_back({after.id, after.severity, it->second});
        cv_.notify_one();
      }
    }
  }
  return next_ ? next_->OnIncidentChanged(txn, before, after, actor) : Status::Ok();
}

void AutoIsolator::RunJob(const Job& job) {
  // The classification that queued the job is committed (or rolled back) once the one writer
  // is free: an empty write waits for it. Then the incident is read again.
  (void)store_.Write([](Txn&) { return Status::Ok(); });
  IncidentRecord inc;
  Status read = store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(inc, txn.incidents().Get(job.incident_id));
    return Status::Ok();
  });
  // Gone or at another severity: the change that queued it rolled back, or a later one
  // replaced it (and queued its own job if its severity has automatic steps).
  if (!read.ok() || inc.severity != job.severity) return;
  IsolationRequest req;
  req.steps = job.steps;
  (void)isolation_.Isolate("policy", job.incident_id, req);
}

int AutoIsolator::RunPending() {
  int ran = 0;
  while (true) {
    Job job;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.empty()) return ran;
      job = queue_.front();
      queue_.pop_front();
    }
    RunJob(job);
    ++ran;
  }
}

void AutoIsolator::Start() {
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) break;
      Job job = queue_.front();
      queue_.pop_front();
      lock.unlock();
      RunJob(job);
      lock.lock();
    }
  });
}

void AutoIsolator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace firebreak
