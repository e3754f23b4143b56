// Memory benchmark: prints write throughput, search latency (p50/p99) with recall@10 against
// brute force, the time and counts of quarantining a 10% window with taint closure over a
// derivation graph, and search latency after it. In process: MemoryService over a SQLite store
// in a temporary directory (the HTTP layer is measured by http_bench.sh). Never fails on time.
//   memory_bench [--records N] [--dim D] [--queries Q] [--recall-queries R] [--batch B]
// Latency is measured over Q queries, recall@10 over the first R of them (brute force is the
// slow part at 1M records; default R = Q).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "audit/event_log.h"
#include "common/clock.h"
#include "memory/memory_service.h"
#include "store/store.h"

namespace fb = firebreak;
using Clock = std::chrono::steady_clock;

namespace {

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

int Fail(const fb::Status& s) {
  std::fprintf(stderr, "memory_bench: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  size_t records = 100000, dim = 384, queries = 200, batch = 1000, recall_queries = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    size_t value = std::stoul(argv[i + 1]);
    if (flag == "--records") records = value;
    else if (flag == "--dim") dim = value;
    else if (flag == "--queries") queries = value;
    else if (flag == "--batch") batch = value;
    else if (flag == "--recall-queries") recall_queries = value;
  }
  if (recall_queries == 0 || recall_queries > queries) recall_queries = queries;
  std::printf("command: %s --records %zu --dim %zu --queries %zu --recall-queries %zu --batch %zu\n",
              argv[0], records, dim, queries, recall_queries, batch);

  std::string dir = std::filesystem::temp_directory_path() / ("fb-memory-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  struct Cleanup {
    std::string dir;
    ~Cleanup() { std::filesystem::remove_all(dir); }
  } cleanup{dir};

  fb::StoreOptions so;
  so.url = "sqlite:" + dir + "/firebreak.db";
  auto store = fb::OpenStore(so);
  if (!store.ok()) return Fail(store.status());
  const fb::TimeMs start = 1'795'964'645'000;
  fb::FakeClock clock(start);
  fb::EventLog log(clock);
  auto svc = fb::MemoryService::Create(**store, log, clock);
  if (!svc.ok()) return Fail(svc.status());
  if (fb::Status warmed = (*svc)->Warm(); !warmed.ok()) return Fail(warmed);

  // Clustered data (embeddings of real text are far from uniform): 1000 centres plus noise.
  std::mt19937 rng(42);
  std::normal_distribution<float> gauss(0.0f, 1.0f);
  const size_t centres = 1000;
  std::vector<float> centre(centres * dim);
  for (float& x : centre) x = gauss(rng);
  auto sample = [&](float* out) {
    size_t c = rng() % centres;
    for (size_t d = 0; d < dim; ++d) out[d] = centre[c * dim + d] + 0.5f * gauss(rng);
  };
  std::vector<float> data(records * dim);  // kept normalised, for brute force
  std::vector<int64_t> ids(records);

  // Derivation graph: 20% of records derive from 1-2 recent records; one trace per 10 records;
  // every 50th batch position a trace searches (recording reads) before it writes.
  std::uniform_real_distribution<double> unit(0, 1);
  size_t derived_edges = 0, reads = 0;
  auto t0 = Clock::now();
  for (size_t base = 0; base < records; base += batch) {
    size_t n = std::min(batch, records - base);
    std::vector<fb::MemoryWrite> writes(n);
    for (size_t j = 0; j < n; ++j) {
      size_t i = base + j;
      auto& w = writes[j];
      w.text = "memory " + std::to_string(i) + " of trace " + std::to_string(i / 10);
      w.embedding.resize(dim);
      sample(w.embedding.data());
      w.trace_id = "trace-" + std::to_string(i / 10);
      w.agent_version = "v" + std::to_string(1 + i * 10 / records);
      if (base > 0 && unit(rng) < 0.2) {
        size_t window = std::min<size_t>(base, 5000);
        int edges = 1 + static_cast<int>(rng() % 2);
        for (int e = 0; e < edges; ++e) w.derived_from.push_back(ids[base - 1 - rng() % window]);
        derived_edges += w.derived_from.size();
      }
      std::vector<float> v = w.embedding;
      fb::Normalize(v);
      std::memcpy(&data[i * dim], v.data(), dim * sizeof(float));
    }
    if (base > 0 && (base / batch) % 2 == 0) {
      // A trace of this batch reads something before writing.
      fb::MemorySearch s;
      s.embedding = writes[0].embedding;
      s.k = 3;
      s.trace_id = writes[0].trace_id;
      auto hits = (*svc)->Search("bench", s);
      if (!hits.ok()) return Fail(hits.status());
      reads += hits->size();
    }
    auto written = (*svc)->Write("bench", "bench", writes);
    if (!written.ok()) return Fail(written.status());
    for (size_t j = 0; j < n; ++j) ids[base + j] = (*written)[j].id;
    clock.Advance(static_cast<fb::TimeMs>(n));  // 1 ms per record
    if ((base / batch) % 100 == 99) {
      std::fprintf(stderr, "  %zu written, %.0f/s\n", base + n, (base + n) / Seconds(t0, Clock::now()));
    }
  }
  double write_s = Seconds(t0, Clock::now());
  std::printf("write: %zu records of dim %zu in %.1f s = %.0f records/s (batches of %zu; store + "
              "HNSW insert; %zu derivation edges, %zu reads recorded)\n",
              records, dim, write_s, records / write_s, batch, derived_edges, reads);

  // Queries from the same distribution; brute-force ground truth over the visible set.
  std::vector<std::vector<float>> qs(queries, std::vector<float>(dim));
  for (auto& q : qs) sample(q.data());
  auto run = [&](const char* label, const std::vector<char>& hidden) -> int {
    std::vector<double> lat;
    double recall_sum = 0;
    size_t leaked = 0;
    for (size_t qi = 0; qi < qs.size(); ++qi) {
      const auto& q = qs[qi];
      fb::MemorySearch s;
      s.embedding = q;
      s.k = 10;
      auto a = Clock::now();
      auto hits = (*svc)->Search("bench", s);
      lat.push_back(Seconds(a, Clock::now()) * 1000);
      if (!hits.ok()) return Fail(hits.status());
      for (const auto& h : *hits) {
        size_t index = static_cast<size_t>(std::lower_bound(ids.begin(), ids.end(), h.record.id) - ids.begin());
        if (hidden[index]) ++leaked;
      }
      if (qi >= recall_queries) continue;
      std::vector<float> qn = q;
      fb::Normalize(qn);
      std::vector<std::pair<float, size_t>> best;
      for (size_t i = 0; i < records; ++i) {
        if (hidden[i]) continue;
        const float* v = &data[i * dim];
        float dot = 0;
        for (size_t d = 0; d < dim; ++d) dot += v[d] * qn[d];
        if (best.size() < 10) {
          best.push_back({dot, i});
          std::push_heap(best.begin(), best.end(), std::greater<>());
        } else if (dot > best.front().first) {
          std::pop_heap(best.begin(), best.end(), std::greater<>());
          best.back() = {dot, i};
          std::push_heap(best.begin(), best.end(), std::greater<>());
        }
      }
      std::unordered_set<int64_t> truth;
      for (const auto& [dot, i] : best) truth.insert(ids[i]);
      size_t found = 0;
      for (const auto& h : *hits) found += truth.count(h.record.id);
      recall_sum += static_cast<double>(found) / static_cast<double>(truth.size());
    }
    std::printf("search %s: %zu queries k=10: p50 %.2f ms, p99 %.2f ms, recall@10 %.3f vs brute "
                "force (first %zu queries), %zu quarantined records returned\n",
                label, queries, Percentile(lat, 0.5), Percentile(lat, 0.99),
                recall_sum / static_cast<double>(recall_queries), recall_queries, leaked);
    return 0;
  };
  std::vector<char> hidden(records, 0);
  if (run("before quarantine", hidden) != 0) return 1;

  // Quarantine the 10% window in the middle of the time range, with taint closure.
  fb::QuarantineRequest q;
  q.window.from = start + static_cast<fb::TimeMs>(records * 45 / 100);
  q.window.to = start + static_cast<fb::TimeMs>(records * 55 / 100);
  q.reason = "benchmark window";
  auto a = Clock::now();
  auto result = (*svc)->Quarantine("bench", "bench", q);
  double quarantine_s = Seconds(a, Clock::now());
  if (!result.ok()) return Fail(result.status());
  std::printf("quarantine of a 10%% window: %.2f s, direct %lld, tainted %lld (closure over "
              "derived_from and trace reads, one write transaction)\n",
              quarantine_s, static_cast<long long>(result->quarantine.direct),
              static_cast<long long>(result->quarantine.tainted));
  for (const auto& m : result->members) {
    size_t index = static_cast<size_t>(std::lower_bound(ids.begin(), ids.end(), m.record_id) - ids.begin());
    hidden[index] = 1;
  }
  if (run("after quarantine", hidden) != 0) return 1;
  auto before = (*store)->Stats();
  std::printf("store file before purge: %.1f MB (+ WAL %.1f MB)\n", before.file_bytes / 1e6,
              before.wal_bytes / 1e6);

  // Purge the quarantined window: the transaction, then the compaction (FTS5 optimize, VACUUM,
  // truncating checkpoint) that makes the bytes leave the files.
  fb::PurgeRequest purge;
  purge.quarantine_id = result->quarantine.id;
  purge.reason = "benchmark";
  a = Clock::now();
  auto purged = (*svc)->Purge("bench", "bench", purge);
  double purge_s = Seconds(a, Clock::now());
  if (!purged.ok()) return Fail(purged.status());
  std::printf("purge of the window: %zu records, transaction + compaction %.2f s (compaction %s)\n",
              purged->ids.size(), purge_s, purged->compacted ? "done" : "pending");
  fb::PurgeRequest one;
  one.record_ids = {ids[records / 10]};
  a = Clock::now();
  auto single = (*svc)->Purge("bench", "bench", one);
  if (!single.ok()) return Fail(single.status());
  std::printf("purge of 1 record: transaction + compaction %.2f s\n", Seconds(a, Clock::now()));

  // A restart's warm-up: the whole index built again from the store.
  a = Clock::now();
  auto cold = fb::MemoryService::Create(**store, log, clock);
  if (!cold.ok()) return Fail(cold.status());
  if (fb::Status warmed = (*cold)->Warm(); !warmed.ok()) return Fail(warmed);
  std::printf("warm-up after a restart (index built from the store): %.1f s\n", Seconds(a, Clock::now()));
  auto stats = (*store)->Stats();
  std::printf("store file: %.1f MB (+ WAL %.1f MB)\n", stats.file_bytes / 1e6, stats.wal_bytes / 1e6);
  return 0;
}
