// Taint closure: which records a quarantine must also take with it.
//
// Starting from the records a quarantine matches directly, the closure adds, transitively:
//   - every record derived from a record in the set (its `derived_from` names it), and
//   - every record written by a trace after that trace read a record in the set.
// The walk is a breadth-first search over a neighbour function, so it is the same code for the
// store (memory_service.cc) and for tests over a graph in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "store/memory.h"

namespace firebreak {

// A record reachable in one step, and why (kCauseDerived or kCauseRead).
struct TaintEdge {
  int64_t record_id = 0;
  const char* cause = kCauseDerived;
};

using TaintNeighbours = std::function<StatusOr<std::vector<TaintEdge>>(int64_t record_id)>;

// Returns the records reachable from `seeds` and not among them, each once with the cause of
// the edge that first reached it, in the order found. Stops at the first error of `next`.
StatusOr<std::vector<QuarantineMember>> TaintClosure(const std::vector<int64_t>& seeds,
                                                     const TaintNeighbours& next);

// Returns the neighbour function over the store: derivations and reads-then-writes of one agent.
// `repo` must outlive the returned function.
TaintNeighbours StoreTaintNeighbours(MemoryRepo& repo, const std::string& agent);

}  // namespace firebreak
