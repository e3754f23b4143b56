#include "traces/assembly.h"

#include <algorithm>
#include <set>
#include <string_view>

#include "traces/conventions.h"

namespace firebreak::traces {

std::optional<TraceContent> Assemble(std::vector<SpanData> spans, bool from_top) {
  // Start order, ties broken by span id, so arrival order never matters.
  std::sort(spans.begin(), spans.end(), [](const SpanData& a, const SpanData& b) {
    return a.start_ns != b.start_ns ? a.start_ns < b.start_ns : a.span_id < b.span_id;
  });
  const SpanData* root = nullptr;
  for (const auto& s : spans) {
    if (s.parent_span_id.empty()) {
      root = &s;
      break;
    }
  }
  if (root == nullptr && from_top) {
    std::set<std::string_view> ids;
    for (const auto& s : spans) ids.insert(s.span_id);
    for (const auto& s : spans) {
      if (ids.count(s.parent_span_id) == 0) {
        root = &s;
        break;
      }
    }
    // Parents that point at each other leave no top: the earliest span stands in.
    if (root == nullptr && !spans.empty()) root = &spans.front();
  }
  if (root == nullptr) return std::nullopt;

  TraceContent t;
  t.trace_id = root->trace_id;
  t.span_count = static_cast<int64_t>(spans.size());
  uint64_t start = root->start_ns, end = root->end_ns;

  std::vector<SpanFacts> facts;
  facts.reserve(spans.size());
  for (const auto& s : spans) {
    facts.push_back(ReadSpan(s));
    start = std::min(start, s.start_ns);
    end = std::max(end, s.end_ns);
  }
  t.started_at = static_cast<TimeMs>(start / 1000000);
  t.ended_at = static_cast<TimeMs>(end / 1000000);

  size_t root_index = static_cast<size_t>(root - spans.data());
  const SpanFacts& rf = facts[root_index];
  // Metadata: the root's word first, then the first span that says it.
  auto pick = [&](std::string SpanFacts::*field) {
    if (!(rf.*field).empty()) return rf.*field;
    for (const auto& f : facts) {
      if (!(f.*field).empty()) return f.*field;
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
      if (facts[i].role == role) t.input = facts[i].input;
    }
    for (size_t i = facts.size(); i-- > 0 && t.output.empty();) {
      if (facts[i].role == role) t.output = facts[i].output;
    }
  }

  int64_t llm_in = 0, llm_out = 0;
  for (size_t i = 0; i < facts.size(); ++i) {
    SpanFacts& f = facts[i];
    switch (f.role) {
      case SpanRole::kTool:
        t.tool_calls.push_back(std::move(*f.tool));
        break;
      case SpanRole::kRetrieval:
        for (auto& r : f.retrieved) t.retrieved.push_back(std::move(r));
        break;
      case SpanRole::kLlm:
        llm_in += f.input_tokens;
        llm_out += f.output_tokens;
        // What the model said on the way, other than the final response, is internal state.
        if (!f.output.empty() && f.output != t.output) t.state.push_back(f.output);
        break;
      default:
        break;
    }
    for (auto& e : f.errors) t.errors.push_back(std::move(e));
    for (auto& e : f.evaluations) t.evaluations.push_back(std::move(e));
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
