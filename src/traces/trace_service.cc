#include "traces/trace_service.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/crypto.h"
#include "common/text.h"
#include "traces/assembly.h"
#include "traces/canonical.h"
#include "traces/conventions.h"
#include "traces/similarity.h"

namespace firebreak::traces {
namespace {

using Json = nlohmann::json;

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr int kBucketLimit = 200;    // candidates read per LSH bucket
constexpr int kTextCandidates = 50;  // candidates read from the full-text index
constexpr int kTextTerms = 12;       // words of the query text sent to the full-text index
constexpr double kJaccardWeight = 0.85;

bool IsHex(const std::string& s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string Join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

// Writes (or rewrites) one assembled trace with its hash, text index, tools and LSH keys, and
// queues it for the detectors in the same transaction; returns what observers are told.
StatusOr<StoredTraceEvent> PutTrace(Txn& txn, const TraceContent& t, TimeMs now) {
  StoredTrace s = ToStored(t, now);
  FB_ASSIGN_OR_RETURN(auto upserted, txn.traces().Upsert(s.row, s.text, s.tools, s.lsh_keys));
  FB_RETURN_IF_ERROR(txn.inspections().Enqueue(t.trace_id, upserted.inserted, now));
  return StoredTraceEvent{t, s.row.hash, upserted.inserted};
}

// What is known of one trace id before a write: its assembled row, its stored spans, and the
// agent it belongs to (the row's agent, else the agent its first stored span names).
struct TraceState {
  std::optional<TraceRow> row;
  SpanSummary spans;
  std::optional<std::string> owner;
};

StatusOr<TraceState> StateOf(Txn& txn, const std::string& trace_id) {
  TraceState st;
  FB_ASSIGN_OR_RETURN(st.row, txn.traces().GetByTraceId(trace_id));
  FB_ASSIGN_OR_RETURN(st.spans, txn.traces().SummarizeSpans(trace_id));
  if (st.row) {
    st.owner = st.row->agent;
  } else if (st.spans.first) {
    FB_ASSIGN_OR_RETURN(SpanData first,
                        SpanFromJson(Json::parse(st.spans.first->data_json, nullptr, false)));
    st.owner = ReadSpan(first).agent;
  }
  return st;
}

// Reads a trace's stored spans and assembles them (from the top-most span with `from_top`).
StatusOr<std::optional<TraceContent>> AssembleStored(Txn& txn, const std::string& trace_id,
                                                     bool from_top) {
  FB_ASSIGN_OR_RETURN(auto rows, txn.traces().Spans(trace_id));
  std::vector<SpanData> all;
  all.reserve(rows.size());
  for (const auto& r : rows) {
    FB_ASSIGN_OR_RETURN(SpanData sd, SpanFromJson(Json::parse(r.data_json, nullptr, false)));
    all.push_back(std::move(sd));
  }
  return Assemble(std::move(all), from_top);
}

// Names in traces (agents, versions, trace ids) follow the common rule, with ':' allowed as
// OpenTelemetry service names and run ids use it.
Status CheckTraceName(std::string_view field, std::string_view name) {
  return CheckName(field, name, 128, "-_.:");
}

// Holds a native trace to the limits: names checked, long texts cut, list lengths bounded.
Status LimitNative(TraceContent& t, const IngestLimits& limits) {
  if (!t.agent.empty()) FB_RETURN_IF_ERROR(CheckTraceName("agent", t.agent));
  if (!t.trace_id.empty()) FB_RETURN_IF_ERROR(CheckTraceName("trace_id", t.trace_id));
  if (!t.version.empty()) FB_RETURN_IF_ERROR(CheckTraceName("version", t.version));
  for (const auto& [field, value] : {std::pair<const char*, const std::string*>{"user_id", &t.user_id},
                                     {"session_id", &t.session_id},
                                     {"category", &t.category}}) {
    if (value->size() > limits.max_key_bytes) {
      return InvalidArgument(std::string("'") + field + "' is longer than " +
                             std::to_string(limits.max_key_bytes) + " bytes");
    }
  }
  for (const auto& [field, n] : {std::pair<const char*, size_t>{"retrieved", t.retrieved.size()},
                                 {"tool_calls", t.tool_calls.size()},
                                 {"state", t.state.size()},
                                 {"errors", t.errors.size()},
                                 {"evaluations", t.evaluations.size()}}) {
    if (n > limits.max_elements) {
      return InvalidArgument(std::string("'") + field + "' has more than " +
                             std::to_string(limits.max_elements) + " elements");
    }
  }
  auto cut = [&](std::string& text) { text = TruncateUtf8(text, limits.max_value_bytes, "…"); };
  cut(t.input);
  cut(t.output);
  for (auto& r : t.retrieved) cut(r.source), cut(r.content);
  for (auto& c : t.tool_calls) {
    cut(c.name), cut(c.call_id), cut(c.arguments), cut(c.result), cut(c.error), cut(c.approved_by);
  }
  for (auto& x : t.state) cut(x);
  for (auto& x : t.errors) cut(x);
  return Status::Ok();
}

}  // namespace

StoredTrace ToStored(const TraceContent& t, TimeMs now) {
  StoredTrace out;
  TraceRow& row = out.row;
  row.trace_id = t.trace_id;
  row.hash = TraceHash(t);
  row.agent = t.agent;
  row.version = t.version;
  row.user_id = t.user_id;
  row.session_id = t.session_id;
  row.category = t.category;
  row.started_at = t.started_at;
  row.ended_at = t.ended_at;
  row.span_count = t.span_count;
  row.error_count = static_cast<int64_t>(t.errors.size());
  Json doc = ContentToJson(t);
  // Which canonical form the hash is over: stored hashes keep theirs (docs/traces.md).
  doc["hash_version"] = kCanonicalVersion;
  row.doc_json = doc.dump(-1, ' ', false, Json::error_handler_t::replace);
  Signature sig = MinHash(Shingles(SimilarityText(t)));
  row.signature = SignatureToHex(sig);
  row.ingested_at = now;
  row.updated_at = now;

  TraceText& text = out.text;
  text.input = t.input;
  for (const auto& r : t.retrieved) text.retrieved += r.content + "\n";
  std::set<std::string> tools;
  for (const auto& c : t.tool_calls) {
    text.tools += c.name + " " + c.arguments + " " + c.result + " " + c.error + "\n";
    tools.insert(c.name);
  }
  text.output = t.output;
  out.tools.assign(tools.begin(), tools.end());
  out.lsh_keys = LshKeys(sig);
  return out;
}

Status CheckRetentionDays(int64_t days) {
  if (days < kMinRetentionDays) {
    return InvalidArgument("retention_days is " + std::to_string(days) +
                           ": traces are kept at least " + std::to_string(kMinRetentionDays) +
                           " days (the runbook needs them for analysis)");
  }
  return Status::Ok();
}

StatusOr<IngestResult> TraceService::IngestSpans(const std::vector<SpanData>& spans,
                                                 const std::string& agent) {
  const IngestLimits& limits = options_.limits;
  if (spans.size() > limits.max_spans_per_request) {
    return TooLarge("a request may hold at most " + std::to_string(limits.max_spans_per_request) +
                    " spans");
  }
  std::map<std::string, size_t> new_spans;  // trace id -> spans of it in this request
  std::set<std::string> new_roots;
  for (const auto& span : spans) {
    new_spans[span.trace_id]++;
    if (span.parent_span_id.empty()) new_roots.insert(span.trace_id);
  }
  IngestResult result;
  std::vector<StoredTraceEvent> stored;
  TimeMs now = clock_.NowMs();
  Status s = store_.Write([&](Txn& txn) -> Status {
    result = IngestResult();
    stored.clear();
    // Who may write each trace and how many spans it may still take, before anything is
    // written; what is known of it decides whether its spans need to be read at all.
    std::map<std::string, TraceState> states;
    for (const auto& [id, count] : new_spans) {
      FB_ASSIGN_OR_RETURN(TraceState st, StateOf(txn, id));
      if (!agent.empty() && st.owner && *st.owner != agent) {
        return PermissionDenied("trace " + id + " belongs to another agent");
      }
      if (static_cast<size_t>(st.spans.count) + count > limits.max_spans_per_trace) {
        return TooLarge("trace " + id + " would hold more than " +
                        std::to_string(limits.max_spans_per_trace) + " spans");
      }
      states.emplace(id, std::move(st));
    }
    for (const auto& span : spans) {
      SpanRow row{span.trace_id,
                  span.span_id,
                  span.parent_span_id,
                  static_cast<int64_t>(span.start_ns),
                  SpanToJson(span).dump(-1, ' ', false, Json::error_handler_t::replace),
                  now};
      FB_RETURN_IF_ERROR(txn.traces().PutSpan(row));
    }
    result.spans = static_cast<int64_t>(spans.size());
    for (const auto& [id, st] : states) {
      bool assembled_before = st.row.has_value();
      // Without a root and never assembled, there is nothing to assemble: no read.
      if (!assembled_before && !st.spans.has_root && new_roots.count(id) == 0) {
        result.pending_traces++;
        continue;
      }
      // A large trace taking more spans is assembled again shortly, once for all of them.
      if (assembled_before && st.spans.count + static_cast<int64_t>(new_spans[id]) >
                                  options_.reassemble_over_spans) {
        FB_RETURN_IF_ERROR(txn.traces().QueueReassembly(id, now));
        result.deferred_traces++;
        continue;
      }
      FB_ASSIGN_OR_RETURN(auto assembled, AssembleStored(txn, id, assembled_before));
      if (!assembled) {
        result.pending_traces++;
        continue;
      }
      if (!agent.empty()) assembled->agent = agent;
      FB_ASSIGN_OR_RETURN(auto event, PutTrace(txn, *assembled, now));
      result.hashes.push_back(event.hash);
      stored.push_back(std::move(event));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  if (observer_ && !stored.empty()) observer_->OnTracesStored(stored);
  return result;
}

StatusOr<int64_t> TraceService::AssembleBatches(
    const std::function<StatusOr<std::vector<std::string>>(Txn&, int)>& due,
    const std::function<StatusOr<std::optional<TraceContent>>(Txn&, const std::string&)>& assemble,
    TimeMs now) {
  constexpr int kBatch = 200;
  int64_t total = 0;
  while (true) {
    std::vector<StoredTraceEvent> stored;
    size_t found = 0;
    FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
      stored.clear();
      FB_ASSIGN_OR_RETURN(auto ids, due(txn, kBatch));
      found = ids.size();
      for (const auto& id : ids) {
        FB_ASSIGN_OR_RETURN(auto assembled, assemble(txn, id));
        if (!assembled) continue;
        FB_ASSIGN_OR_RETURN(auto event, PutTrace(txn, *assembled, now));
        stored.push_back(std::move(event));
      }
      return Status::Ok();
    }));
    total += static_cast<int64_t>(stored.size());
    if (observer_ && !stored.empty()) observer_->OnTracesStored(stored);
    if (found < kBatch) return total;
  }
}

StatusOr<int64_t> TraceService::AssembleQuiet() {
  std::lock_guard<std::mutex> lock(quiet_mu_);
  TimeMs now = clock_.NowMs();
  // Large traces that took spans since they were assembled, under the agent that owns them.
  FB_ASSIGN_OR_RETURN(
      int64_t total,
      AssembleBatches(
          [&](Txn& txn, int limit) {
            return txn.traces().DueReassembly(now - options_.reassemble_delay_ms + 1, limit);
          },
          [](Txn& txn, const std::string& id) -> StatusOr<std::optional<TraceContent>> {
            FB_RETURN_IF_ERROR(txn.traces().DoneReassembly(id));
            FB_ASSIGN_OR_RETURN(auto row, txn.traces().GetByTraceId(id));
            if (!row) return std::optional<TraceContent>();
            FB_ASSIGN_OR_RETURN(auto assembled, AssembleStored(txn, id, /*from_top=*/true));
            if (assembled) assembled->agent = row->agent;
            return assembled;
          },
          now));
  // Traces whose root span never came, quiet for quiet_ms.
  TimeMs cutoff = now - options_.quiet_ms;
  if (cutoff <= quiet_checked_to_) return total;
  FB_ASSIGN_OR_RETURN(
      int64_t quiet,
      AssembleBatches(
          [&](Txn& txn, int limit) {
            return txn.traces().QuietUnassembled(quiet_checked_to_, cutoff, limit);
          },
          [](Txn& txn, const std::string& id) { return AssembleStored(txn, id, /*from_top=*/true); },
          now));
  quiet_checked_to_ = cutoff;
  return total + quiet;
}

StatusOr<std::vector<std::string>> TraceService::IngestNative(const nlohmann::json& body,
                                                              const std::string& agent) {
  auto it = body.find("traces");
  if (it == body.end() || !it->is_array() || it->empty()) {
    return InvalidArgument("the body must be {\"traces\": [ ... ]} with at least one trace");
  }
  if (it->size() > options_.limits.max_traces_per_request) {
    return TooLarge("a batch may hold at most " +
                    std::to_string(options_.limits.max_traces_per_request) + " traces");
  }
  TimeMs now = clock_.NowMs();
  std::vector<TraceContent> traces;
  for (size_t i = 0; i < it->size(); ++i) {
    auto t = ContentFromJson((*it)[i]);
    if (!t.ok())
      return InvalidArgument("traces[" + std::to_string(i) + "]: " + t.status().message());
    if (t->input.empty() && t->output.empty() && t->tool_calls.empty()) {
      return InvalidArgument("traces[" + std::to_string(i) +
                             "]: a trace needs at least one of input, output or tool_calls");
    }
    if (Status limited = LimitNative(*t, options_.limits); !limited.ok()) {
      return Status(limited.code(), "traces[" + std::to_string(i) + "]: " + limited.message());
    }
    if (!agent.empty() && t->agent != agent) {
      return PermissionDenied("traces[" + std::to_string(i) + "]: an agent token writes its own "
                              "agent's traces only");
    }
    if (t->trace_id.empty()) t->trace_id = RandomHex(16);
    if (t->started_at == 0) t->started_at = now;
    if (t->ended_at < t->started_at) t->ended_at = t->started_at;
    traces.push_back(std::move(*t));
  }
  std::vector<std::string> hashes;
  std::vector<StoredTraceEvent> stored;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    hashes.clear();
    stored.clear();
    for (const auto& t : traces) {
      if (!agent.empty()) {
        FB_ASSIGN_OR_RETURN(TraceState st, StateOf(txn, t.trace_id));
        if (st.owner && *st.owner != agent) {
          return PermissionDenied("trace " + t.trace_id + " belongs to another agent");
        }
      }
      FB_ASSIGN_OR_RETURN(auto event, PutTrace(txn, t, now));
      hashes.push_back(event.hash);
      stored.push_back(std::move(event));
    }
    return Status::Ok();
  }));
  if (observer_) observer_->OnTracesStored(stored);
  return hashes;
}

