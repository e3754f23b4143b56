#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

IncidentRecord NewIncident(const std::string& title, const std::string& state) {
  IncidentRecord r;
  r.title = title;
  r.agent = "bot";
  r.state = state;
  r.created_by = "test";
  return r;
}

TEST(SqliteStore, WriteCommitsOrRollsBackAsOne) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  Status failed = store->Write([](Txn& txn) -> Status {
    FB_RETURN_IF_ERROR(txn.incidents().Insert(NewIncident("lost", "detected")).status());
    return Conflict("changed my mind");
  });
  EXPECT_EQ(failed.code(), StatusCode::kConflict);
  ASSERT_TRUE(store->Write([](Txn& txn) {
    return txn.incidents().Insert(NewIncident("kept", "detected")).status();
  }).ok());
  std::vector<IncidentRecord> all;
  ASSERT_TRUE(store->Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(all, txn.incidents().List({}));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].title, "kept");
  EXPECT_EQ(store->Stats().failed_write_transactions, 1);
}

// A function that throws (a JSON dump of broken UTF-8, say) costs its own transaction only: the
// writer rolls back, a reader goes back to the pool, and later writes and reads work.
TEST(SqliteStore, AnExceptionInsideATransactionRollsBackAndPoisonsNothing) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  for (int round = 0; round < 3; ++round) {
    Status w = store->Write([](Txn& txn) -> Status {
      FB_RETURN_IF_ERROR(txn.incidents().Insert(NewIncident("half-done", "detected")).status());
      nlohmann::json j = std::string("caf\xC3");
      (void)j.dump();  // throws: invalid UTF-8
      return Status::Ok();
    });
    EXPECT_EQ(w.code(), StatusCode::kInternal);
    EXPECT_NE(w.message().find("exception"), std::string::npos) << w.message();
  }
  // More throwing reads than the pool has connections: none may leak.
  for (int i = 0; i < 10; ++i) {
    Status r = store->Read([](Txn&) -> Status { throw std::runtime_error("reader blew up"); });
    EXPECT_EQ(r.code(), StatusCode::kInternal);
  }
  ASSERT_TRUE(store->Write([](Txn& txn) {
    return txn.incidents().Insert(NewIncident("kept", "detected")).status();
  }).ok());
  std::vector<IncidentRecord> all;
  ASSERT_TRUE(store->Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(all, txn.incidents().List({}));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].title, "kept");
}

TEST(SqliteStore, ReadTransactionsCannotWrite) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  Status s = store->Read([](Txn& txn) {
    return txn.incidents().Insert(NewIncident("x", "detected")).status();
  });
  EXPECT_FALSE(s.ok());
}

TEST(SqliteStore, ListFiltersByStateAgentAndCursor) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  ASSERT_TRUE(store->Write([](Txn& txn) -> Status {
    for (int i = 0; i < 5; ++i) {
      FB_RETURN_IF_ERROR(txn.incidents().Insert(NewIncident("i" + std::to_string(i),
                                                            i % 2 ? "resolved" : "triaged")).status());
    }
    return Status::Ok();
  }).ok());
  std::vector<IncidentRecord> page;
  ASSERT_TRUE(store->Read([&](Txn& txn) -> Status {
    IncidentQuery q;
    q.states = {"triaged"};
    q.limit = 2;
    FB_ASSIGN_OR_RETURN(page, txn.incidents().List(q));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0].id, 5);
  EXPECT_EQ(page[1].id, 3);
  ASSERT_TRUE(store->Read([&](Txn& txn) -> Status {
    IncidentQuery q;
    q.states = {"triaged"};
    q.before_id = 3;
    FB_ASSIGN_OR_RETURN(page, txn.incidents().List(q));
    return Status::Ok();
  }).ok());
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, 1);
}

TEST(SqliteStore, MigrationsAreAppliedOnceAndSurviveReopen) {
  TempDir dir;
  int64_t version = 0;
  {
    auto store = OpenTestStore(dir);
    version = store->Stats().schema_version;
    EXPECT_GE(version, 1);
    ASSERT_TRUE(store->Write([](Txn& txn) {
      return txn.incidents().Insert(NewIncident("persisted", "detected")).status();
    }).ok());
    ASSERT_TRUE(store->Close().ok());
  }
  auto store = OpenTestStore(dir);
  EXPECT_EQ(store->Stats().schema_version, version);
  IncidentRecord r;
  ASSERT_TRUE(store->Read([&](Txn& txn) -> Status {
    FB_ASSIGN_OR_RETURN(r, txn.incidents().Get(1));
    return Status::Ok();
  }).ok());
  EXPECT_EQ(r.title, "persisted");
}

TEST(SqliteStore, RefusesAStoreNewerThanTheBinary) {
  TempDir dir;
  OpenTestStore(dir)->Close().ok();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir.path() + "/firebreak.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "INSERT INTO schema_migrations VALUES (999, 0)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  StoreOptions options;
  options.url = "sqlite:" + dir.path() + "/firebreak.db";
  auto store = OpenStore(options);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("newer than this binary"), std::string::npos);
}

TEST(SqliteStore, UnknownUrlsAreRefused) {
  StoreOptions options;
  options.url = "mysql://x";
  EXPECT_EQ(OpenStore(options).status().code(), StatusCode::kInvalidArgument);
  options.url = "sqlite:";
  EXPECT_EQ(OpenStore(options).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace firebreak
