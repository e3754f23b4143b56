#include "auth/auth.h"

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

class AuthTest : public ::testing::Test {
 protected:
  AuthTest() : store_(OpenTestStore(dir_)), clock_(1000), log_(clock_), tokens_(*store_, log_, clock_) {}
  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  TokenService tokens_;
};

TEST_F(AuthTest, CreatedTokenAuthenticatesAndOnlyItsHashIsStored) {
  auto created = tokens_.Create("admin", "alice", Role::kResponder, "");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->secret.rfind("fbk_", 0), 0u);
  EXPECT_EQ(created->secret.size(), 4u + 64u);
  EXPECT_EQ(created->record.secret_hash, Sha256Hex(created->secret));
  auto listed = tokens_.List();
  ASSERT_TRUE(listed.ok());
  for (const auto& t : *listed) EXPECT_EQ(t.secret_hash.find(created->secret), std::string::npos);

  auto p = tokens_.Authenticate("Bearer " + created->secret);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->name, "alice");
  EXPECT_EQ(p->role, Role::kResponder);
}

TEST_F(AuthTest, MissingMalformedUnknownAndRevokedTokensAreUnauthenticated) {
  auto created = tokens_.Create("admin", "bob", Role::kViewer, "");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(tokens_.Authenticate("").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(tokens_.Authenticate(created->secret).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(tokens_.Authenticate("Basic abc").status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(tokens_.Authenticate("Bearer fbk_0000").status().code(), StatusCode::kUnauthenticated);
  ASSERT_TRUE(tokens_.Revoke("admin", "bob").ok());
  auto revoked = tokens_.Authenticate("Bearer " + created->secret);
  EXPECT_EQ(revoked.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(revoked.status().message().find("revoked"), std::string::npos);
  // The name is free again once revoked.
  EXPECT_TRUE(tokens_.Create("admin", "bob", Role::kViewer, "").ok());
  EXPECT_EQ(tokens_.Create("admin", "bob", Role::kViewer, "").status().code(), StatusCode::kAlreadyExists);
}

TEST_F(AuthTest, RolesAreOrderedAndAgentTokensAreScoped) {
  Principal viewer{1, "v", Role::kViewer, ""};
  Principal responder{2, "r", Role::kResponder, ""};
  Principal admin{3, "a", Role::kAdmin, ""};
  Principal agent{4, "bot-token", Role::kAgent, "support-bot"};
  EXPECT_TRUE(Authorize(viewer, Role::kViewer).ok());
  EXPECT_EQ(Authorize(viewer, Role::kResponder).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(responder, Role::kResponder).ok());
  EXPECT_EQ(Authorize(responder, Role::kAdmin).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(admin, Role::kResponder).ok());
  EXPECT_EQ(Authorize(agent, Role::kViewer).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(AuthorizeForAgent(agent, "support-bot").ok());
  EXPECT_EQ(AuthorizeForAgent(agent, "billing-bot").code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(AuthorizeForAgent(responder, "billing-bot").ok());
  EXPECT_EQ(AuthorizeForAgent(viewer, "billing-bot").code(), StatusCode::kPermissionDenied);
}

TEST_F(AuthTest, AgentTokensNeedTheirAgentAndOthersMustNotHaveOne) {
  EXPECT_EQ(tokens_.Create("admin", "x", Role::kAgent, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens_.Create("admin", "y", Role::kViewer, "bot").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(tokens_.Create("admin", "bad name!", Role::kViewer, "").status().code(), StatusCode::kInvalidArgument);
  auto agent = tokens_.Create("admin", "bot-runtime", Role::kAgent, "support-bot");
  ASSERT_TRUE(agent.ok());
  auto p = tokens_.Authenticate("Bearer " + agent->secret);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->agent, "support-bot");
}

TEST_F(AuthTest, BootstrapCreatesOneAdminOnlyOnAnEmptyStore) {
  auto first = tokens_.BootstrapAdmin();
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->record.role, "admin");
  auto second = tokens_.BootstrapAdmin();
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->has_value());
}

TEST_F(AuthTest, TokenChangesAreAudited) {
  ASSERT_TRUE(tokens_.Create("root", "alice", Role::kResponder, "").ok());
  ASSERT_TRUE(tokens_.Revoke("root", "alice").ok());
  std::vector<EventRecord> events;
  ASSERT_TRUE(store_->Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(events, txn.events().After(0, 10));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "token.created");
  EXPECT_EQ(events[0].actor, "root");
  EXPECT_EQ(events[1].kind, "token.revoked");
}

}  // namespace
}  // namespace firebreak
