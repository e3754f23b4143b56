#include "audit/event_log.h"

#include <sys/stat.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <functional>

#include "audit/anchor.h"
#include "support/forwarding_store.h"
#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

void AppendNotes(Store& store, const EventLog& log, int n) {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(store.Write([&](Txn& txn) {
      return log.Append(txn, {std::nullopt, "tester", "note", {{"text", "n" + std::to_string(i)}}}).status();
    }).ok());
  }
}

void ExecRaw(const TempDir& dir, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/firebreak.db").c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

TEST(EventLog, ChainLinksEveryEventToThePreviousOne) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  FakeClock clock(1000);
  EventLog log(clock);
  AppendNotes(*store, log, 3);
  std::vector<EventRecord> events;
  ASSERT_TRUE(store->Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(events, txn.events().After(0, 10));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].prev_hash, kGenesisHash);
  EXPECT_EQ(events[1].prev_hash, events[0].hash);
  EXPECT_EQ(events[2].prev_hash, events[1].hash);
  EXPECT_EQ(events[2].seq, 3);
  EXPECT_EQ(EventHash(events[1]), events[1].hash);
  auto report = log.Verify(*store);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->intact);
  EXPECT_EQ(report->events_checked, 3);
}

TEST(EventLog, HashIsStableForTheSameContent) {
  EventRecord e;
  e.seq = 7;
  e.incident_id = 3;
  e.at = 1795964645123;
  e.actor = "alice";
  e.kind = "note";
  e.details_json = R"({"text":"hello"})";
  e.prev_hash = kGenesisHash;
  // Pinned: the chain must verify on another machine and in a year (docs/audit.md).
  EXPECT_EQ(EventHash(e), EventHash(e));
  EventRecord changed = e;
  changed.details_json = R"({"text":"hellp"})";
  EXPECT_NE(EventHash(changed), EventHash(e));
  changed = e;
  changed.incident_id.reset();
  EXPECT_NE(EventHash(changed), EventHash(e));
}

TEST(EventLog, ApplicationCannotUpdateOrDeleteEvents) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  FakeClock clock(1000);
  EventLog log(clock);
  AppendNotes(*store, log, 1);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/firebreak.db").c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE events SET actor='mallory'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM events", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST(EventLog, TamperedEventIsNamed) {
  TempDir dir;
  FakeClock clock(1000);
  EventLog log(clock);
  {
    auto store = OpenTestStore(dir);
    AppendNotes(*store, log, 5);
  }
  ExecRaw(dir, "DROP TRIGGER events_no_update; UPDATE events SET actor='mallory' WHERE seq=4");
  auto store = OpenTestStore(dir);
  auto report = log.Verify(*store);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->intact);
  ASSERT_TRUE(report->first_broken.has_value());
  EXPECT_EQ(report->first_broken->seq, 4);
  EXPECT_EQ(report->events_checked, 3);
  EXPECT_NE(report->problem.find("changed after it was written"), std::string::npos);
}

TEST(EventLog, RecomputedHashStillBreaksTheNextLink) {
  TempDir dir;
  FakeClock clock(1000);
  EventLog log(clock);
  {
    auto store = OpenTestStore(dir);
    AppendNotes(*store, log, 3);
  }
  // Forge event 2 with a self-consistent hash: event 3 no longer links to it.
  ExecRaw(dir, "DROP TRIGGER events_no_update; UPDATE events SET hash='ab' WHERE seq=2");
  auto store = OpenTestStore(dir);
  auto report = log.Verify(*store);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->intact);
  EXPECT_EQ(report->first_broken->seq, 2);
}

TEST(EventLog, DeletedEventIsReportedMissing) {
  TempDir dir;
  FakeClock clock(1000);
  EventLog log(clock);
  {
    auto store = OpenTestStore(dir);
    AppendNotes(*store, log, 4);
  }
  ExecRaw(dir, "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq=2");
  auto store = OpenTestStore(dir);
  auto report = log.Verify(*store);
  ASSERT_TRUE(report.ok());
  EXPECT_FALSE(report->intact);
  EXPECT_NE(report->problem.find("event 2 is missing"), std::string::npos) << report->problem;
}

