#include "signals/detection.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>
#include <spdlog/spdlog.h>

#include "common/text.h"

namespace firebreak {
namespace {

using Json = nlohmann::json;

constexpr char kActor[] = "detector";

std::string KindLabel(const std::string& kind) {
  static const std::map<std::string, std::string> kLabels = {
      {"card", "payment card"}, {"iban", "IBAN"},        {"ssn", "US social security number"},
      {"email", "email address"}, {"phone", "phone number"}, {"ipv4", "IP address"},
      {"ipv6", "IP address"},   {"secret", "secret or API key"}};
  auto it = kLabels.find(kind);
  return it == kLabels.end() ? kind : it->second;
}

std::string Short(const std::string& hash) { return hash.substr(0, 12); }

// A score or feedback that came after its run counts for the quality windows, not as a run.
detect::Observation ScoreObservation(const ScoreRecord& s) {
  detect::Observation o;
  o.at = s.at;
  o.category = s.category;
  o.score = s.value;
  o.negative_feedback = s.negative_feedback;
  o.run = false;
  return o;
}

// Detector signals carry names from span attributes: make them fit, never refuse them (a
// refused batch would lose a finding).
void Tidy(NewSignal& s) {
  s.agent = SignalName(s.agent.empty() ? "unassigned" : s.agent);
  s.version = SignalName(s.version);
  s.category = SignalName(s.category);
  s.reason = TruncateUtf8(s.reason, 1900, "...");
}

}  // namespace

StatusOr<std::unique_ptr<DetectionPipeline>> DetectionPipeline::Create(
    Store& store, SignalService& signals, const Clock& clock, const DetectionOptions& options) {
  FB_ASSIGN_OR_RETURN(auto scanner, detect::PiiScanner::Create(options.pii));
  return std::unique_ptr<DetectionPipeline>(
      new DetectionPipeline(store, signals, clock, options, std::move(scanner)));
}

DetectionPipeline::DetectionPipeline(Store& store, SignalService& signals, const Clock& clock,
                                     DetectionOptions options,
                                     std::unique_ptr<detect::PiiScanner> scanner)
    : store_(store), signals_(signals), clock_(clock), options_(std::move(options)),
      scanner_(std::move(scanner)), quality_(options_.quality) {}

std::optional<std::map<std::string, DetectionPipeline::ToolRule>> DetectionPipeline::ManifestTools(
    const std::string& agent, const std::string& version) {
  if (agent.empty() || version.empty()) return std::nullopt;
  auto key = std::make_pair(agent, version);
  {
    std::lock_guard<std::mutex> lock(manifests_mu_);
    if (auto it = manifests_.find(key); it != manifests_.end()) return it->second;
  }
  std::optional<std::map<std::string, ToolRule>> tools;
  Status s = store_.Read([&](Txn& txn) -> Status {
    auto v = txn.releases().GetVersion(agent, version);
    if (!v.ok()) return v.status().code() == StatusCode::kNotFound ? Status::Ok() : v.status();
    Json m = Json::parse(v->manifest_json, nullptr, false);
    std::map<std::string, ToolRule> found;
    if (m.is_object() && m.contains("tools") && m["tools"].is_array()) {
      for (const auto& t : m["tools"]) {
        if (!t.is_object()) continue;
        found[t.value("name", "")] = {t.value("effect_class", ""), t.value("requires_approval", false)};
      }
    }
    tools = std::move(found);
    return Status::Ok();
  });
  if (!s.ok()) {
    spdlog::warn("detectors: manifest of {} {}: {}", agent, version, s.message());
    return std::nullopt;
  }
  // Manifests are immutable once registered: a found one is cached for good.
  if (tools) {
    std::lock_guard<std::mutex> lock(manifests_mu_);
    manifests_[key] = *tools;
  }
  return tools;
}

detect::Observation DetectionPipeline::ObservationOf(const traces::TraceContent& t) const {
  detect::Observation o;
  o.at = t.started_at;
  o.category = t.category;
  o.error = !t.errors.empty();
  double sum = 0;
  int n = 0;
  for (const auto& e : t.evaluations) {
    if (e.score) {
      sum += *e.score;
      ++n;
    }
    if (e.label == "negative" || e.label == "thumbs_down" || e.label == "thumbs-down") {
      o.negative_feedback = true;
    } else if ((e.label == "positive" || e.label == "thumbs_up" || e.label == "thumbs-up") &&
               !o.negative_feedback) {
      o.negative_feedback = false;
    }
  }
  if (n > 0) o.score = sum / n;
  o.tool_calls = static_cast<double>(t.tool_calls.size());
  o.response_chars = static_cast<double>(t.output.size());
  o.refusal = detect::IsRefusal(t.output);
  return o;
}

std::vector<NewSignal> DetectionPipeline::Findings(const traces::StoredTraceEvent& ev) {
  const traces::TraceContent& t = ev.content;
  std::vector<NewSignal> out;
  auto tools = ManifestTools(t.agent, t.version);
  auto external = [&](const std::string& tool) {
    if (!tools) return true;  // without a manifest every tool may reach the outside
    auto it = tools->find(tool);
    return it == tools->end() || it->second.effect_class != "read-only";
  };
  std::string version_label = t.version.empty() ? "" : " " + t.version;

  // Personal data.
  auto started = std::chrono::steady_clock::now();
  detect::ScanContext ctx{t.agent, t.user_id};
  struct Hit {
    std::string where;
    detect::PiiFinding finding;
  };
  std::vector<Hit> hits;
  int64_t bytes = static_cast<int64_t>(t.output.size());
  for (auto& f : scanner_->Scan(t.output, ctx)) hits.push_back({"final response", std::move(f)});
  for (const auto& call : t.tool_calls) {
    if (!external(call.name)) continue;
    bytes += static_cast<int64_t>(call.arguments.size());
    for (auto& f : scanner_->Scan(call.arguments, ctx)) {
      hits.push_back({"arguments of tool " + call.name, std::move(f)});
    }
  }
  // Retrieved content: personal data a document brought into the run. The same value in the
  // reply or a tool's arguments is the usual leak; its finding names the document it came from.
  size_t leaving = hits.size();
  for (const auto& item : t.retrieved) {
    bytes += static_cast<int64_t>(item.content.size());
    std::string where =
        "retrieved content" + (item.source.empty() ? "" : " " + TruncateUtf8(item.source, 80, "..."));
    for (auto& f : scanner_->Scan(item.content, ctx)) {
      for (size_t i = 0; i < leaving; ++i) {
        Hit& h = hits[i];
        if (h.finding.kind == f.kind && h.finding.value == f.value && h.where.find(", from ") == std::string::npos)
          h.where += ", from " + where;
      }
      hits.push_back({where, std::move(f)});
    }
  }
  scan_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::steady_clock::now() - started).count();
  bytes_ += bytes;
  if (!hits.empty()) {
    // Personal data only in retrieved content was read, not sent out: a finding for the
    // backlog (pii.retrieved, SEV-3 by the default rules), never a SEV-1 page.
    bool sent_out = leaving > 0;
    NewSignal s;
    s.kind = sent_out ? "pii" : "pii.retrieved";
    s.source = "detector:pii";
    s.agent = t.agent;
    s.version = t.version;
    s.category = t.category;
    s.evidence = {ev.hash};
    s.fingerprint = s.kind + ":" + t.trace_id;
    s.suggested_severity = sent_out ? 1 : 3;
    s.detected_at = clock_.NowMs();
    Json found = Json::array();
    std::map<std::string, int> counts;
    for (const auto& h : hits) {
      counts[h.finding.kind]++;
      if (found.size() < 20) {
        found.push_back({{"kind", h.finding.kind}, {"detail", h.finding.detail},
                         {"where", h.where}, {"redacted", h.finding.redacted}});
      }
    }
    s.measured = {{"findings", found}, {"counts", counts}, {"trace_id", t.trace_id}};
    const Hit& first = hits.front();
    s.reason = std::string(sent_out ? "Personal data: " : "Personal data read, not sent out: ") + KindLabel(first.finding.kind) +
               (first.finding.detail.empty() ? "" : " (" + first.finding.detail + ")") + " " +
               first.finding.redacted + " in the " + first.where + " of trace " + Short(ev.hash) +
               " (" + t.agent + version_label + ")";
    if (hits.size() > 1) s.reason += ", and " + std::to_string(hits.size() - 1) + " more finding(s)";
    out.push_back(std::move(s));
  }

