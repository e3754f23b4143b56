// Idempotency-Key retries when the answer could not be stored: the handler's write and the
// key's "applied" mark commit together, so a retry after a lost answer never writes twice.
// (The ordinary replay is tested through the real binary in integration/durability_test.cc.)
#include <gtest/gtest.h>

#include "api/handler_util.h"
#include "audit/event_log.h"
#include "support/failing_store.h"
#include "support/test_util.h"

namespace firebreak::api {
namespace {

using testing::FailingStore;
using testing::OpenTestStore;
using testing::TempDir;

class IdempotentTest : public ::testing::Test {
 protected:
  IdempotentTest() : clock_(1'800'000'000'000), log_(clock_), store_(OpenTestStore(dir_)), flaky_(*store_) {
    request_.method = "POST";
    request_.target = "/api/v1/incidents/INC-1/timeline";
    request_.body = R"({"text":"restarted the worker"})";
    request_.headers = {{"idempotency-key", "note-1"}};
    principal_.token_id = 7;
  }

  // A handler that appends one note, or answers `fail_with` without writing.
  GuardedHandler NoteHandler(int fail_with = 0) {
    return [this, fail_with](const Request&, const Principal&) {
      ++calls_;
      if (fail_with) return http::Error(Internal("the handler failed before writing"));
      Status s = flaky_.Write([&](Txn& txn) {
        return log_.Append(txn, {std::nullopt, "alice", "note", {{"text", "restarted the worker"}}}).status();
      });
      return s.ok() ? http::Json(201, {{"noted", true}}) : http::Error(s);
    };
  }

  int64_t Notes() {
    int64_t n = 0;
    EXPECT_TRUE(store_->Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(auto events, txn.events().After(0, 100));
      n = static_cast<int64_t>(events.size());
      return Status::Ok();
    }).ok());
    return n;
  }

  TempDir dir_;
  FakeClock clock_;
  EventLog log_;
  std::unique_ptr<Store> store_;
  FailingStore flaky_;
  Request request_;
  Principal principal_;
  int calls_ = 0;
};

TEST_F(IdempotentTest, AWriteWhoseAnswerWasNotStoredIsNotWrittenAgainOnRetry) {
  auto handler = Idempotent(flaky_, clock_, NoteHandler());
  // The claim and the note commit; storing the answer fails (a crash at that moment is the same).
  flaky_.FailWrites(/*fail=*/1, /*pass=*/2);
  EXPECT_EQ(handler(request_, principal_).status, 201);
  EXPECT_EQ(flaky_.failed_writes(), 1);
  Response retry = handler(request_, principal_);
  EXPECT_EQ(retry.status, 409) << retry.body;
  EXPECT_NE(retry.body.find("applied"), std::string::npos) << retry.body;
  // Also after the claim time is long over.
  clock_.Advance(3'600'000);
  EXPECT_EQ(handler(request_, principal_).status, 409);
  EXPECT_EQ(calls_, 1);
  EXPECT_EQ(Notes(), 1);
}

TEST_F(IdempotentTest, AFailureBeforeAnyWriteLetsTheRetryRun) {
  auto failing = Idempotent(flaky_, clock_, NoteHandler(/*fail_with=*/500));
  EXPECT_EQ(failing(request_, principal_).status, 500);
  EXPECT_EQ(Notes(), 0);
  auto working = Idempotent(flaky_, clock_, NoteHandler());
  EXPECT_EQ(working(request_, principal_).status, 201);
  Response replay = working(request_, principal_);
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(calls_, 2);
  EXPECT_EQ(Notes(), 1);
}

TEST_F(IdempotentTest, AWriteThatRolledBackDoesNotMarkTheKey) {
  auto handler = Idempotent(flaky_, clock_, NoteHandler());
  // The claim commits; the note's transaction fails, so nothing was applied: the retry runs.
  flaky_.FailWrites(/*fail=*/1, /*pass=*/1);
  EXPECT_EQ(handler(request_, principal_).status, 503);
  EXPECT_EQ(Notes(), 0);
  EXPECT_EQ(handler(request_, principal_).status, 201);
  EXPECT_EQ(calls_, 2);
  EXPECT_EQ(Notes(), 1);
}

}  // namespace
}  // namespace firebreak::api
