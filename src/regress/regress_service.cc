#include "regress/regress_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/text.h"
#include "incidents/incident_service.h"
#include "regress/provider.h"

namespace firebreak::regress {
namespace {

using Json = nlohmann::json;

constexpr size_t kMaxAgent = 128;
constexpr size_t kMaxVersion = 64;
constexpr size_t kMaxName = 200;
constexpr size_t kMaxReason = 2000;
constexpr size_t kMaxRunCases = 10'000;
constexpr size_t kMaxSpecBytes = size_t{8} << 20;
constexpr int kHistoryTurns = 20;

Json ParseOr(const std::string& text, Json fallback) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? fallback : j;
}

std::vector<int64_t> CaseIdsOf(const RegressionRunRecord& run) {
  std::vector<int64_t> ids;
  Json j = ParseOr(run.cases_json, Json::array());
  for (const auto& id : j) {
    if (id.is_number_integer()) ids.push_back(id.get<int64_t>());
  }
  return ids;
}

Status CheckCaseName(const std::string& name) {
  if (name.empty() || name.size() > kMaxName || !IsValidUtf8(name)) {
    return InvalidArgument("'name' must be UTF-8 text of 1 to 200 bytes");
  }
  return Status::Ok();
}

// The tools the version's manifest declares read-only: no-pii does not scan their arguments,
// as the detectors do not.
std::set<std::string> ReadOnlyTools(const Json& manifest) {
  std::set<std::string> out;
  if (!manifest.is_object() || !manifest.contains("tools")) return out;
  for (const auto& t : manifest["tools"]) {
    if (t.value("effect_class", "") == "read-only") out.insert(t.value("name", ""));
  }
  return out;
}

StatusOr<Json> ManifestOf(Txn& txn, const std::string& agent, const std::string& version) {
  FB_ASSIGN_OR_RETURN(AgentVersionRecord v, txn.releases().GetVersion(agent, version));
  Json m = ParseOr(v.manifest_json, Json());
  if (!m.is_object()) return Internal("stored manifest of " + agent + "/" + version + " is not JSON");
  return m;
}

StatusOr<CaseView> ViewOf(const RegressionCaseRecord& r) {
  FB_ASSIGN_OR_RETURN(CaseSpec spec, SpecFromJson(ParseOr(r.spec_json, Json::object())));
  return CaseView{r, std::move(spec)};
}

// Applies the editable fields of a request to a spec and record.
Status ApplyEdits(const std::optional<Json>& assertions, std::optional<int64_t> repeat,
                  std::optional<int64_t> pass_at_least, CaseSpec& spec) {
  if (assertions) {
    FB_ASSIGN_OR_RETURN(spec.assertions, AssertionsFromJson(*assertions, "assertions"));
  }
  int64_t r = repeat.value_or(spec.repeat);
  int64_t k = pass_at_least.value_or(repeat && !pass_at_least ? r : spec.pass_at_least);
  FB_RETURN_IF_ERROR(CheckRepeat(r, k));
  spec.repeat = static_cast<int>(r);
  spec.pass_at_least = static_cast<int>(k);
  return Status::Ok();
}

StatusOr<std::string> SpecText(const CaseSpec& spec) {
  std::string text = SpecToJson(spec).dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > kMaxSpecBytes) {
    return TooLarge("the case is larger than 8 MiB (input, retrieved content and tool results)");
  }
  return text;
}

}  // namespace

RegressionService::RegressionService(Store& store, const EventLog& log, const Clock& clock,
                                     traces::TraceService& traces,
                                     const detect::PiiScanner& scanner,
                                     paging::HttpSender& sender, RegressOptions options)
    : store_(store),
      log_(log),
      clock_(clock),
      traces_(traces),
      scanner_(scanner),
      sender_(sender),
      options_(options) {}

RegressionService::~RegressionService() { Stop(); }

