#include "memory/memory_service.h"

#include <gtest/gtest.h>

#include <set>

#include "incidents/incident_service.h"
#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

constexpr TimeMs kStart = 1'795'964'645'000;  // 2026-11-29
constexpr TimeMs kMinute = 60'000;

class MemoryServiceTest : public ::testing::Test {
 protected:
  MemoryServiceTest() : store_(OpenTestStore(dir_)), clock_(kStart), log_(clock_) {
    auto svc = MemoryService::Create(*store_, log_, clock_);
    EXPECT_TRUE(svc.ok());
    svc_ = std::move(*svc);
    EXPECT_TRUE(svc_->Warm().ok());
  }

  int64_t Write(const std::string& text, std::vector<float> embedding, std::string trace = "",
                std::vector<int64_t> derived = {}, std::string version = "v1") {
    MemoryWrite w;
    w.text = text;
    w.embedding = std::move(embedding);
    w.trace_id = std::move(trace);
    w.derived_from = std::move(derived);
    w.agent_version = std::move(version);
    auto r = svc_->Write("bot-token", "bot", {w});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? r->front().id : 0;
  }

  std::set<int64_t> SearchIds(std::vector<float> q, const std::string& trace = "", int k = 100) {
    MemorySearch s;
    s.embedding = std::move(q);
    s.k = k;
    s.trace_id = trace;
    auto hits = svc_->Search("bot", s);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    std::set<int64_t> ids;
    if (hits.ok()) {
      for (const auto& h : *hits) ids.insert(h.record.id);
    }
    return ids;
  }

  std::set<int64_t> TextIds(const std::string& text) {
    MemorySearch s;
    s.text = text;
    s.k = 100;
    auto hits = svc_->Search("bot", s);
    EXPECT_TRUE(hits.ok()) << hits.status().ToString();
    std::set<int64_t> ids;
    if (hits.ok()) {
      for (const auto& h : *hits) ids.insert(h.record.id);
    }
    return ids;
  }

  QuarantineRequest Window(TimeMs from, TimeMs to) {
    QuarantineRequest q;
    q.window.from = from;
    q.window.to = to;
    q.reason = "poisoned window";
    return q;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  FakeClock clock_;
  EventLog log_;
  std::unique_ptr<MemoryService> svc_;
};



TEST_F(MemoryServiceTest, QuarantineTakesTheWindowAndItsClosureExactly) {
  int64_t before = Write("before the window", {1, 0, 0, 0});
  clock_.Advance(10 * kMinute);
  TimeMs from = clock_.NowMs();
  int64_t inside1 = Write("poisoned instruction", {0, 1, 0, 0});
  clock_.Advance(kMinute);
  int64_t inside2 = Write("second poisoned", {0, 1, 1, 0});
  clock_.Advance(kMinute);
  TimeMs to = clock_.NowMs();
  clock_.Advance(10 * kMinute);
  int64_t after = Write("after, unrelated", {0, 0, 1, 0});
  int64_t derived1 = Write("summary built on poison", {0, 1, 0, 1}, "", {inside1});
  int64_t derived2 = Write("built on the summary", {0, 0, 0, 1}, "", {derived1, before});
  // Trace T writes once before reading the poison (stays clean), reads it, then writes.
  int64_t t_before = Write("trace T early note", {1, 1, 0, 0}, "T");
  auto read = SearchIds({0, 1, 0, 0}, "T", 1);
  ASSERT_EQ(read, std::set<int64_t>{inside1});
  clock_.Advance(kMinute);
  int64_t t_after = Write("trace T after reading", {1, 0, 1, 0}, "T");
  int64_t t_chain = Write("derived from T's write", {1, 0, 0, 1}, "", {t_after});

  auto q = svc_->Quarantine("alice", "bot", Window(from, to));
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->quarantine.direct, 2);
  EXPECT_EQ(q->quarantine.tainted, 4);
  std::map<int64_t, std::string> members;
  for (const auto& m : q->members) members[m.record_id] = m.cause;
  EXPECT_EQ(members, (std::map<int64_t, std::string>{{inside1, kCauseDirect},
                                                     {inside2, kCauseDirect},
                                                     {derived1, kCauseDerived},
                                                     {derived2, kCauseDerived},
                                                     {t_after, kCauseRead},
                                                     {t_chain, kCauseDerived}}));

  std::set<int64_t> clean = {before, after, t_before};
  EXPECT_EQ(SearchIds({1, 1, 1, 1}), clean);
  EXPECT_TRUE(TextIds("poisoned").empty());

  auto restored = svc_->Restore("alice", "bot", q->quarantine.id, "false alarm", std::nullopt);
  ASSERT_TRUE(restored.ok()) << restored.status().ToString();
  EXPECT_EQ(restored->restored.size(), 6u);
  EXPECT_EQ(SearchIds({1, 1, 1, 1}).size(), 9u);
  EXPECT_EQ(TextIds("poisoned"), (std::set<int64_t>{inside1, inside2}));

