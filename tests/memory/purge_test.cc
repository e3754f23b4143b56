// Purge leaves no byte behind, and nothing half-done is answered as failed: thousands of records,
// each with unique markers in its text, metadata and embedding; a purged subset; a scan of every
// file in the store's directory. Also a crash between the purge's commit and its compaction
// (a child process that dies there), a failing compaction, and failing index inserts.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "common/crypto.h"
#include "memory/memory_service.h"
#include "support/forwarding_store.h"
#include "support/test_util.h"

namespace firebreak {
namespace {

using testing::OpenTestStore;
using testing::TempDir;

constexpr TimeMs kStart = 1'795'964'645'000;
constexpr int kRecords = 3000;
constexpr int kDim = 8;

// A real store whose Compact() fails while `fail_compact` is set.
class FaultyStore final : public testing::ForwardingStore {
 public:
  explicit FaultyStore(Store& inner) : ForwardingStore(inner) {}
  Status Compact() override {
    if (fail_compact) return Unavailable("injected: compaction failed");
    return inner_.Compact();
  }
  bool fail_compact = false;
};

// Record i's markers. Hex from a hash, so neighbouring full-text terms share no long prefix and
// the tail of a term is stored verbatim in the FTS5 index too.
std::string TextMarker(int i) { return "tx" + Sha256Hex("text" + std::to_string(i)).substr(0, 18); }
std::string MetaMarker(int i) { return "md" + Sha256Hex("meta" + std::to_string(i)).substr(0, 18); }
std::vector<float> Embedding(int i) {
  std::vector<float> v(kDim);
  for (int j = 0; j < kDim; ++j) v[j] = static_cast<float>(i * kDim + j) + 0.3125f;
  return v;
}

// The byte sequences that betray record i: its text term's tail (also what an FTS5 segment
// keeps), its metadata marker and its embedding as stored.
std::vector<std::string> Needles(int i) {
  return {TextMarker(i).substr(6), MetaMarker(i), EncodeEmbedding(Embedding(i))};
}

std::string DirBytes(const std::string& dir) {
  std::string all;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    all.append(std::istreambuf_iterator<char>(in), {});
    all += '\n';
  }
  return all;
}

// Returns how many of records `ids`' needles are found in any file of `dir`.
int CountFound(const std::string& dir, const std::vector<int>& ids) {
  std::string bytes = DirBytes(dir);
  int found = 0;
  for (int i : ids) {
    for (const std::string& needle : Needles(i)) {
      if (bytes.find(needle) != std::string::npos) ++found;
    }
  }
  return found;
}

std::vector<int64_t> WriteAll(MemoryService& svc) {
  std::vector<int64_t> ids;
  for (int start = 0; start < kRecords; start += 500) {
    std::vector<MemoryWrite> batch;
    for (int i = start; i < start + 500; ++i) {
      MemoryWrite w;
      w.text = "memory note " + TextMarker(i) + " about order " + std::to_string(i);
      w.embedding = Embedding(i);
      w.metadata = {{"tag", MetaMarker(i)}, {"n", i}};
      batch.push_back(std::move(w));
    }
    auto written = svc.Write("bot-token", "bot", batch);
    EXPECT_TRUE(written.ok()) << written.status().ToString();
    if (!written.ok()) return ids;
    for (const auto& r : *written) ids.push_back(r.id);
  }
  return ids;
}

struct Split {
  std::vector<int> purged, kept;
  std::vector<int64_t> purged_ids;
};

// Every 7th record, and a run of neighbours (one page's worth), are purged.
Split Choose(const std::vector<int64_t>& ids) {
  Split s;
  for (int i = 0; i < kRecords; ++i) {
    bool purge = i % 7 == 3 || (i >= 1200 && i < 1260);
    (purge ? s.purged : s.kept).push_back(i);
    if (purge) s.purged_ids.push_back(ids[static_cast<size_t>(i)]);
  }
  return s;
}

std::unique_ptr<MemoryService> Service(Store& store, const EventLog& log, const Clock& clock,
                                       MemoryOptions options = {}) {
  auto svc = MemoryService::Create(store, log, clock, std::move(options));
  EXPECT_TRUE(svc.ok());
  EXPECT_TRUE((*svc)->Warm().ok());
  return std::move(*svc);
}

TEST(PurgeTest, LeavesNoByteOfAPurgedRecordInAnyFile) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  FakeClock clock(kStart);
  EventLog log(clock);
  auto svc = Service(*store, log, clock);
  auto ids = WriteAll(*svc);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kRecords));
  Split split = Choose(ids);
  ASSERT_EQ(CountFound(dir.path(), split.purged), 3 * static_cast<int>(split.purged.size()));

  PurgeRequest req;
  req.record_ids = split.purged_ids;
  req.reason = "poisoned";
  auto purged = svc->Purge("admin", "bot", req);
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged->ids.size(), split.purged.size());
  EXPECT_TRUE(purged->compacted);
  EXPECT_FALSE(*store->CompactionPending());

  EXPECT_EQ(CountFound(dir.path(), split.purged), 0);
  EXPECT_EQ(CountFound(dir.path(), split.kept), 3 * static_cast<int>(split.kept.size()));
  // And after a clean shutdown.
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(CountFound(dir.path(), split.purged), 0);
  EXPECT_EQ(CountFound(dir.path(), split.kept), 3 * static_cast<int>(split.kept.size()));
}