StatusOr<CaseView> RegressionService::AddCase(const std::string& actor, const AddCaseRequest& req) {
  if (req.from_trace.empty()) return InvalidArgument("'from_trace' is required (a trace hash)");
  if (!req.name.empty()) FB_RETURN_IF_ERROR(CheckCaseName(req.name));
  FB_ASSIGN_OR_RETURN(traces::TraceView view, traces_.Get(req.from_trace));
  auto content = traces::ContentFromJson(ParseOr(view.row.doc_json, Json::object()));
  if (!content.ok()) return Internal("stored trace is not readable: " + content.status().message());
  if (content->agent.empty()) {
    return InvalidArgument("trace " + view.row.hash.substr(0, 16) + " names no agent to test");
  }

  // The earlier turns of the same session are the context the agent had.
  std::vector<traces::TraceContent> history;
  if (!content->session_id.empty()) {
    TraceFilter f;
    f.agent = content->agent;
    f.session_id = content->session_id;
    f.before_started_at = view.row.started_at;
    f.before_id = view.row.id;
    f.limit = kHistoryTurns;
    FB_ASSIGN_OR_RETURN(auto earlier, traces_.List(f));
    for (auto it = earlier.rbegin(); it != earlier.rend(); ++it) {
      auto turn = traces::ContentFromJson(ParseOr(it->doc_json, Json::object()));
      if (turn.ok()) history.push_back(std::move(*turn));
    }
  }
  std::string root_span;
  FB_ASSIGN_OR_RETURN(auto spans, traces_.RawSpans(view.row.trace_id));
  for (const auto& s : spans) {
    if (s.parent_span_id.empty()) root_span = s.span_id;
  }

  CaseSpec spec = SpecFromTrace(*content, history);
  RegressionCaseRecord rec;
  rec.agent = content->agent;
  rec.source_hash = view.row.hash;
  rec.source_trace_id = view.row.trace_id;
  rec.source_span = root_span;
  rec.source_version = content->version;
  rec.incident_id = req.incident_id;
  rec.required = req.required.value_or(true);
  rec.created_by = actor;

  Status s = store_.Write([&](Txn& txn) -> Status {
    std::vector<SignalRecord> signals;
    std::string incident_title;
    if (req.incident_id) {
      FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(*req.incident_id));
      if (inc.agent != rec.agent) {
        return InvalidArgument("trace " + rec.source_hash.substr(0, 16) + " is of agent '" +
                               rec.agent + "' but " + IncidentName(inc.id) + " is about '" +
                               inc.agent + "'");
      }
      incident_title = inc.title;
      for (const auto& id : ParseOr(inc.signals_json, Json::array())) {
        if (!id.is_number_integer()) continue;
        auto sig = txn.signals().Get(id.get<int64_t>());
        if (sig.ok()) signals.push_back(std::move(*sig));
      }
    }
    CaseSpec filled = spec;
    filled.assertions = DefaultAssertions(signals);
    FB_RETURN_IF_ERROR(ApplyEdits(req.assertions, req.repeat, req.pass_at_least, filled));
    if (filled.assertions.empty()) {
      return InvalidArgument(
          req.incident_id
              ? "the signals of " + IncidentName(*req.incident_id) +
                    " call for no default assertion; give 'assertions'"
              : "a case needs assertions: give 'assertions', or 'incident' for the defaults its "
                "signals call for");
    }
    FB_ASSIGN_OR_RETURN(rec.spec_json, SpecText(filled));
    rec.name = !req.name.empty() ? req.name
               : req.incident_id
                   ? TruncateUtf8(IncidentName(*req.incident_id) + ": " + incident_title, kMaxName, "...")
                   : "trace " + rec.source_hash.substr(0, 16);
    // The trace may have been swept between the lookup and this transaction.
    FB_ASSIGN_OR_RETURN(auto rows, txn.traces().RowsWithHash(rec.source_hash));
    if (rows.empty()) return NotFound("trace " + rec.source_hash + " is no longer stored");
    rec.created_at = rec.updated_at = clock_.NowMs();
    FB_ASSIGN_OR_RETURN(rec.id, txn.regressions().InsertCase(rec));
    spec = std::move(filled);
    Json details = {{"case", rec.id},       {"agent", rec.agent},
                    {"name", rec.name},     {"trace", rec.source_hash},
                    {"assertions", spec.assertions.size()}, {"tool_mocks", spec.mocks.size()}};
    return log_.Append(txn, {rec.incident_id, actor, "regression.case_added", details, rec.created_at})
        .status();
  });
  if (!s.ok()) return s;
  return CaseView{rec, spec};
}