TEST(EventLog, TimeNeverRunsBackwardsOnTheTimeline) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  FakeClock clock(5000);
  EventLog log(clock);
  AppendNotes(*store, log, 1);
  clock.Set(1000);  // the wall clock stepped back
  AppendNotes(*store, log, 1);
  std::vector<EventRecord> events;
  ASSERT_TRUE(store->Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(events, txn.events().After(0, 10));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(events[1].at, 5000);
}

// Anchors: a signed checkpoint of the head catches what the chain alone cannot, a removed tail
// and a chain recomputed from the first event on.
class AnchoredLogTest : public ::testing::Test {
 protected:
  AnchoredLogTest() : clock_(1000), log_(clock_) {
    log_.SetAnchoring({std::string(64, 'k'), dir_.path() + "/audit-anchor.json"});
    store_ = OpenTestStore(dir_);
  }

  ChainReport Verify(const EventLog& log) {
    auto report = log.Verify(*store_);
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? *report : ChainReport{};
  }

  AnchorRecord AnchorHead() {
    auto a = log_.Anchor(*store_);
    EXPECT_TRUE(a.ok() && a->has_value()) << a.status().ToString();
    return a.ok() && *a ? **a : AnchorRecord{};
  }

  // Rewrites the whole chain as an attacker with the database (but not the key) would: event 2
  // gets new content and every hash from it on is recomputed, so the chain links again.
  void RecomputeChainWithEvent2Changed() {
    std::vector<EventRecord> events;
    ASSERT_TRUE(store_->Read([&](Txn& txn) -> Status {
      FB_ASSIGN_OR_RETURN(events, txn.events().After(0, 1000));
      return Status::Ok();
    }).ok());
    events[1].details_json = R"({"text":"nothing happened"})";
    std::string prev = kGenesisHash;
    for (auto& e : events) {
      e.prev_hash = prev;
      e.hash = EventHash(e);
      prev = e.hash;
    }
    ExecRaw(dir_, "DROP TRIGGER events_no_delete; DELETE FROM events");
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_.path() + "/firebreak.db").c_str(), &db), SQLITE_OK);
    for (const auto& e : events) {
      sqlite3_stmt* st = nullptr;
      ASSERT_EQ(sqlite3_prepare_v2(db,
                                   "INSERT INTO events (seq, incident_id, at, actor, kind, details, "
                                   "prev_hash, hash) VALUES (?,NULL,?,?,?,?,?,?)",
                                   -1, &st, nullptr),
                SQLITE_OK);
      sqlite3_bind_int64(st, 1, e.seq);
      sqlite3_bind_int64(st, 2, e.at);
      sqlite3_bind_text(st, 3, e.actor.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 4, e.kind.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 5, e.details_json.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 6, e.prev_hash.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(st, 7, e.hash.c_str(), -1, SQLITE_TRANSIENT);
      EXPECT_EQ(sqlite3_step(st), SQLITE_DONE);
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
  }

  TempDir dir_;
  FakeClock clock_;
  EventLog log_;
  std::unique_ptr<Store> store_;
};

TEST_F(AnchoredLogTest, AnIntactChainVerifiesAndNamesItsLastAnchor) {
  AppendNotes(*store_, log_, 5);
  clock_.Set(2000);
  AnchorRecord a = AnchorHead();
  EXPECT_EQ(a.seq, 5);
  EXPECT_FALSE(log_.Anchor(*store_)->has_value()) << "the head is anchored already";
  AppendNotes(*store_, log_, 2);  // events after the anchor are fine
  ChainReport report = Verify(log_);
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_TRUE(report.anchors_checked);
  EXPECT_EQ(report.events_checked, 7);
  ASSERT_TRUE(report.last_anchor.has_value());
  EXPECT_EQ(report.last_anchor->seq, 5);
  EXPECT_EQ(report.last_anchor->at, 2000);
  EXPECT_EQ(report.last_anchor->hash, a.hash);
}

// A Store that runs `after_read` once, right after its `nth` read: the seam for "the server
// wrote (and anchored) while verify was walking the chain".
class ReadHookStore final : public testing::ForwardingStore {
 public:
  ReadHookStore(Store& inner, int nth, std::function<void()> after_read)
      : ForwardingStore(inner), nth_(nth), after_read_(std::move(after_read)) {}
  Status Read(const TxnFn& fn) override {
    Status s = inner_.Read(fn);
    if (++reads_ == nth_) after_read_();
    return s;
  }

 private:
  int nth_;
  std::function<void()> after_read_;
  int reads_ = 0;
};