TEST(PurgeTest, ACrashBetweenCommitAndCompactionIsFinishedAtTheNextStart) {
  TempDir dir;
  Split split;
  {
    auto store = OpenTestStore(dir);
    FakeClock clock(kStart);
    EventLog log(clock);
    auto svc = Service(*store, log, clock);
    auto ids = WriteAll(*svc);
    ASSERT_EQ(ids.size(), static_cast<size_t>(kRecords));
    split = Choose(ids);
    ASSERT_TRUE(store->Close().ok());
  }
  // The child commits the purge and is killed before it compacts: no close, no checkpoint.
  pid_t child = fork();
  if (child == 0) {
    auto store = OpenTestStore(dir);
    FaultyStore faulty(*store);
    faulty.fail_compact = true;
    FakeClock clock(kStart);
    EventLog log(clock);
    auto svc = MemoryService::Create(faulty, log, clock);
    PurgeRequest req;
    req.record_ids = split.purged_ids;
    req.reason = "poisoned";
    auto purged = (*svc)->Purge("admin", "bot", req);
    if (!purged.ok() || purged->compacted) _exit(1);
    raise(SIGKILL);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child purge failed";
  // Without compaction the purged records' bytes are still there: the scan can see them.
  EXPECT_GT(CountFound(dir.path(), split.purged), 0);

  // The next start: the pending compaction is found and finished.
  auto store = OpenTestStore(dir);
  auto pending = store->CompactionPending();
  ASSERT_TRUE(pending.ok());
  ASSERT_TRUE(*pending);
  ASSERT_TRUE(store->Compact().ok());
  EXPECT_FALSE(*store->CompactionPending());
  EXPECT_EQ(CountFound(dir.path(), split.purged), 0);
  EXPECT_EQ(CountFound(dir.path(), split.kept), 3 * static_cast<int>(split.kept.size()));
  // The purge itself was committed.
  FakeClock clock(kStart);
  EventLog log(clock);
  auto svc = Service(*store, log, clock);
  auto view = svc->Get("bot", split.purged_ids.front());
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->record.state, kMemoryPurged);
}

TEST(PurgeTest, AFailedCompactionAnswersThePurgeAsDoneWithCompactionPending) {
  TempDir dir;
  auto real = OpenTestStore(dir);
  FaultyStore store(*real);
  FakeClock clock(kStart);
  EventLog log(clock);
  auto svc = Service(store, log, clock);
  MemoryWrite w;
  w.text = "card number zq9purgeme";
  w.embedding = {1, 0};
  auto a = svc->Write("t", "bot", {w});
  ASSERT_TRUE(a.ok());
  store.fail_compact = true;
  PurgeRequest req;
  req.record_ids = {a->front().id};
  auto purged = svc->Purge("admin", "bot", req);
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_EQ(purged->ids, std::vector<int64_t>{a->front().id});
  EXPECT_FALSE(purged->compacted);
  EXPECT_TRUE(*store.CompactionPending());
  auto view = svc->Get("bot", a->front().id);
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(view->record.state, kMemoryPurged);
  // Wipe likewise.
  auto wiped = svc->Wipe("admin", "bot", "bot", "");
  ASSERT_TRUE(wiped.ok());
  EXPECT_FALSE(wiped->compacted);
  // Once compaction works again, the next one clears the pending record.
  store.fail_compact = false;
  ASSERT_TRUE(store.Compact().ok());
  EXPECT_FALSE(*store.CompactionPending());
  EXPECT_EQ(DirBytes(dir.path()).find("zq9purgeme"), std::string::npos);
}