StatusOr<CaseView> RegressionService::UpdateCase(const std::string& actor, int64_t id,
                                                 const UpdateCaseRequest& req) {
  if (req.name) FB_RETURN_IF_ERROR(CheckCaseName(*req.name));
  CaseView out;
  Status s = store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(RegressionCaseRecord rec, txn.regressions().GetCase(id));
    FB_ASSIGN_OR_RETURN(CaseView view, ViewOf(rec));
    FB_RETURN_IF_ERROR(ApplyEdits(req.assertions, req.repeat, req.pass_at_least, view.spec));
    if (req.name) view.record.name = *req.name;
    if (req.required) view.record.required = *req.required;
    FB_ASSIGN_OR_RETURN(view.record.spec_json, SpecText(view.spec));
    view.record.updated_at = clock_.NowMs();
    FB_RETURN_IF_ERROR(txn.regressions().UpdateCase(view.record));
    Json details = {{"case", id},
                    {"agent", rec.agent},
                    {"assertions", view.spec.assertions.size()},
                    {"repeat", view.spec.repeat},
                    {"pass_at_least", view.spec.pass_at_least},
                    {"required", view.record.required}};
    out = std::move(view);
    return log_.Append(txn, {rec.incident_id, actor, "regression.case_updated", details,
                             out.record.updated_at})
        .status();
  });
  if (!s.ok()) return s;
  return out;
}

Status RegressionService::DeleteCase(const std::string& actor, int64_t id,
                                     const std::string& reason) {
  if (reason.empty() || reason.size() > kMaxReason) {
    return InvalidArgument("'reason' is required (at most 2000 bytes): say why the case goes");
  }
  return store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(RegressionCaseRecord rec, txn.regressions().GetCase(id));
    FB_RETURN_IF_ERROR(txn.regressions().DeleteCase(id));
    Json details = {{"case", id}, {"agent", rec.agent}, {"name", rec.name},
                    {"trace", rec.source_hash}, {"reason", reason}};
    return log_.Append(txn, {rec.incident_id, actor, "regression.case_deleted", details}).status();
  });
}

