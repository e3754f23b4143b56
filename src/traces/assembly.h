// Assembly: the spans of one trace, in whatever order and batches they arrived, become one
// TraceContent. A trace is assembled once its root span (no parent) is there; later spans
// re-assemble it. A trace whose root has a parent elsewhere (the agent was called by an
// upstream service) is assembled from its top-most span once the caller says so (quiet time).
#pragma once

#include <optional>
#include <vector>

#include "traces/span.h"
#include "traces/trace.h"

namespace firebreak::traces {

// Returns the assembled trace, or nullopt while the root span has not arrived. `spans` may be
// in any order; the result does not depend on it. With `from_top`, a trace without a root
// span is assembled from its top-most span instead: the earliest span whose parent is not among
// `spans` (nullopt only when `spans` is empty).
std::optional<TraceContent> Assemble(std::vector<SpanData> spans, bool from_top = false);

}  // namespace firebreak::traces