StatusOr<TraceView> TraceService::Get(const std::string& raw_name) {
  std::string name = raw_name;
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (name.size() < 8 || name.size() > 64 || !IsHex(name)) {
    return InvalidArgument("a trace is named by at least 8 hex characters of its hash (got '" +
                           raw_name + "')");
  }
  TraceView view;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto hashes, txn.traces().HashesWithPrefix(name, 11));
    if (hashes.size() > 1) {
      std::string list =
          Join(std::vector<std::string>(hashes.begin(),
                                        hashes.begin() + std::min<size_t>(hashes.size(), 10)),
               ", ");
      return Conflict(
          "the prefix '" + name + "' is ambiguous; it matches " +
          (hashes.size() > 10 ? "more than 10 traces" : std::to_string(hashes.size()) + " traces") +
          ": " + list);
    }
    if (hashes.empty()) {
      FB_ASSIGN_OR_RETURN(auto by_id, txn.traces().GetByTraceId(name));
      if (!by_id) return NotFound("no trace matches '" + name + "'");
      FB_ASSIGN_OR_RETURN(auto rows, txn.traces().RowsWithHash(by_id->hash));
      view = {*by_id, static_cast<int64_t>(rows.size())};
      return Status::Ok();
    }
    FB_ASSIGN_OR_RETURN(auto found, txn.traces().GetByHash(hashes[0]));
    view = {found.first, found.second};
    return Status::Ok();
  }));
  return view;
}

