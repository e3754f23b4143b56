#include "incidents/incident_service.h"

#include <gtest/gtest.h>

#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

class IncidentServiceTest : public ::testing::Test {
 protected:
  IncidentServiceTest()
      : store_(OpenTestStore(dir_)), clock_(1'795'964'645'000), log_(clock_),
        service_(*store_, log_, clock_) {}

  int64_t Declare() {
    auto r = service_.Declare("alice", {"PII in reply", "support-bot", std::nullopt, "", ""});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->id;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  IncidentService service_;
};

TEST_F(IncidentServiceTest, TimeToClassifyIsMeasuredFromDetection) {
  int64_t id = Declare();
  clock_.Advance(95'000);
  auto r = service_.Classify("bob", id, Severity::kSev1, "card number in final response");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, "triaged");
  EXPECT_EQ(*r->classified_at - r->detected_at, 95'000);
  EXPECT_EQ(r->classified_by, "bob");

  // Reclassifying keeps the first classification time and records the change.
  clock_.Advance(60'000);
  r = service_.Classify("carol", id, Severity::kSev2, "no card after all");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->severity, 2);
  EXPECT_EQ(*r->classified_at - r->detected_at, 95'000);
  auto timeline = service_.Timeline(id);
  ASSERT_TRUE(timeline.ok());
  ASSERT_EQ(timeline->size(), 3u);
  EXPECT_EQ((*timeline)[2].kind, "incident.classified");
  EXPECT_NE((*timeline)[2].details_json.find("\"previous\":\"SEV-1\""), std::string::npos);
  EXPECT_EQ((*timeline)[1].at, clock_.NowMs() - 60'000);
}

TEST_F(IncidentServiceTest, DeclareWithSeverityClassifiesAtOnce) {
  auto r = service_.Declare("alice", {"t", "bot", Severity::kSev3, "one category", ""});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->state, "triaged");
  EXPECT_EQ(*r->classified_at, r->detected_at);
  auto missing_reason = service_.Declare("alice", {"t", "bot", Severity::kSev3, "", ""});
  EXPECT_EQ(missing_reason.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(IncidentServiceTest, FirstAcknowledgerBecomesCommanderOnce) {
  int64_t id = Declare();
  auto r = service_.Acknowledge("dave", id);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->commander, "dave");
  auto again = service_.Acknowledge("erin", id);
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_NE(again.status().message().find("already acknowledged by dave"), std::string::npos);
}

TEST_F(IncidentServiceTest, IllegalTransitionChangesNothing) {
  int64_t id = Declare();
  auto before = service_.Timeline(id);
  auto r = service_.Transition("alice", id, IncidentState::kResolved, "");
  EXPECT_EQ(r.status().code(), StatusCode::kConflict);
  EXPECT_EQ(service_.Get(id)->state, "detected");
  EXPECT_EQ(service_.Timeline(id)->size(), before->size());
}

TEST_F(IncidentServiceTest, ResolveAndReopen) {
  int64_t id = Declare();
  ASSERT_TRUE(service_.Classify("a", id, Severity::kSev2, "all users").ok());
  auto resolved = service_.Transition("a", id, IncidentState::kResolved, "rolled back");
  ASSERT_TRUE(resolved.ok());
  EXPECT_TRUE(resolved->resolved_at.has_value());
  auto reopened = service_.Transition("a", id, IncidentState::kInvestigating, "came back");
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(reopened->resolved_at.has_value());
}

TEST_F(IncidentServiceTest, UnknownIncidentIsNotFound) {
  EXPECT_EQ(service_.Get(42).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.AddNote("a", 42, "hi").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.Timeline(42).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_.Classify("a", 42, Severity::kSev1, "r").status().code(), StatusCode::kNotFound);
}

TEST_F(IncidentServiceTest, ValidatesInput) {
  EXPECT_EQ(service_.Declare("a", {"", "bot", std::nullopt, "", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.Declare("a", {"t", "bad agent!", std::nullopt, "", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_.Declare("a", {std::string(201, 'x'), "bot", std::nullopt, "", ""}).status().code(),
            StatusCode::kInvalidArgument);
  int64_t id = Declare();
  EXPECT_EQ(service_.AddNote("a", id, "").status().code(), StatusCode::kInvalidArgument);
}

TEST(IncidentNames, RoundTrip) {
  EXPECT_EQ(IncidentName(42), "INC-42");
  EXPECT_EQ(ParseIncidentId("INC-42"), 42);
  EXPECT_EQ(ParseIncidentId("inc-7"), 7);
  EXPECT_EQ(ParseIncidentId("42"), 42);
  EXPECT_FALSE(ParseIncidentId("INC-").has_value());
  EXPECT_FALSE(ParseIncidentId("INC-0").has_value());
  EXPECT_FALSE(ParseIncidentId("INC-4x").has_value());
  EXPECT_FALSE(ParseIncidentId("99999999999999999999").has_value());
}

// A requirement that is met once `met` is set, as the regression and post-mortem gates are.
class FlagRequirement final : public CloseRequirement {
 public:
  explicit FlagRequirement(std::string lacking) : lacking_(std::move(lacking)) {}
  Status Check(Txn&, const IncidentRecord&, std::vector<std::string>& missing) const override {
    if (!met) missing.push_back(lacking_);
    return Status::Ok();
  }
  bool met = false;

 private:
  std::string lacking_;
};

TEST_F(IncidentServiceTest, CloseNamesEveryMissingRequirementAndChangesNothingUntilAllAreMet) {
  FlagRequirement regression("no regression case passes on the stable version");
  FlagRequirement postmortem("the post-mortem is not published");
  service_.AddCloseRequirement(&regression);
  service_.AddCloseRequirement(&postmortem);
  int64_t id = Declare();
  ASSERT_TRUE(service_.Classify("bob", id, Severity::kSev2, "email in a reply").ok());

  auto early = service_.Close("bob", id, "");
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().code(), StatusCode::kConflict);
  EXPECT_NE(early.status().message().find("allowed"), std::string::npos)
      << "an open incident is resolved first: " << early.status().message();

  ASSERT_TRUE(service_.Transition("bob", id, IncidentState::kResolved, "fixed").ok());
  auto direct = service_.Transition("bob", id, IncidentState::kClosed, "");
  ASSERT_FALSE(direct.ok()) << "setting the state must not skip the gates";

  regression.met = true;
  auto refused = service_.Close("bob", id, "done");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(), IncidentName(id) +
                                             " cannot close yet: the post-mortem is not published");
  auto unchanged = service_.Get(id);
  ASSERT_TRUE(unchanged.ok());
  EXPECT_EQ(unchanged->state, "resolved");
  EXPECT_FALSE(unchanged->closed_at.has_value());

  postmortem.met = true;
  clock_.Advance(3'600'000);
  auto closed = service_.Close("bob", id, "regression case and post-mortem in place");
  ASSERT_TRUE(closed.ok()) << closed.status().ToString();
  EXPECT_EQ(closed->state, "closed");
  EXPECT_EQ(*closed->closed_at, clock_.NowMs());
  auto again = service_.Close("bob", id, "");
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("final"), std::string::npos);
  auto timeline = service_.Timeline(id);
  ASSERT_TRUE(timeline.ok());
  EXPECT_EQ(timeline->back().kind, "incident.state_changed");
  EXPECT_NE(timeline->back().details_json.find("\"to\":\"closed\""), std::string::npos);
}

}  // namespace
}  // namespace firebreak