StatusOr<CaseView> RegressionService::GetCase(int64_t id) {
  CaseView out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(RegressionCaseRecord rec, txn.regressions().GetCase(id));
    FB_ASSIGN_OR_RETURN(out, ViewOf(rec));
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<CaseView>> RegressionService::ListCases(const RegressionCaseQuery& q) {
  if (!q.agent.empty()) FB_RETURN_IF_ERROR(CheckName("agent", q.agent, kMaxAgent));
  std::vector<CaseView> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto rows, txn.regressions().ListCases(q));
    for (const auto& r : rows) {
      FB_ASSIGN_OR_RETURN(CaseView v, ViewOf(r));
      out.push_back(std::move(v));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<RunView> RegressionService::StartRun(const std::string& actor, const RunRequest& req) {
  FB_RETURN_IF_ERROR(CheckName("agent", req.agent, kMaxAgent));
  FB_RETURN_IF_ERROR(CheckName("version", req.version, kMaxVersion));
  if (req.cases.size() > kMaxRunCases) {
    return InvalidArgument("'cases' names more than " + std::to_string(kMaxRunCases) + " cases");
  }
  int max_parallel = req.report ? 64 : options_.max_parallel;
  if (req.parallel < 1 || req.parallel > max_parallel) {
    return InvalidArgument("'parallel' must be a whole number in 1.." + std::to_string(max_parallel));
  }
  if (req.report && req.provider) {
    return InvalidArgument("'provider' is for runs the server executes, not reported ones");
  }
  RunView view;
  Status s = store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(Json manifest, ManifestOf(txn, req.agent, req.version));
    RegressionRunRecord& run = view.run;
    run.agent = req.agent;
    run.version = req.version;
    run.parallel = static_cast<int>(req.parallel);
    run.executed_by = req.report ? "cli" : "server";
    if (!req.report) {
      const Json* section = req.provider ? &*req.provider : &manifest["regression"];
      if (section->is_null()) {
        return Conflict("version '" + req.version + "' of '" + req.agent +
                        "' has no regression provider in its manifest; give one ('provider'), or "
                        "run the battery where the agent is with `firebreak regress run`");
      }
      FB_ASSIGN_OR_RETURN(ProviderConfig config,
                          ProviderConfigFromJson(*section, req.provider ? "provider"
                                                                        : "manifest.regression"));
      if (config.provider == "exec" && !options_.exec_providers) {
        return Conflict("this server does not run exec providers (serve --regress-exec on); run "
                        "the battery with `firebreak regress run`, which runs the agent where "
                        "you are and reports to the server");
      }
      run.provider = ProviderConfigToJson(config).dump();
    }
    FB_ASSIGN_OR_RETURN(std::vector<int64_t> battery, txn.regressions().CaseIds(req.agent));
    run.whole_battery = req.cases.empty();
    if (run.whole_battery) {
      view.case_ids = battery;
    } else {
      std::set<int64_t> known(battery.begin(), battery.end()), seen;
      for (int64_t id : req.cases) {
        if (!known.count(id)) return NotFound("no regression case #" + std::to_string(id) + " of agent '" + req.agent + "'");
        if (seen.insert(id).second) view.case_ids.push_back(id);
      }
    }
    if (view.case_ids.empty()) {
      return Conflict("agent '" + req.agent + "' has no regression case to run; add one with "
                      "`firebreak regress add --trace HASH`");
    }
    run.cases_json = Json(view.case_ids).dump();
    run.status = "running";
    run.total = static_cast<int64_t>(view.case_ids.size());
    run.started_by = actor;
    run.started_at = clock_.NowMs();
    FB_ASSIGN_OR_RETURN(run.id, txn.regressions().InsertRun(run));
    Json details = {{"run", run.id},          {"agent", run.agent},
                    {"version", run.version}, {"cases", run.total},
                    {"whole_battery", run.whole_battery}, {"executed_by", run.executed_by}};
    return log_.Append(txn, {std::nullopt, actor, "regression.run_started", details, run.started_at})
        .status();
  });
  if (!s.ok()) return s;
  if (!req.report) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(view.run.id);
    cv_.notify_one();
  }
  return GetRun(view.run.id);
}

StatusOr<JudgeContext> RegressionService::ContextFor(const std::string& agent,
                                                     const std::string& version,
                                                     const CaseSpec& spec) {
  JudgeContext ctx;
  ctx.scanner = &scanner_;
  ctx.scan.agent = agent;
  ctx.scan.user_id = spec.context.value("user_id", "");
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(Json manifest, ManifestOf(txn, agent, version));
    ctx.read_only_tools = ReadOnlyTools(manifest);
    return Status::Ok();
  }));
  return ctx;
}

StatusOr<RegressionResultRecord> RegressionService::ReportResult(
    const std::string& actor, int64_t run_id, int64_t case_id,
    const std::vector<RawAttempt>& attempts) {
  RegressionRunRecord run;
  CaseView view;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(run, txn.regressions().GetRun(run_id));
    auto rec = txn.regressions().GetCase(case_id);
    if (!rec.ok()) return rec.status();
    FB_ASSIGN_OR_RETURN(view, ViewOf(*rec));
    return Status::Ok();
  }));
  if (run.executed_by != "cli" || run.started_by != actor) {
    return Conflict("run #" + std::to_string(run_id) +
                    " takes no reported results from you: only the token that started a reported "
                    "run (executed_by cli) reports its cases");
  }
  if (static_cast<int>(attempts.size()) != view.spec.repeat) {
    return InvalidArgument("case #" + std::to_string(case_id) + " takes " +
                           std::to_string(view.spec.repeat) + " attempt(s) a run, not " +
                           std::to_string(attempts.size()));
  }
  FB_ASSIGN_OR_RETURN(JudgeContext ctx, ContextFor(run.agent, run.version, view.spec));
  std::vector<AttemptOutcome> judged;
  for (size_t i = 0; i < attempts.size(); ++i) {
    judged.push_back(JudgeAttempt(view.spec, static_cast<int>(i + 1), attempts[i], ctx));
  }
  return StoreResult(run_id, case_id, DecideCase(view.spec, std::move(judged)));
}