  // Unauthorised actions: only judged against a registered manifest.
  if (tools) {
    std::vector<std::string> external_calls, internal_calls;
    std::vector<std::string> external_tools, internal_tools;  // names: regression defaults read them
    for (const auto& call : t.tool_calls) {
      auto it = tools->find(call.name);
      std::string why;
      bool ext = true;
      if (it == tools->end()) {
        why = call.name + " (not in the manifest)";
      } else if (it->second.requires_approval && call.approved_by.empty()) {
        why = call.name + " (" + it->second.effect_class + ", needs approval, none given)";
        ext = it->second.effect_class != "read-only";
      } else {
        continue;
      }
      (ext ? external_calls : internal_calls).push_back(why);
      auto& names = ext ? external_tools : internal_tools;
      if (std::find(names.begin(), names.end(), call.name) == names.end()) names.push_back(call.name);
    }
    for (bool ext : {true, false}) {
      const auto& calls = ext ? external_calls : internal_calls;
      if (calls.empty()) continue;
      NewSignal s;
      s.kind = ext ? "action.unauthorised" : "action.internal";
      s.source = "detector:actions";
      s.agent = t.agent;
      s.version = t.version;
      s.category = t.category;
      s.evidence = {ev.hash};
      s.fingerprint = s.kind + ":" + t.trace_id;
      s.suggested_severity = ext ? 1 : 3;
      s.detected_at = clock_.NowMs();
      s.measured = {{"calls", calls},
                    {"tools", ext ? external_tools : internal_tools},
                    {"trace_id", t.trace_id}};
      std::string list;
      for (const auto& c : calls) list += (list.empty() ? "" : ", ") + c;
      s.reason = std::string(ext ? "Unauthorised action" : "Action outside the manifest") + " by " +
                 t.agent + version_label + " in trace " + Short(ev.hash) + ": " + list;
      out.push_back(std::move(s));
    }
  }

