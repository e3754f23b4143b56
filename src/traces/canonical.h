// The stable hash: SHA-256 over a canonical form of a trace's content, so the same content
// hashes the same on re-ingest, on another machine and in a year. The canonical form is
// documented in docs/traces.md; changing it changes every hash, so it carries a version.
#pragma once

#include <string>

#include "traces/trace.h"

namespace firebreak::traces {

// 2: tool calls read from model output, OpenLLMetry envelopes unwrapped, provider response
// documents kept out, spans starting within a millisecond of each other ordered by content,
// JSON text with leading whitespace compared by value (docs/traces.md, "Versions"). Stored
// hashes keep the version they were computed with (the stored document's `hash_version`).
inline constexpr int kCanonicalVersion = 2;

// Returns the canonical form: compact JSON, keys sorted, volatile fields (ids, times,
// durations, token counts, user and session ids) left out, JSON-valued tool arguments and
// results re-serialised canonically.
std::string CanonicalForm(const TraceContent& t);

// Returns the lowercase hex SHA-256 of CanonicalForm(t).
std::string TraceHash(const TraceContent& t);

// Returns a tool argument or result text as the canonical form holds it, serialised: JSON
// objects and arrays by value (key order and whitespace do not matter), other text as is. Two
// texts are the same argument exactly when these are equal.
std::string CanonicalText(const std::string& text);

}  // namespace firebreak::traces
