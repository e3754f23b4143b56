#include "incidents/state.h"

#include <gtest/gtest.h>

namespace firebreak {
namespace {

using S = IncidentState;

TEST(IncidentState, FollowsTheRunbookOrder) {
  EXPECT_TRUE(CheckTransition(S::kDetected, S::kTriaged).ok());
  EXPECT_TRUE(CheckTransition(S::kTriaged, S::kIsolated).ok());
  EXPECT_TRUE(CheckTransition(S::kIsolated, S::kInvestigating).ok());
  EXPECT_TRUE(CheckTransition(S::kInvestigating, S::kMitigated).ok());
  EXPECT_TRUE(CheckTransition(S::kMitigated, S::kResolved).ok());
  EXPECT_TRUE(CheckTransition(S::kResolved, S::kClosed).ok());
  EXPECT_TRUE(CheckTransition(S::kResolved, S::kInvestigating).ok());  // reopen
}

TEST(IncidentState, RefusesIllegalMovesWithAReason) {
  Status s = CheckTransition(S::kDetected, S::kResolved);
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_NE(s.message().find("classify the incident first"), std::string::npos);

  s = CheckTransition(S::kClosed, S::kInvestigating);
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_NE(s.message().find("final"), std::string::npos);

  s = CheckTransition(S::kTriaged, S::kClosed);
  EXPECT_EQ(s.code(), StatusCode::kConflict);
  EXPECT_NE(s.message().find("allowed: isolated, investigating, mitigated, resolved"), std::string::npos)
      << s.message();

  EXPECT_EQ(CheckTransition(S::kResolved, S::kResolved).code(), StatusCode::kConflict);
  EXPECT_EQ(CheckTransition(S::kMitigated, S::kTriaged).code(), StatusCode::kConflict);
}

TEST(IncidentState, EveryStateHasAStableName) {
  for (S s : {S::kDetected, S::kTriaged, S::kIsolated, S::kInvestigating, S::kMitigated,
              S::kResolved, S::kClosed}) {
    EXPECT_EQ(ParseState(StateName(s)), s);
  }
  EXPECT_FALSE(ParseState("open").has_value());
  EXPECT_TRUE(IsOpen(S::kMitigated));
  EXPECT_FALSE(IsOpen(S::kResolved));
  EXPECT_FALSE(IsOpen(S::kClosed));
}

}  // namespace
}  // namespace firebreak