  // Quality and drift: each run counts once.
  if (ev.first_time && !t.agent.empty()) {
    auto found = quality_.Add(t.agent, ObservationOf(t));
    for (auto& s : QualitySignals(t.agent, found, ev.hash)) out.push_back(std::move(s));
  }
  traces_++;
  return out;
}

std::vector<NewSignal> DetectionPipeline::QualitySignals(
    const std::string& agent, const std::vector<detect::QualitySignal>& found,
    const std::string& evidence) {
  std::vector<NewSignal> out;
  TimeMs now = clock_.NowMs();
  int64_t bucket = options_.quality.cooldown_ms > 0 ? now / options_.quality.cooldown_ms : now;
  for (const auto& q : found) {
    NewSignal s;
    s.kind = q.kind;
    s.source = "detector:quality";
    s.agent = agent;
    s.category = q.category;
    if (!evidence.empty()) s.evidence = {evidence};
    s.suggested_severity = q.severity;
    s.reason = q.reason;
    s.measured = {{"metric", q.metric}, {"baseline", q.baseline}, {"current", q.current},
                  {"samples", q.samples}};
    s.fingerprint = q.kind + ":" + agent + ":" + q.category + ":" + q.metric + ":" +
                    std::to_string(bucket);
    s.detected_at = now;
    out.push_back(std::move(s));
  }
  return out;
}

StatusOr<std::vector<SignalOutcome>> DetectionPipeline::Inspect(
    const std::vector<traces::StoredTraceEvent>& traces) {
  std::vector<NewSignal> all;
  for (const auto& ev : traces) {
    for (auto& s : Findings(ev)) {
      Tidy(s);
      all.push_back(std::move(s));
    }
  }
  if (all.empty()) return std::vector<SignalOutcome>();
  FB_ASSIGN_OR_RETURN(auto outcomes, signals_.Record(kActor, all));
  for (const auto& o : outcomes) {
    if (!o.duplicate) signals_count_++;
  }
  return outcomes;
}