StatusOr<RegressionResultRecord> RegressionService::StoreResult(int64_t run_id, int64_t case_id,
                                                                const CaseOutcome& outcome) {
  RegressionResultRecord result;
  Status s = store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(RegressionRunRecord run, txn.regressions().GetRun(run_id));
    if (run.status != "running") {
      return Conflict("run #" + std::to_string(run_id) + " is " + run.status + " already");
    }
    std::vector<int64_t> ids = CaseIdsOf(run);
    if (std::find(ids.begin(), ids.end(), case_id) == ids.end()) {
      return NotFound("run #" + std::to_string(run_id) + " has no case #" + std::to_string(case_id));
    }
    Json attempts = Json::array();
    for (const auto& a : outcome.attempts) attempts.push_back(AttemptToJson(a));
    result = {run_id, case_id, outcome.status, outcome.summary,
              attempts.dump(-1, ' ', false, Json::error_handler_t::replace), clock_.NowMs()};
    Status inserted = txn.regressions().InsertResult(result);
    if (inserted.code() == StatusCode::kAlreadyExists) {
      return Conflict("case #" + std::to_string(case_id) + " has a result in run #" +
                      std::to_string(run_id) + " already");
    }
    FB_RETURN_IF_ERROR(inserted);
    (outcome.status == "passed" ? run.passed : outcome.status == "failed" ? run.failed : run.errored)++;
    if (run.passed + run.failed + run.errored == run.total) {
      run.status = run.passed == run.total ? "passed" : run.failed > 0 ? "failed" : "errored";
      run.finished_at = result.finished_at;
      Json details = {{"run", run.id},         {"agent", run.agent},   {"version", run.version},
                      {"status", run.status},  {"passed", run.passed}, {"failed", run.failed},
                      {"errored", run.errored}};
      FB_RETURN_IF_ERROR(
          log_.Append(txn, {std::nullopt, "system", "regression.run_finished", details}).status());
    }
    return txn.regressions().UpdateRun(run);
  });
  if (!s.ok()) return s;
  return result;
}

Status RegressionService::FinishRun(int64_t run_id, const std::string& error) {
  return store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(RegressionRunRecord run, txn.regressions().GetRun(run_id));
    if (run.status != "running") return Status::Ok();
    run.status = "errored";
    run.error = TruncateUtf8(error, kMaxReason, "...");
    run.finished_at = clock_.NowMs();
    FB_RETURN_IF_ERROR(txn.regressions().UpdateRun(run));
    Json details = {{"run", run.id}, {"agent", run.agent}, {"version", run.version},
                    {"status", run.status}, {"error", run.error}};
    return log_.Append(txn, {std::nullopt, "system", "regression.run_finished", details}).status();
  });
}

StatusOr<RunView> RegressionService::GetRun(int64_t id) {
  RunView view;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(view.run, txn.regressions().GetRun(id));
    FB_ASSIGN_OR_RETURN(view.results, txn.regressions().Results(id));
    view.case_ids = CaseIdsOf(view.run);
    for (int64_t c : view.case_ids) {
      auto rec = txn.regressions().GetCase(c);
      if (!rec.ok() && rec.status().code() != StatusCode::kNotFound) return rec.status();
      view.names[c] = rec.ok() ? rec->name : "";
    }
    return Status::Ok();
  }));
  return view;
}

