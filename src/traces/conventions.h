// Conventions: what a span says, whatever agent stack emitted it.
//
// Reads the attribute names of the OpenTelemetry GenAI semantic conventions (current gen_ai.*
// and the deprecated gen_ai.system / gen_ai.prompt.N.* / gen_ai.completion.N.* / usage
// prompt/completion tokens), OpenInference (openinference.span.kind, input.value,
// output.value, llm.*, tool.*, retrieval.documents.*), the Vercel AI SDK (ai.*) and
// OpenLLMetry (traceloop.*) into one neutral description of the span. The table of names is
// in docs/traces.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "traces/span.h"
#include "traces/trace.h"

namespace firebreak::traces {

enum class SpanRole { kOther, kAgent, kLlm, kTool, kRetrieval };

struct SpanFacts {
  SpanRole role = SpanRole::kOther;
  std::string input;                     // the user's input as this span saw it (last user message)
  std::string output;                    // the text this span produced
  std::optional<ToolCall> tool;          // for kTool
  std::vector<RetrievedItem> retrieved;  // for kRetrieval
  std::string agent, version, user_id, session_id, category;
  int64_t input_tokens = 0, output_tokens = 0;
  std::vector<std::string> errors;
  std::vector<Evaluation> evaluations;
};

// Returns what the span says, by the conventions above. Never fails: unknown attributes are
// ignored and the raw span stays in the store.
SpanFacts ReadSpan(const SpanData& span);

}  // namespace firebreak::traces