StatusOr<std::vector<SpanData>> TraceService::RawSpans(const std::string& trace_id) {
  std::vector<SpanData> out;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto rows, txn.traces().Spans(trace_id));
    for (const auto& r : rows) {
      FB_ASSIGN_OR_RETURN(SpanData s, SpanFromJson(Json::parse(r.data_json, nullptr, false)));
      out.push_back(std::move(s));
    }
    return Status::Ok();
  }));
  return out;
}

StatusOr<std::vector<TraceRow>> TraceService::List(TraceFilter f) {
  if (f.limit < 1 || f.limit > 1000) return InvalidArgument("'limit' must be in 1..1000");
  if (!f.text.empty()) {
    f.text = FtsAllQuery(f.text);
    if (f.text.empty()) return InvalidArgument("'q' has no searchable word");
  }
  std::vector<TraceRow> rows;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(rows, txn.traces().List(f));
    return Status::Ok();
  }));
  return rows;
}

StatusOr<std::vector<SimilarHit>> TraceService::Similar(const std::string& name, int k) {
  FB_ASSIGN_OR_RETURN(TraceView view, Get(name));
  Json doc = Json::parse(view.row.doc_json, nullptr, false);
  auto content = ContentFromJson(doc);
  if (!content.ok()) return Internal("stored trace is not readable: " + content.status().message());
  return Nearest(SimilarityText(*content), view.row.id, k);
}

