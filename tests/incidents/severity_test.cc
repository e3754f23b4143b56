#include "incidents/severity.h"

#include <gtest/gtest.h>

namespace firebreak {
namespace {

TEST(Severity, TableMatchesTheRunbook) {
  const auto& t = SeverityTable();
  EXPECT_EQ(SeverityInfoFor(Severity::kSev1).paging, PagingClass::kImmediate);
  EXPECT_TRUE(SeverityInfoFor(Severity::kSev1).escalates);
  EXPECT_EQ(SeverityInfoFor(Severity::kSev2).paging, PagingClass::kImmediate);
  EXPECT_TRUE(SeverityInfoFor(Severity::kSev2).escalates);
  EXPECT_EQ(SeverityInfoFor(Severity::kSev3).paging, PagingClass::kBusinessHours);
  EXPECT_FALSE(SeverityInfoFor(Severity::kSev3).escalates);
  EXPECT_EQ(SeverityInfoFor(Severity::kSev4).paging, PagingClass::kBacklog);
  EXPECT_EQ(SeverityInfoFor(Severity::kSev4).backlog_due_days, 7);
  for (size_t i = 0; i < t.size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(t[i].severity), i + 1);
    EXPECT_FALSE(t[i].meaning.empty());
  }
  EXPECT_NE(SeverityInfoFor(Severity::kSev1).meaning.find("personal data"), std::string_view::npos);
}

TEST(Severity, ParsesTheWaysPeopleWriteIt) {
  EXPECT_EQ(ParseSeverity("SEV-1"), Severity::kSev1);
  EXPECT_EQ(ParseSeverity("sev2"), Severity::kSev2);
  EXPECT_EQ(ParseSeverity("SEV_3"), Severity::kSev3);
  EXPECT_EQ(ParseSeverity("4"), Severity::kSev4);
  EXPECT_FALSE(ParseSeverity("SEV-0").has_value());
  EXPECT_FALSE(ParseSeverity("SEV-5").has_value());
  EXPECT_FALSE(ParseSeverity("critical").has_value());
  EXPECT_FALSE(ParseSeverity("").has_value());
  EXPECT_EQ(SeverityName(Severity::kUnclassified), "unclassified");
}

}  // namespace
}  // namespace firebreak
