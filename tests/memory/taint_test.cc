#include "memory/taint.h"

#include <gtest/gtest.h>

#include <map>

namespace firebreak {
namespace {

// A graph in memory: edges[from] = {(to, cause)}.
TaintNeighbours Graph(std::map<int64_t, std::vector<TaintEdge>> edges) {
  return [edges = std::move(edges)](int64_t id) -> StatusOr<std::vector<TaintEdge>> {
    auto it = edges.find(id);
    if (it == edges.end()) return std::vector<TaintEdge>();
    return it->second;
  };
}

std::map<int64_t, std::string> AsMap(const std::vector<QuarantineMember>& members) {
  std::map<int64_t, std::string> out;
  for (const auto& m : members) out[m.record_id] = m.cause;
  return out;
}

TEST(TaintClosure, FollowsDerivationsAndReadsTransitively) {
  // 1 -> 2 (derived) -> 3 (read) -> 4 (derived); 5 is unrelated; 6 -> 1 points at a seed.
  auto next = Graph({{1, {{2, kCauseDerived}}},
                     {2, {{3, kCauseRead}}},
                     {3, {{4, kCauseDerived}}},
                     {6, {{1, kCauseDerived}}}});
  auto closure = TaintClosure({1}, next);
  ASSERT_TRUE(closure.ok());
  EXPECT_EQ(AsMap(*closure), (std::map<int64_t, std::string>{
                                 {2, kCauseDerived}, {3, kCauseRead}, {4, kCauseDerived}}));
}

TEST(TaintClosure, VisitsEachRecordOnceInCyclesAndDiamonds) {
  auto next = Graph({{1, {{2, kCauseDerived}, {3, kCauseDerived}}},
                     {2, {{4, kCauseDerived}}},
                     {3, {{4, kCauseRead}}},
                     {4, {{1, kCauseDerived}, {2, kCauseDerived}}}});
  auto closure = TaintClosure({1}, next);
  ASSERT_TRUE(closure.ok());
  ASSERT_EQ(closure->size(), 3u);
  EXPECT_EQ(AsMap(*closure).at(4), kCauseDerived);  // reached first through 2
}

TEST(TaintClosure, SeedsAreNotPartOfTheClosure) {
  auto next = Graph({{1, {{2, kCauseDerived}}}, {2, {{1, kCauseDerived}}}});
  auto closure = TaintClosure({1, 2}, next);
  ASSERT_TRUE(closure.ok());
  EXPECT_TRUE(closure->empty());
  auto none = TaintClosure({}, next);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(TaintClosure, StopsAtTheFirstError) {
  TaintNeighbours failing = [](int64_t) -> StatusOr<std::vector<TaintEdge>> {
    return Internal("store gone");
  };
  auto closure = TaintClosure({1}, failing);
  ASSERT_FALSE(closure.ok());
  EXPECT_EQ(closure.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace firebreak