  auto again = svc_->Restore("alice", "bot", q->quarantine.id, "", std::nullopt);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kConflict);
}

TEST_F(MemoryServiceTest, WithoutTaintOnlyTheWindow) {
  int64_t a = Write("a", {1, 0});
  Write("b", {0, 1}, "", {a});
  QuarantineRequest q;
  q.window.record_ids = {a};
  q.taint = false;
  q.reason = "only a";
  auto r = svc_->Quarantine("alice", "bot", q);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->quarantine.direct, 1);
  EXPECT_EQ(r->quarantine.tainted, 0);
}

TEST_F(MemoryServiceTest, LaterWritesFromTaintedSourcesJoinTheQuarantine) {
  int64_t poison = Write("poison", {1, 0});
  SearchIds({1, 0}, "T2", 1);  // T2 reads the poison
  QuarantineRequest q;
  q.window.record_ids = {poison};
  q.reason = "poison";
  auto r = svc_->Quarantine("alice", "bot", q);
  ASSERT_TRUE(r.ok());
  int64_t derived = Write("derived later", {1, 1}, "", {poison});
  int64_t by_reader = Write("written later by the reader", {0, 1}, "T2");
  int64_t clean = Write("clean", {0, 1}, "T3");
  for (int64_t id : {derived, by_reader}) {
    auto view = svc_->Get("bot", id);
    ASSERT_TRUE(view.ok());
    EXPECT_EQ(view->record.state, kMemoryQuarantined) << id;
    EXPECT_EQ(view->quarantines, std::vector<int64_t>{r->quarantine.id});
  }
  EXPECT_EQ(SearchIds({1, 1}), std::set<int64_t>{clean});
  auto listed = svc_->GetQuarantine("bot", r->quarantine.id);
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->quarantine.tainted, 2);
}

TEST_F(MemoryServiceTest, OverlappingQuarantinesRestoreIndependently) {
  int64_t a = Write("a", {1, 0});
  int64_t b = Write("b", {0, 1});
  QuarantineRequest q1;
  q1.window.record_ids = {a, b};
  q1.reason = "one";
  QuarantineRequest q2;
  q2.window.record_ids = {b};
  q2.reason = "two";
  auto r1 = svc_->Quarantine("alice", "bot", q1);
  auto r2 = svc_->Quarantine("alice", "bot", q2);
  ASSERT_TRUE(r1.ok() && r2.ok());
  auto restored = svc_->Restore("alice", "bot", r1->quarantine.id, "", std::nullopt);
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(restored->restored, std::vector<int64_t>{a});
  EXPECT_EQ(SearchIds({1, 1}), std::set<int64_t>{a});
}

TEST_F(MemoryServiceTest, BadWritesChangeNothing) {
  int64_t first = Write("first", {1, 0, 0});
  MemoryWrite ok;
  ok.text = "fine";
  ok.embedding = {0, 1, 0};
  MemoryWrite wrong_dim = ok;
  wrong_dim.embedding = {1, 0};
  auto r = svc_->Write("t", "bot", {ok, wrong_dim});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("uses 3"), std::string::npos) << r.status().message();

  MemoryWrite unknown = ok;
  unknown.derived_from = {first, 9999};
  r = svc_->Write("t", "bot", {ok, unknown});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  // Another agent's record is as unknown as a missing one.
  MemoryWrite other;
  other.text = "other agent";
  auto foreign = svc_->Write("t", "other", {other});
  ASSERT_TRUE(foreign.ok());
  MemoryWrite cross = ok;
  cross.derived_from = {foreign->front().id};
  r = svc_->Write("t", "bot", {cross});
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  MemoryWrite zero = ok;
  zero.embedding = {0, 0, 0};
  EXPECT_EQ(svc_->Write("t", "bot", {zero}).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(SearchIds({1, 1, 1}), std::set<int64_t>{first});
  EXPECT_EQ(TextIds("fine").size(), 0u);
}

TEST_F(MemoryServiceTest, ProvenanceComesFromTheServer) {
  clock_.Set(kStart + 5 * kMinute);
  int64_t id = Write("note", {1, 0}, "trace-9", {}, "v7");
  auto view = svc_->Get("bot", id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->record.written_at, kStart + 5 * kMinute);
  EXPECT_EQ(view->record.written_by, "bot-token");
  EXPECT_EQ(view->record.trace_id, "trace-9");
  EXPECT_EQ(view->record.agent_version, "v7");
  EXPECT_EQ(svc_->Get("other", id).status().code(), StatusCode::kNotFound);
}