StatusOr<std::vector<SimilarHit>> TraceService::SimilarToText(const std::string& text, int k) {
  if (Shingles(text).empty()) return InvalidArgument("the text has no word to compare");
  return Nearest(text, std::nullopt, k);
}

StatusOr<std::vector<SimilarHit>> TraceService::Nearest(const std::string& text,
                                                        std::optional<int64_t> exclude, int k) {
  if (k < 1 || k > 100) return InvalidArgument("'k' must be in 1..100");
  Signature sig = MinHash(Shingles(text));
  std::string fts = FtsAnyQuery(text, kTextTerms);
  std::vector<SimilarHit> hits;
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    std::map<int64_t, double> text_score;  // row -> bm25 relative to the best
    std::set<int64_t> candidates;
    for (int64_t key : LshKeys(sig)) {
      FB_ASSIGN_OR_RETURN(auto rows, txn.traces().LshBucket(key, kBucketLimit));
      candidates.insert(rows.begin(), rows.end());
    }
    if (!fts.empty()) {
      FB_ASSIGN_OR_RETURN(auto matches, txn.traces().TextSearch(fts, kTextCandidates));
      // bm25 is negative, lower is better: relative score = bm25 / best bm25.
      double best = matches.empty() ? 0 : matches.front().bm25;
      for (const auto& m : matches) {
        candidates.insert(m.trace_row);
        text_score[m.trace_row] = best < 0 ? m.bm25 / best : 0;
      }
    }
    if (exclude) candidates.erase(*exclude);
    FB_ASSIGN_OR_RETURN(auto sigs, txn.traces().Signatures(
                                       std::vector<int64_t>(candidates.begin(), candidates.end())));
    std::vector<SimilarHit> scored;
    for (const auto& [row, hex] : sigs) {
      SimilarHit h;
      h.row.id = row;
      auto other = SignatureFromHex(hex);
      h.jaccard = other ? EstimateJaccard(sig, *other) : 0;
      auto ts = text_score.find(row);
      h.text = ts == text_score.end() ? 0 : ts->second;
      h.score = kJaccardWeight * h.jaccard + (1 - kJaccardWeight) * h.text;
      if (h.score > 0) scored.push_back(h);
    }
    std::sort(scored.begin(), scored.end(), [](const SimilarHit& a, const SimilarHit& b) {
      return a.score != b.score ? a.score > b.score : a.row.id > b.row.id;
    });
    if (static_cast<int>(scored.size()) > k) scored.resize(static_cast<size_t>(k));
    for (auto& h : scored) {
      FB_ASSIGN_OR_RETURN(h.row, txn.traces().Get(h.row.id));
    }
    hits = std::move(scored);
    return Status::Ok();
  }));
  return hits;
}