void DetectionPipeline::OnTracesStored(const std::vector<traces::StoredTraceEvent>& traces) {
  TimeMs queued_by = clock_.NowMs();
  std::vector<std::string> ids;
  for (const auto& t : traces) ids.push_back(t.content.trace_id);
  if (!options_.enabled) {
    (void)MarkInspected(ids, queued_by);
    return;
  }
  auto r = Inspect(traces);
  if (!r.ok()) {
    std::vector<InspectionItem> failed;
    for (const auto& id : ids) failed.push_back({id, true, 1, 0, "", queued_by});
    MarkFailed(std::move(failed), r.status());
    return;
  }
  if (Status s = MarkInspected(ids, queued_by); !s.ok()) {
    // The rows stay: the background drain looks again, and fingerprints keep it free of
    // duplicates.
    spdlog::warn("detectors: inspected traces stay queued: {}", s.message());
  }
  for (const auto& o : *r) {
    if (o.duplicate) continue;
    spdlog::warn("detectors: signal {} {} ({}) {}{}", o.signal.id, o.signal.kind,
                 SeverityName(static_cast<Severity>(o.signal.severity)),
                 o.opened ? "opened " : (o.incident ? "joined " : ""),
                 o.incident ? IncidentName(o.incident->id) : "");
  }
}

Status DetectionPipeline::MarkInspected(const std::vector<std::string>& trace_ids, TimeMs queued_by) {
  return store_.Write([&](Txn& txn) -> Status {
    for (const auto& id : trace_ids) FB_RETURN_IF_ERROR(txn.inspections().Done(id, queued_by));
    return Status::Ok();
  });
}

void DetectionPipeline::MarkFailed(std::vector<InspectionItem> items, const Status& why) {
  failures_ += static_cast<int64_t>(items.size());
  TimeMs now = clock_.NowMs();
  for (auto& item : items) {
    int shift = std::min(item.attempts - 1, 20);
    item.next_at = now + std::min(kInspectionRetryMaxMs, kInspectionRetryBaseMs << std::max(shift, 0));
    item.last_error = TruncateUtf8(why.message(), 1000, "...");
    spdlog::error("detectors: trace {} not inspected (attempt {}), retrying at {}: {}",
                  item.trace_id, item.attempts, FormatTime(item.next_at), why.message());
  }
  Status s = store_.Write([&](Txn& txn) -> Status {
    for (const auto& item : items) FB_RETURN_IF_ERROR(txn.inspections().Retry(item));
    return Status::Ok();
  });
  // Without the backoff the rows are still queued, due at once: the drain retries sooner.
  if (!s.ok()) spdlog::error("detectors: recording the retry: {}", s.message());
}

StatusOr<int64_t> DetectionPipeline::DrainQueue(TimeMs due_by) {
  constexpr int kBatch = 100;
  int64_t inspected = 0;
  while (true) {
    std::vector<InspectionItem> due;
    std::vector<traces::StoredTraceEvent> batch;
    std::vector<InspectionItem> held;  // the items of `batch`, in order
    std::vector<std::string> gone;     // deleted since they were queued: nothing to inspect
    FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(due, txn.inspections().Due(due_by, kBatch));
      for (const auto& item : due) {
        FB_ASSIGN_OR_RETURN(auto row, txn.traces().GetByTraceId(item.trace_id));
        auto content = row ? traces::ContentFromJson(Json::parse(row->doc_json, nullptr, false))
                           : StatusOr<traces::TraceContent>(NotFound(item.trace_id));
        if (!content.ok()) {
          gone.push_back(item.trace_id);
          continue;
        }
        content->trace_id = row->trace_id;
        batch.push_back({std::move(*content), row->hash, item.first_time});
        held.push_back(item);
      }
      return Status::Ok();
    }));
    if (due.empty()) break;
    TimeMs queued_by = due_by;
    for (const auto& item : due) queued_by = std::max(queued_by, item.enqueued_at);
    FB_RETURN_IF_ERROR(MarkInspected(gone, queued_by));
    if (!options_.enabled || batch.empty() || Inspect(batch).ok()) {
      std::vector<std::string> ids;
      for (const auto& item : held) ids.push_back(item.trace_id);
      FB_RETURN_IF_ERROR(MarkInspected(ids, queued_by));
      inspected += options_.enabled ? static_cast<int64_t>(batch.size()) : 0;
    } else {
      // One at a time, so one trace that cannot be inspected does not hold up the others.
      for (size_t i = 0; i < batch.size(); ++i) {
        auto r = Inspect({batch[i]});
        if (r.ok()) {
          FB_RETURN_IF_ERROR(MarkInspected({held[i].trace_id}, queued_by));
          ++inspected;
          continue;
        }
        InspectionItem item = held[i];
        item.attempts += 1;
        MarkFailed({item}, r.status());
      }
    }
    if (static_cast<int>(due.size()) < kBatch) break;
  }
  return inspected;
}