TEST_F(MemoryServiceTest, QuarantineIsAuditedOnTheIncidentTimeline) {
  IncidentService incidents(*store_, log_, clock_);
  DeclareRequest d;
  d.title = "poisoned memory";
  d.agent = "bot";
  auto inc = incidents.Declare("alice", d);
  ASSERT_TRUE(inc.ok());
  int64_t a = Write("a", {1, 0});
  QuarantineRequest q;
  q.window.record_ids = {a};
  q.reason = "poison";
  q.incident_id = 999;
  EXPECT_EQ(svc_->Quarantine("alice", "bot", q).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(SearchIds({1, 0}), std::set<int64_t>{a});  // nothing happened
  q.incident_id = inc->id;
  auto r = svc_->Quarantine("alice", "bot", q);
  ASSERT_TRUE(r.ok());
  auto timeline = incidents.Timeline(inc->id);
  ASSERT_TRUE(timeline.ok());
  EXPECT_EQ(timeline->back().kind, "memory.quarantined");
  EXPECT_EQ(timeline->back().actor, "alice");
  auto purged = svc_->Purge("alice", "bot", {r->quarantine.id, {}, "gone", std::nullopt});
  ASSERT_TRUE(purged.ok());
  timeline = incidents.Timeline(inc->id);
  EXPECT_EQ(timeline->back().kind, "memory.purged");
  auto chain = log_.Verify(*store_);
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->intact);
}

TEST_F(MemoryServiceTest, PurgeDeletesContentAndWipeNeedsConfirmation) {
  int64_t a = Write("secret zebra", {1, 0});
  int64_t b = Write("keep this", {0, 1});
  auto purged = svc_->Purge("alice", "bot", {std::nullopt, {a}, "pii", std::nullopt});
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged->ids, std::vector<int64_t>{a});
  EXPECT_TRUE(purged->compacted);
  auto view = svc_->Get("bot", a);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->record.state, kMemoryPurged);
  EXPECT_EQ(view->record.text, "");
  EXPECT_TRUE(view->record.embedding.empty());
  EXPECT_TRUE(TextIds("zebra").empty());
  EXPECT_EQ(SearchIds({1, 1}), std::set<int64_t>{b});
  // Deriving from a purged record is refused.
  MemoryWrite w;
  w.text = "x";
  w.derived_from = {a};
  EXPECT_EQ(svc_->Write("t", "bot", {w}).status().code(), StatusCode::kInvalidArgument);

  EXPECT_EQ(svc_->Wipe("root", "bot", "not-bot", "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SearchIds({1, 1}), std::set<int64_t>{b});
  auto wiped = svc_->Wipe("root", "bot", "bot", "last resort");
  ASSERT_TRUE(wiped.ok());
  EXPECT_EQ(wiped->purged, 1);
  EXPECT_TRUE(wiped->compacted);
  EXPECT_TRUE(SearchIds({1, 1}).empty());
  // The dimension is free again after a wipe.
  EXPECT_NE(Write("new start", {1, 2, 3}), 0);
}

TEST_F(MemoryServiceTest, IndexesAreRebuiltFromTheStore) {
  int64_t a = Write("a", {1, 0});
  int64_t b = Write("b", {0, 1});
  QuarantineRequest q;
  q.window.record_ids = {b};
  q.reason = "b";
  ASSERT_TRUE(svc_->Quarantine("alice", "bot", q).ok());
  auto fresh = MemoryService::Create(*store_, log_, clock_);
  ASSERT_TRUE(fresh.ok());
  svc_ = std::move(*fresh);
  ASSERT_TRUE(svc_->Warm().ok());
  EXPECT_EQ(SearchIds({1, 1}), std::set<int64_t>{a});
}

TEST_F(MemoryServiceTest, SearchFiltersByMetadataAndFusesTextAndVectors) {
  MemoryWrite en;
  en.text = "refund policy for orders";
  en.embedding = {1, 0};
  en.metadata = {{"lang", "en"}};
  MemoryWrite fr = en;
  fr.text = "politique de remboursement";
  fr.metadata = {{"lang", "fr"}};
  auto r = svc_->Write("t", "bot", {en, fr});
  ASSERT_TRUE(r.ok());
  MemorySearch s;
  s.embedding = {1, 0};
  s.filter = {{"lang", "fr"}};
  auto hits = svc_->Search("bot", s);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().record.text, "politique de remboursement");
  s.filter = nlohmann::json::object();
  s.text = "refund";
  hits = svc_->Search("bot", s);
  ASSERT_TRUE(hits.ok());
  ASSERT_EQ(hits->size(), 2u);
  EXPECT_EQ(hits->front().record.id, r->front().id);
  EXPECT_EQ(hits->front().match, "both");
  s.embedding = {1, 0, 0};
  EXPECT_EQ(svc_->Search("bot", s).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace firebreak