std::set<int64_t> VectorHits(MemoryService& svc, std::vector<float> q, StatusCode* code = nullptr) {
  MemorySearch s;
  s.embedding = std::move(q);
  s.k = 10;
  auto hits = svc.Search("bot", s);
  if (code) *code = hits.status().code();
  std::set<int64_t> ids;
  if (hits.ok()) {
    for (const auto& h : *hits) ids.insert(h.record.id);
  }
  return ids;
}

TEST(IndexFailureTest, ACommittedWriteIsAnsweredAndReindexed) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  FakeClock clock(kStart);
  EventLog log(clock);
  std::atomic<int> failures{0};
  MemoryOptions options;
  options.index_fault = [&failures](int64_t) -> Status {
    if (failures.load() == 0) return Status::Ok();
    if (failures.load() > 0) failures--;
    return Internal("injected: index insert failed");
  };
  auto svc = Service(*store, log, clock, options);
  MemoryWrite w;
  w.text = "first";
  w.embedding = {1, 0};
  auto a = svc->Write("t", "bot", {w});
  ASSERT_TRUE(a.ok());

  // One failing insert: the write is answered, the index is rebuilt from the store at once.
  failures = 1;
  w.text = "second";
  w.embedding = {0, 1};
  auto b = svc->Write("t", "bot", {w});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(VectorHits(*svc, {0, 1}), (std::set<int64_t>{a->front().id, b->front().id}));

  // Inserts keep failing: still answered; vector search says to retry; text search works.
  failures = -1;
  w.text = "third zq8third";
  w.embedding = {1, 1};
  auto c = svc->Write("t", "bot", {w});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  StatusCode code = StatusCode::kOk;
  VectorHits(*svc, {1, 1}, &code);
  EXPECT_EQ(code, StatusCode::kUnavailable);
  MemorySearch text;
  text.text = "zq8third";
  auto by_text = svc->Search("bot", text);
  ASSERT_TRUE(by_text.ok());
  ASSERT_EQ(by_text->size(), 1u);
  // The fault clears: the next search rebuilds and finds every record.
  failures = 0;
  EXPECT_EQ(VectorHits(*svc, {1, 1}),
            (std::set<int64_t>{a->front().id, b->front().id, c->front().id}));
}

TEST(WarmTest, VectorSearchWaitsForWarmWhileEverythingElseServes) {
  TempDir dir;
  auto store = OpenTestStore(dir);
  FakeClock clock(kStart);
  EventLog log(clock);
  int64_t a = 0, b = 0;
  {
    auto svc = Service(*store, log, clock);
    auto ids = WriteAll(*svc);
    ASSERT_EQ(ids.size(), static_cast<size_t>(kRecords));
    a = ids[10];
    QuarantineRequest q;
    q.window.record_ids = {ids[11]};
    q.reason = "x";
    ASSERT_TRUE(svc->Quarantine("alice", "bot", q).ok());
    b = ids[11];
  }
  auto cold = MemoryService::Create(*store, log, clock);
  ASSERT_TRUE(cold.ok());
  MemoryService& svc = **cold;
  EXPECT_TRUE(svc.warming());
  StatusCode code = StatusCode::kOk;
  VectorHits(svc, Embedding(10), &code);
  EXPECT_EQ(code, StatusCode::kUnavailable);
  MemorySearch text;
  text.text = TextMarker(10);
  auto by_text = svc.Search("bot", text);
  ASSERT_TRUE(by_text.ok());
  ASSERT_EQ(by_text->size(), 1u);
  EXPECT_EQ(by_text->front().record.id, a);
  // A write and a purge while warming are kept in step with the index being built.
  MemoryWrite w;
  w.text = "written while warming";
  // Pointing away from every bulk record (their components are all positive).
  const std::vector<float> away = {-1, 1, -1, 1, -1, 1, -1, 1};
  w.embedding = away;
  auto fresh = svc.Write("t", "bot", {w});
  ASSERT_TRUE(fresh.ok());
  PurgeRequest purge;
  purge.record_ids = {a};
  ASSERT_TRUE(svc.Purge("admin", "bot", purge).ok());

  ASSERT_TRUE(svc.Warm().ok());
  EXPECT_FALSE(svc.warming());
  std::set<int64_t> near_a = VectorHits(svc, Embedding(10));
  EXPECT_FALSE(near_a.empty());
  EXPECT_EQ(near_a.count(a), 0u);  // purged
  EXPECT_EQ(near_a.count(b), 0u);  // quarantined
  EXPECT_EQ(VectorHits(svc, away).count(fresh->front().id), 1u);
}

}  // namespace
}  // namespace firebreak