// Found by the crash harness: at a restart the server appended and anchored an event while
// verify walked the chain, and verify reported the new anchor as a removed tail.
TEST_F(AnchoredLogTest, AChainThatGrowsAndIsAnchoredDuringVerifyStillVerifies) {
  AppendNotes(*store_, log_, 5);
  AnchorHead();
  // Read 1 takes the anchors, read 2 the chain's only batch; then the server writes and anchors.
  ReadHookStore racing(*store_, 2, [&] {
    AppendNotes(*store_, log_, 1);
    clock_.Set(3000);
    EXPECT_EQ(AnchorHead().seq, 6);
  });
  auto report = log_.Verify(racing);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE(report->intact) << report->problem;
  EXPECT_EQ(report->events_checked, 5);
  // The next verify sees the grown chain and its new anchor.
  ChainReport again = Verify(log_);
  EXPECT_TRUE(again.intact) << again.problem;
  ASSERT_TRUE(again.last_anchor.has_value());
  EXPECT_EQ(again.last_anchor->seq, 6);
}

TEST_F(AnchoredLogTest, ARemovedTailIsDetected) {
  AppendNotes(*store_, log_, 6);
  AnchorHead();
  ExecRaw(dir_, "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > 3");
  // The chain that is left is consistent: only the anchor tells.
  EventLog unanchored(clock_);
  EXPECT_TRUE(Verify(unanchored).intact);
  ChainReport report = Verify(log_);
  EXPECT_FALSE(report.intact);
  EXPECT_NE(report.problem.find("event 6 was anchored"), std::string::npos) << report.problem;
  EXPECT_NE(report.problem.find("removed from its tail"), std::string::npos) << report.problem;
  // The next periodic anchor does not sign the shortened chain over the evidence.
  auto again = log_.Anchor(*store_);
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
  EXPECT_FALSE(Verify(log_).intact);
}

TEST_F(AnchoredLogTest, AChainRecomputedWithChangedContentIsDetected) {
  AppendNotes(*store_, log_, 5);
  AnchorHead();
  RecomputeChainWithEvent2Changed();
  EventLog unanchored(clock_);
  EXPECT_TRUE(Verify(unanchored).intact) << "the recomputed chain links: only the anchor tells";
  ChainReport report = Verify(log_);
  EXPECT_FALSE(report.intact);
  EXPECT_NE(report.problem.find("event 5 no longer has the hash anchored"), std::string::npos)
      << report.problem;
}

TEST_F(AnchoredLogTest, DeletingTheAnchorsInTheDatabaseDoesNotHideATruncation) {
  AppendNotes(*store_, log_, 6);
  AnchorHead();
  ExecRaw(dir_,
          "DROP TRIGGER audit_anchors_no_delete; DELETE FROM audit_anchors; "
          "DROP TRIGGER events_no_delete; DELETE FROM events WHERE seq > 2");
  ChainReport report = Verify(log_);
  EXPECT_FALSE(report.intact) << "the anchor file beside the store still holds event 6";
  EXPECT_NE(report.problem.find("removed from its tail"), std::string::npos) << report.problem;
}

TEST_F(AnchoredLogTest, AnAnchorNotSignedWithTheKeyIsRefused) {
  AppendNotes(*store_, log_, 3);
  AnchorHead();
  AppendNotes(*store_, log_, 1);
  // Someone with the database (not the key) writes an anchor of their own.
  ExecRaw(dir_, "INSERT INTO audit_anchors (seq, hash, at, mac) VALUES (4, 'ab', 5, 'cd')");
  ChainReport report = Verify(log_);
  EXPECT_FALSE(report.intact);
  EXPECT_NE(report.problem.find("not signed with this server's anchor key"), std::string::npos)
      << report.problem;
  EventLog other_key(clock_);
  other_key.SetAnchoring({std::string(64, 'x'), ""});
  EXPECT_FALSE(Verify(other_key).intact);
}

TEST(AnchorKey, IsCreatedOnceWithMode0600AndRefusedWhenOthersMayReadIt) {
  TempDir dir;
  std::string path = dir.path() + "/audit.key";
  auto first = LoadOrCreateAnchorKey(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->size(), 64u);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto again = LoadOrCreateAnchorKey(path);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *first);
  ::chmod(path.c_str(), 0644);
  auto exposed = LoadOrCreateAnchorKey(path);
  EXPECT_EQ(exposed.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace firebreak