StatusOr<std::vector<RegressionRunRecord>> RegressionService::ListRuns(const std::string& agent,
                                                                       const std::string& version,
                                                                       int limit) {
  if (!agent.empty()) FB_RETURN_IF_ERROR(CheckName("agent", agent, kMaxAgent));
  if (!version.empty()) FB_RETURN_IF_ERROR(CheckName("version", version, kMaxVersion));
  std::vector<RegressionRunRecord> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(out, txn.regressions().ListRuns(agent, version, limit));
    return Status::Ok();
  }));
  return out;
}

Status RegressionService::Execute(int64_t run_id) {
  RegressionRunRecord run;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(run, txn.regressions().GetRun(run_id));
    return Status::Ok();
  }));
  if (run.status != "running" || run.executed_by != "server") return Status::Ok();
  auto config = ProviderConfigFromJson(ParseOr(run.provider, Json()), "provider");
  if (!config.ok()) return FinishRun(run_id, "no provider: " + config.status().message());
  std::unique_ptr<Provider> provider = MakeProvider(*config, sender_);

  std::vector<int64_t> ids = CaseIdsOf(run);
  std::atomic<size_t> next{0};
  std::mutex error_mu;
  std::string harness_error;  // GUARDED_BY(error_mu): the first store failure
  auto work = [&] {
    while (!stopping_.load()) {
      size_t i = next.fetch_add(1);
      if (i >= ids.size()) return;
      CaseOutcome outcome;
      auto view = GetCase(ids[i]);
      auto ctx = view.ok() ? ContextFor(run.agent, run.version, view->spec)
                           : StatusOr<JudgeContext>(view.status());
      if (!ctx.ok()) {
        // Deleted since the run started, or unreadable: the case cannot be judged.
        outcome.status = "errored";
        outcome.summary = "the case could not be read: " + ctx.status().message();
      } else {
        std::vector<AttemptOutcome> judged;
        auto raw = CallAttempts(*provider, ids[i], view->record.name, run.agent, run.version,
                                view->spec);
        for (size_t a = 0; a < raw.size(); ++a) {
          judged.push_back(JudgeAttempt(view->spec, static_cast<int>(a + 1), raw[a], *ctx));
        }
        outcome = DecideCase(view->spec, std::move(judged));
      }
      auto stored = StoreResult(run_id, ids[i], outcome);
      if (!stored.ok()) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (harness_error.empty()) harness_error = stored.status().message();
        return;
      }
    }
  };
  {
    std::vector<std::thread> helpers;
    for (int t = 1; t < std::min<int>(run.parallel, static_cast<int>(ids.size())); ++t) {
      helpers.emplace_back(work);
    }
    work();
    for (auto& h : helpers) h.join();
  }
  if (!harness_error.empty()) return FinishRun(run_id, "storing a result failed: " + harness_error);
  if (stopping_.load()) return FinishRun(run_id, "the server stopped during the run");
  return Status::Ok();
}

Status RegressionService::Start() {
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto running, txn.regressions().RunningRuns());
    std::lock_guard<std::mutex> lock(mu_);
    for (int64_t id : running) queue_.push_back(id);
    return Status::Ok();
  }));
  // Server runs a stop or crash cut short are not resumed: their cases ran against a process
  // that is gone. Reported (cli) runs stay open: their client may still be reporting.
  std::deque<int64_t> left;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
  }
  for (int64_t id : left) {
    auto run = GetRun(id);
    if (run.ok() && run->run.executed_by == "server") {
      FB_RETURN_IF_ERROR(FinishRun(id, "interrupted: the server stopped during the run"));
    }
  }
  worker_ = std::thread([this] { Work(); });
  return Status::Ok();
}

void RegressionService::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  stopping_.store(true);
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void RegressionService::Work() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (stop_) break;
    int64_t id = queue_.front();
    queue_.pop_front();
    lock.unlock();
    Status s = Execute(id);
    if (!s.ok()) spdlog::error("regression run #{}: {}", id, s.message());
    lock.lock();
  }
  // Runs still queued at a stop never started.
  std::deque<int64_t> left;
  left.swap(queue_);
  lock.unlock();
  for (int64_t id : left) (void)FinishRun(id, "the server stopped before the run started");
}

}  // namespace firebreak::regress