StatusOr<FlagResult> TraceService::Flag(const std::string& actor, const FlagRequest& req) {
  if (req.flag != "toxic" && req.flag != "suspect" && req.flag != "clean") {
    return InvalidArgument("'flag' must be toxic, suspect or clean");
  }
  if (req.reason.empty()) return InvalidArgument("'reason' is required");
  bool window = !req.agent.empty() || !req.version.empty() || req.from || req.to;
  if (req.hashes.empty() == !window) {
    return InvalidArgument("flag either 'hashes' or a window (agent, version, from, to), not both");
  }
  if (req.from && req.to && *req.to <= *req.from)
    return InvalidArgument("'to' must be after 'from'");
  // Names are resolved first (prefixes, ambiguity) so a bad name changes nothing.
  std::vector<std::string> hashes;
  for (const auto& name : req.hashes) {
    FB_ASSIGN_OR_RETURN(TraceView v, Get(name));
    hashes.push_back(v.row.hash);
  }
  FlagResult result;
  TimeMs now = clock_.NowMs();
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    result = FlagResult();
    if (req.incident_id) FB_RETURN_IF_ERROR(txn.incidents().Get(*req.incident_id).status());
    std::vector<int64_t> rows;
    if (window) {
      FB_ASSIGN_OR_RETURN(rows, txn.traces().Window(req.agent, req.version, req.from, req.to));
    } else {
      for (const auto& h : hashes) {
        FB_ASSIGN_OR_RETURN(auto ids, txn.traces().RowsWithHash(h));
        rows.insert(rows.end(), ids.begin(), ids.end());
      }
    }
    std::set<std::string> flagged_hashes;
    for (int64_t row : rows) {
      FB_RETURN_IF_ERROR(
          txn.traces().AddFlag({row, req.flag, req.reason, req.incident_id, actor, now}));
      if (window && flagged_hashes.size() < 100) {
        FB_ASSIGN_OR_RETURN(TraceRow t, txn.traces().Get(row));
        flagged_hashes.insert(t.hash);
      }
    }
    if (!window) flagged_hashes.insert(hashes.begin(), hashes.end());
    result.flagged = static_cast<int64_t>(rows.size());
    result.hashes.assign(flagged_hashes.begin(), flagged_hashes.end());
    Json details = {{"flag", req.flag}, {"reason", req.reason}, {"traces", result.flagged}};
    Json shown = Json::array();
    for (size_t i = 0; i < result.hashes.size() && i < 20; ++i) shown.push_back(result.hashes[i]);
    details["hashes"] = shown;
    if (window) {
      details["window"] = {{"agent", req.agent},
                           {"version", req.version},
                           {"from", req.from ? Json(FormatTime(*req.from)) : Json()},
                           {"to", req.to ? Json(FormatTime(*req.to)) : Json()}};
    }
    return log_.Append(txn, {req.incident_id, actor, "traces.flagged", details}).status();
  }));
  return result;
}

