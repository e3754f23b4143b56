// Conventions: what a span says, whatever agent stack emitted it.
//
// Reads the attribute names of the OpenTelemetry GenAI semantic conventions (current gen_ai.*
// and the deprecated gen_ai.system / gen_ai.prompt.N.* / gen_ai.completion.N.* / usage
// prompt/completion tokens), OpenInference (openinference.span.kind, input.value,
// output.value, llm.*, tool.*, retrieval.documents.*), the Vercel AI SDK (ai.*) and
// OpenLLMetry (traceloop.*) into one neutral description of the span, including LangChain and
// LangGraph spans as OpenInference writes them. Messages are read in every shape these emit
// (GenAI parts, OpenAI chat messages, LangChain message dumps and tuples, Vercel and Anthropic
// content parts), so a tool call that exists only in a model's output is still seen. The table
// of names is in docs/traces.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "traces/span.h"
#include "traces/trace.h"

namespace firebreak::traces {

enum class SpanRole { kOther, kAgent, kLlm, kTool, kRetrieval };

// A tool result sent back to a model in its input (a role=tool message or a tool result part).
struct ToolReply {
  std::string call_id;  // "" when the convention does not carry it (OpenLLMetry's indexed prompts)
  std::string name;     // "" when not given
  std::string content;
  // True for the replies that end the input: the results of the model's previous turn, in the
  // order of that turn's calls (what matches them when there is no call id).
  bool ends_input = false;
};

struct SpanFacts {
  SpanRole role = SpanRole::kOther;
  std::string input;                     // the user's input as this span saw it (last user message)
  std::string output;                    // the text this span produced
  std::optional<ToolCall> tool;          // for kTool
  std::vector<ToolCall> requested_tools;  // for kLlm: calls the model's output asks for, in order
  std::vector<ToolReply> tool_replies;    // for kLlm: tool results in the model's input
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
