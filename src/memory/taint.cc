#include "memory/taint.h"

#include <deque>
#include <unordered_set>

namespace firebreak {

StatusOr<std::vector<QuarantineMember>> TaintClosure(const std::vector<int64_t>& seeds,
                                                     const TaintNeighbours& next) {
  std::unordered_set<int64_t> seen(seeds.begin(), seeds.end());
  std::deque<int64_t> frontier(seeds.begin(), seeds.end());
  std::vector<QuarantineMember> out;
  while (!frontier.empty()) {
    int64_t id = frontier.front();
    frontier.pop_front();
    FB_ASSIGN_OR_RETURN(auto edges, next(id));
    for (const TaintEdge& e : edges) {
      if (!seen.insert(e.record_id).second) continue;
      out.push_back({e.record_id, e.cause});
      frontier.push_back(e.record_id);
    }
  }
  return out;
}

TaintNeighbours StoreTaintNeighbours(MemoryRepo& repo, const std::string& agent) {
  return [&repo, agent](int64_t id) -> StatusOr<std::vector<TaintEdge>> {
    std::vector<TaintEdge> edges;
    FB_ASSIGN_OR_RETURN(auto children, repo.DerivedFrom(id));
    for (int64_t child : children) edges.push_back({child, kCauseDerived});
    FB_ASSIGN_OR_RETURN(auto reads, repo.ReadsOf(id));
    for (const MemoryRead& read : reads) {
      FB_ASSIGN_OR_RETURN(auto written, repo.WrittenByTraceAfter(agent, read.trace_id, read.high_id));
      for (int64_t w : written) edges.push_back({w, kCauseRead});
    }
    return edges;
  };
}

}  // namespace firebreak