void DetectionPipeline::Start(int64_t poll_ms) {
  std::lock_guard<std::mutex> lock(drain_mu_);
  if (drain_thread_.joinable()) return;
  stop_ = false;
  drain_thread_ = std::thread([this, poll_ms] {
    while (true) {
      auto r = DrainQueue(clock_.NowMs() - kInspectionGraceMs);
      if (!r.ok()) spdlog::warn("detectors: draining the inspection queue: {}", r.status().message());
      std::unique_lock<std::mutex> lock(drain_mu_);
      if (drain_cv_.wait_for(lock, std::chrono::milliseconds(poll_ms), [this] { return stop_; })) {
        return;
      }
    }
  });
}

void DetectionPipeline::Stop() {
  {
    std::lock_guard<std::mutex> lock(drain_mu_);
    if (!drain_thread_.joinable()) return;
    stop_ = true;
  }
  drain_cv_.notify_all();
  drain_thread_.join();
}

StatusOr<std::vector<SignalOutcome>> DetectionPipeline::OnScore(const ScoreRecord& score) {
  if (!options_.enabled || score.agent.empty()) return std::vector<SignalOutcome>();
  auto found = quality_.Add(score.agent, ScoreObservation(score));
  auto signals = QualitySignals(score.agent, found, "");
  if (signals.empty()) return std::vector<SignalOutcome>();
  for (auto& s : signals) Tidy(s);
  return signals_.Record(kActor, signals);
}

Status DetectionPipeline::Warm() {
  TimeMs now = clock_.NowMs();
  if (!options_.enabled) return DrainQueue(now).status();
  TimeMs from = now - options_.quality.baseline_ms - options_.quality.window_ms;
  // Oldest first, in pages, so the windows fill in time order.
  std::vector<TraceRow> rows;
  std::set<std::string> queued;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    TraceFilter f;
    f.from = from;
    f.limit = 20'000;  // bounded memory: the newest 20k traces of the window
    FB_ASSIGN_OR_RETURN(rows, txn.traces().List(f));
    FB_ASSIGN_OR_RETURN(auto items, txn.inspections().Due(std::numeric_limits<TimeMs>::max(), 100'000));
    for (const auto& item : items) queued.insert(item.trace_id);
    return Status::Ok();
  }));
  int64_t replayed = 0;
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    if (queued.count(it->trace_id)) continue;
    auto content = traces::ContentFromJson(Json::parse(it->doc_json, nullptr, false));
    if (!content.ok()) continue;
    quality_.Add(it->agent, ObservationOf(*content));
    ++replayed;
  }
  std::vector<ScoreRecord> scores;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(scores, txn.signals().ScoresSince(from, 100'000));
    return Status::Ok();
  }));
  for (const auto& s : scores) quality_.Add(s.agent, ScoreObservation(s));
  FB_ASSIGN_OR_RETURN(int64_t inspected, DrainQueue(now));
  spdlog::info("detectors: replayed {} traces and {} scores into the quality windows, "
               "inspected {} queued trace(s)",
               replayed, scores.size(), inspected);
  return Status::Ok();
}

DetectionStats DetectionPipeline::Stats() const {
  return {traces_.load(), bytes_.load(), scan_ns_.load(), signals_count_.load(), failures_.load()};
}

}  // namespace firebreak