StatusOr<int64_t> TraceService::SweepExpired() {
  FB_RETURN_IF_ERROR(CheckRetentionDays(options_.retention_days));
  constexpr int kBatch = 500;
  TimeMs now = clock_.NowMs();
  TimeMs cutoff = now - options_.retention_days * kDayMs;
  int64_t total = 0;
  while (true) {
    int64_t deleted = 0, orphans = 0;
    FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(auto ids, txn.traces().Expired(cutoff, kBatch));
      for (int64_t id : ids) FB_RETURN_IF_ERROR(txn.traces().Delete(id));
      deleted = static_cast<int64_t>(ids.size());
      if (deleted < kBatch) {
        FB_ASSIGN_OR_RETURN(orphans, txn.traces().DeleteOrphanSpans(cutoff));
      }
      if (deleted + orphans == 0) return Status::Ok();
      return log_
          .Append(txn, {std::nullopt,
                        "system",
                        "traces.expired",
                        {{"traces", deleted},
                         {"orphan_spans", orphans},
                         {"older_than", FormatTime(cutoff)},
                         {"retention_days", options_.retention_days}}})
          .status();
    }));
    total += deleted;
    if (deleted < kBatch) break;
  }
  return total;
}

StatusOr<AffectedScope> AffectedScopeOf(const IncidentRecord& inc, std::optional<TimeMs> from,
                                        std::optional<TimeMs> to, TimeMs now) {
  AffectedScope scope;
  scope.incident_id = inc.id;
  scope.agent = inc.agent;
  scope.from = from ? *from : inc.detected_at - kAffectedLookbackMs;
  scope.to = to ? *to : inc.resolved_at.value_or(now);
  if (scope.from > scope.to) return InvalidArgument("the window's 'from' is after its 'to'");
  return scope;
}

