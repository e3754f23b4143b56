// Assembly: the spans of one trace, in whatever order and batches they arrived, become one
// TraceContent. A trace is assembled once its root span (no parent) is there; later spans
// re-assemble it.
#pragma once

#include <optional>
#include <vector>

#include "traces/span.h"
#include "traces/trace.h"

namespace firebreak::traces {

// Returns the assembled trace, or nullopt while the root span has not arrived. `spans` may be
// in any order; the result does not depend on it.
std::optional<TraceContent> Assemble(std::vector<SpanData> spans);

}  // namespace firebreak::traces
