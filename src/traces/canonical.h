// The stable hash: SHA-256 over a canonical form of a trace's content, so the same content
// hashes the same on re-ingest, on another machine and in a year. The canonical form is
// documented in docs/traces.md; changing it changes every hash, so it carries a version.
#pragma once

#include <string>

#include "traces/trace.h"

namespace firebreak::traces {

inline constexpr int kCanonicalVersion = 1;

// Returns the canonical form: compact JSON, keys sorted, volatile fields (ids, times,
// durations, token counts, user and session ids) left out, JSON-valued tool arguments and
// results re-serialised canonically.
std::string CanonicalForm(const TraceContent& t);

// Returns the lowercase hex SHA-256 of CanonicalForm(t).
std::string TraceHash(const TraceContent& t);

}  // namespace firebreak::traces