StatusOr<AffectedUsers> TraceService::ListAffectedUsers(const AffectedQuery& q) {
  AffectedUsers out;
  TimeMs now = clock_.NowMs();
  FB_RETURN_IF_ERROR(store_.Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(IncidentRecord inc, txn.incidents().Get(q.incident_id));
    FB_ASSIGN_OR_RETURN(out.scope, AffectedScopeOf(inc, q.from, q.to, now));
    FB_ASSIGN_OR_RETURN(out.totals, txn.traces().CountAffected(out.scope));
    FB_ASSIGN_OR_RETURN(out.users, txn.traces().AffectedUsers(out.scope, q.after_user, q.limit));
    return Status::Ok();
  }));
  if (static_cast<int>(out.users.size()) == q.limit) out.next_cursor = out.users.back().user_id;
  return out;
}

StatusOr<int64_t> TraceService::EraseUser(const std::string& actor, const std::string& user_id,
                                          const std::string& reason) {
  if (user_id.empty()) return InvalidArgument("'user_id' is required");
  if (reason.empty())
    return InvalidArgument("'reason' is required (e.g. the privacy request's reference)");
  if (options_.erasure_key.empty()) return Unavailable("erasure needs an erasure key; none is configured");
  int64_t count = 0;
  FB_RETURN_IF_ERROR(store_.Write([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(auto ids, txn.traces().ForUser(user_id));
    for (int64_t id : ids) FB_RETURN_IF_ERROR(txn.traces().Delete(id));
    count = static_cast<int64_t>(ids.size());
    FB_RETURN_IF_ERROR(txn.RequestCompaction());
    // The audit log is append-only, so it records a keyed digest of the user id, never the id:
    // without the key, nobody can test a guessed id against it.
    return log_
        .Append(txn, {std::nullopt,
                      actor,
                      "privacy.erasure",
                      {{"user_id_hmac_sha256", HmacSha256Hex(options_.erasure_key, user_id)},
                       {"traces", count},
                       {"reason", reason}}})
        .status();
  }));
  // Committed: the erasure is done. A compaction that fails stays pending in the store and is
  // finished later (serve retries it every minute and at start).
  (void)store_.Compact();
  return count;
}

}  // namespace firebreak::traces
