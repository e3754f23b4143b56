#include "traces/assembly.h"

#include <algorithm>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <string_view>

#include "common/crypto.h"
#include "traces/canonical.h"
#include "traces/conventions.h"

namespace firebreak::traces {
namespace {

using Json = nlohmann::json;

constexpr uint64_t kGroupNs = 1'000'000;  // spans closer than this are ordered by content

Json CallJson(const ToolCall& c) {
  return {c.name, c.arguments, c.result, c.error, c.approved_by};
}

// Returns a digest of what a span says that the trace is made of (no ids, no times): spans are
// compared by it, and a digest keeps each comparison short whatever the spans hold.
std::string ContentKey(const SpanFacts& f) {
  Json j = {static_cast<int>(f.role), f.input, f.output};
  j.push_back(f.tool ? CallJson(*f.tool) : Json());
  Json retrieved = Json::array(), requested = Json::array(), replies = Json::array();
  for (const auto& r : f.retrieved) retrieved.push_back({r.source, r.content});
  for (const auto& c : f.requested_tools) requested.push_back(CallJson(c));
  for (const auto& r : f.tool_replies) replies.push_back({r.name, r.content});
  j.push_back(retrieved);
  j.push_back(requested);
  j.push_back(replies);
  j.push_back(f.errors);
  return Sha256Hex(j.dump(-1, ' ', false, Json::error_handler_t::replace));
}

// One tool call of the trace while it is merged: from a tool span, or asked for by a model.
struct CallEntry {
  ToolCall call;
  size_t span = 0;         // position of its span in start order
  bool requested = false;  // from a model's output
  bool merged = false;     // requested, and the same call as a tool span's (that one is kept)
};

// Merges each model request into the tool span that executed it: the same call id when both
// carry one, else the same name and arguments (neither OpenInference nor OpenLLMetry puts the
// call id on the tool span). A merged request lends the tool span its call id, and the result
// the model was sent when the span recorded none. Linear in the calls: a trace may hold many.
void MergeRequests(std::vector<CallEntry>& entries) {
  std::map<std::string, std::deque<size_t>> by_id;
  std::map<std::pair<std::string, std::string>, std::deque<size_t>> by_content;
  for (size_t i = 0; i < entries.size(); ++i) {
    const ToolCall& c = entries[i].call;
    if (entries[i].requested) continue;
    if (!c.call_id.empty()) by_id[c.call_id].push_back(i);
    by_content[{c.name, CanonicalText(c.arguments)}].push_back(i);
  }
  std::vector<bool> taken(entries.size(), false);
  auto take = [&](std::deque<size_t>& queue) -> std::optional<size_t> {
    while (!queue.empty() && taken[queue.front()]) queue.pop_front();
    if (queue.empty()) return std::nullopt;
    size_t i = queue.front();
    queue.pop_front();
    taken[i] = true;
    return i;
  };
  for (bool by_call_id : {true, false}) {
    for (auto& r : entries) {
      if (!r.requested || r.merged || (by_call_id && r.call.call_id.empty())) continue;
      std::optional<size_t> found;
      if (by_call_id) {
        if (auto it = by_id.find(r.call.call_id); it != by_id.end()) found = take(it->second);
      } else if (auto it = by_content.find({r.call.name, CanonicalText(r.call.arguments)});
                 it != by_content.end()) {
        found = take(it->second);
      }
      if (!found) continue;
      r.merged = true;
      ToolCall& executed = entries[*found].call;
      if (executed.call_id.empty()) executed.call_id = r.call.call_id;
      if (executed.result.empty()) executed.result = r.call.result;
    }
  }
}

// Fills in the results a model was sent for the calls it asked for: the reply with the call's
// id, else (no ids, as in OpenLLMetry's indexed prompts) the reply in the same place among
// those that end the next model call's input, when they are as many as the calls.
void FillReplies(std::vector<CallEntry>& entries, const std::vector<const SpanFacts*>& facts) {
  std::map<std::string, const ToolReply*> by_id;
  std::vector<std::vector<const ToolReply*>> ending(facts.size());
  for (size_t i = 0; i < facts.size(); ++i) {
    for (const auto& reply : facts[i]->tool_replies) {
      if (!reply.call_id.empty()) by_id.emplace(reply.call_id, &reply);
      if (reply.ends_input) ending[i].push_back(&reply);
    }
  }
  std::vector<size_t> next_model(facts.size() + 1, facts.size());
  for (size_t i = facts.size(); i-- > 0;) {
    next_model[i] = facts[i]->role == SpanRole::kLlm ? i : next_model[i + 1];
  }
  std::map<size_t, size_t> calls_in_span;
  for (const auto& e : entries) {
    if (e.requested) calls_in_span[e.span]++;
  }
  size_t place = 0, last_span = facts.size();
  for (auto& r : entries) {
    if (!r.requested) continue;
    place = r.span == last_span ? place + 1 : 0;
    last_span = r.span;
    if (!r.call.call_id.empty()) {
      if (auto it = by_id.find(r.call.call_id); it != by_id.end()) {
        r.call.result = it->second->content;
        continue;
      }
    }
    size_t next = next_model[r.span + 1];
    if (next == facts.size() || ending[next].size() != calls_in_span[r.span]) continue;
    const ToolReply& reply = *ending[next][place];
    if ((reply.name.empty() || reply.name == r.call.name) &&
        (reply.call_id.empty() || r.call.call_id.empty())) {
      r.call.result = reply.content;
    }
  }
}

// Returns the trace's tool calls in span order: each tool span's call, and each call a model
// asked for that no tool span executed (the framework ran the tool without a span), with the
// result the model was sent for it.
std::vector<ToolCall> ToolCallsOf(const std::vector<const SpanFacts*>& facts) {
  std::vector<CallEntry> entries;
  for (size_t i = 0; i < facts.size(); ++i) {
    if (facts[i]->role == SpanRole::kTool) entries.push_back({*facts[i]->tool, i});
    for (const auto& c : facts[i]->requested_tools) entries.push_back({c, i, /*requested=*/true});
  }
  FillReplies(entries, facts);
  MergeRequests(entries);
  std::vector<ToolCall> out;
  for (auto& e : entries) {
    if (!e.merged) out.push_back(std::move(e.call));
  }
  return out;
}

}  // namespace

std::optional<TraceContent> Assemble(std::vector<SpanData> spans, bool from_top) {
  std::vector<SpanFacts> read;
  read.reserve(spans.size());
  for (const auto& s : spans) read.push_back(ReadSpan(s));
  // Start order, so arrival order never matters; but spans that start less than a millisecond
  // after the one before them (a group: parallel tool calls, or exporters that stamp whole
  // milliseconds such as OpenTelemetry JS) are ordered by what they say, then by span id.
  // Within a millisecond the clock says little about order, and random span ids would make two
  // runs of the same content hash differently. The span id only orders spans that say the same.
  std::vector<std::string> keys;
  keys.reserve(read.size());
  for (const auto& f : read) keys.push_back(ContentKey(f));
  std::vector<size_t> order(spans.size());
  std::iota(order.begin(), order.end(), size_t{0});
  auto by_content = [&](size_t a, size_t b) {
    if (int c = keys[a].compare(keys[b]); c != 0) return c < 0;
    return spans[a].span_id < spans[b].span_id;
  };
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (spans[a].start_ns != spans[b].start_ns) return spans[a].start_ns < spans[b].start_ns;
    return by_content(a, b);
  });
  for (size_t first = 0; first < order.size();) {
    size_t last = first + 1;
    while (last < order.size() &&
           spans[order[last]].start_ns - spans[order[last - 1]].start_ns < kGroupNs) {
      ++last;
    }
    std::sort(order.begin() + static_cast<std::ptrdiff_t>(first),
              order.begin() + static_cast<std::ptrdiff_t>(last), by_content);
    first = last;
  }
  std::vector<const SpanData*> sorted;
  std::vector<const SpanFacts*> facts;
  for (size_t i : order) {
    sorted.push_back(&spans[i]);
    facts.push_back(&read[i]);
  }

  // The root (or the top-most span) is the earliest candidate by the clock; among those that
  // start at the same time, the first in the order above.
  auto earliest = [&](auto is_candidate) {
    std::optional<size_t> found;
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (is_candidate(*sorted[i]) && (!found || sorted[i]->start_ns < sorted[*found]->start_ns)) {
        found = i;
      }
    }
    return found;
  };
  std::optional<size_t> root = earliest([](const SpanData& s) { return s.parent_span_id.empty(); });
  if (!root && from_top) {
    std::set<std::string_view> ids;
    for (const auto* s : sorted) ids.insert(s->span_id);
    root = earliest([&](const SpanData& s) { return ids.count(s.parent_span_id) == 0; });
    // Parents that point at each other leave no top: the earliest span stands in.
    if (!root) root = earliest([](const SpanData&) { return true; });
  }
  if (!root) return std::nullopt;

  const SpanData& rs = *sorted[*root];
  const SpanFacts& rf = *facts[*root];
  TraceContent t;
  t.trace_id = rs.trace_id;
  t.span_count = static_cast<int64_t>(sorted.size());
  uint64_t start = rs.start_ns, end = rs.end_ns;
  for (const auto* s : sorted) {
    start = std::min(start, s->start_ns);
    end = std::max(end, s->end_ns);
  }
  t.started_at = static_cast<TimeMs>(start / 1000000);
  t.ended_at = static_cast<TimeMs>(end / 1000000);

  // Metadata: the root's word first, then the first span that says it.
  auto pick = [&](std::string SpanFacts::*field) {
    if (!(rf.*field).empty()) return rf.*field;
    for (const auto* f : facts) {
      if (!(f->*field).empty()) return f->*field;
    }
    return std::string();
  };
  t.agent = pick(&SpanFacts::agent);
  t.version = pick(&SpanFacts::version);
  t.user_id = pick(&SpanFacts::user_id);
  t.session_id = pick(&SpanFacts::session_id);
  t.category = pick(&SpanFacts::category);

  // Input: the root's, else the first agent span's, else the first model call's.
  // Output: the root's, else the last agent span's, else the last model call's.
  t.input = rf.input;
  t.output = rf.output;
  for (SpanRole role : {SpanRole::kAgent, SpanRole::kLlm}) {
    for (size_t i = 0; i < facts.size() && t.input.empty(); ++i) {
      if (facts[i]->role == role) t.input = facts[i]->input;
    }
    for (size_t i = facts.size(); i-- > 0 && t.output.empty();) {
      if (facts[i]->role == role) t.output = facts[i]->output;
    }
  }

  t.tool_calls = ToolCallsOf(facts);
  int64_t llm_in = 0, llm_out = 0;
  for (const SpanFacts* f : facts) {
    if (f->role == SpanRole::kRetrieval) {
      for (const auto& r : f->retrieved) t.retrieved.push_back(r);
    } else if (f->role == SpanRole::kLlm) {
      llm_in += f->input_tokens;
      llm_out += f->output_tokens;
      // What the model said on the way, other than the final response, is internal state.
      if (!f->output.empty() && f->output != t.output) t.state.push_back(f->output);
    }
    for (const auto& e : f->errors) t.errors.push_back(e);
    for (const auto& e : f->evaluations) t.evaluations.push_back(e);
  }
  // Usage is counted on model calls; roots of some stacks repeat the sum, so they are a
  // fallback only.
  if (llm_in + llm_out > 0) {
    t.input_tokens = llm_in;
    t.output_tokens = llm_out;
  } else {
    t.input_tokens = rf.input_tokens;
    t.output_tokens = rf.output_tokens;
  }
  return t;
}

}  // namespace firebreak::traces
