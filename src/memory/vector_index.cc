#include "memory/vector_index.h"

// hnswlib's own SIMD path also prefetches the entry one past each neighbour list it walks,
// reading 4 bytes beyond an element's top-level list (allocated with 1 byte to spare): an
// out-of-bounds read that ASan reports (PurgeTest, WarmTest). Without it hnswlib reads only
// its lists; distances stay vectorised by the kernel below (AVX2) or by the compiler.
#define NO_MANUAL_VECTORIZATION
#include <hnswlib/hnswlib.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <mutex>

namespace firebreak {
namespace {

// hnswlib is built for the baseline x86-64 (SSE). The distance is where inserts and searches
// spend their time, so when the CPU has AVX2 and FMA (checked at run time) it is computed with
// them; the rest of the code stays baseline.
__attribute__((target("avx2,fma"))) float InnerProductDistanceAvx2(const void* a, const void* b,
                                                                  const void* dim_ptr) {
  const auto* x = static_cast<const float*>(a);
  const auto* y = static_cast<const float*>(b);
  size_t n = *static_cast<const size_t*>(dim_ptr);
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), _mm256_loadu_ps(y + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i), acc0);
  }
  __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  sum = _mm_hadd_ps(sum, sum);
  sum = _mm_hadd_ps(sum, sum);
  float dot = _mm_cvtss_f32(sum);
  for (; i < n; ++i) dot += x[i] * y[i];
  return 1.0f - dot;
}

// Inner-product space (1 - dot, so cosine distance on unit vectors) choosing its kernel by CPU.
class CosineSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit CosineSpace(size_t dim) : baseline_(dim), dim_(dim) {
    __builtin_cpu_init();
    fn_ = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")
              ? &InnerProductDistanceAvx2
              : baseline_.get_dist_func();
  }
  size_t get_data_size() override { return dim_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return fn_; }
  void* get_dist_func_param() override { return &dim_; }

 private:
  hnswlib::InnerProductSpace baseline_;
  size_t dim_;
  hnswlib::DISTFUNC<float> fn_;
};

}  // namespace

struct VectorIndex::Impl {
  Impl(int dim, const VectorIndexOptions& o)
      : space(static_cast<size_t>(dim)),
        graph(&space, o.initial_capacity, o.m, o.ef_construction),
        ef_search(o.ef_search) {
    graph.setEf(o.ef_search);
  }
  CosineSpace space;
  hnswlib::HierarchicalNSW<float> graph;
  size_t ef_search;
};

bool Normalize(std::vector<float>& v) {
  double sum = 0;
  for (float x : v) {
    if (!std::isfinite(x)) return false;
    sum += static_cast<double>(x) * x;
  }
  if (sum <= 0) return false;
  float inv = static_cast<float>(1.0 / std::sqrt(sum));
  for (float& x : v) x *= inv;
  return true;
}

StatusOr<std::unique_ptr<VectorIndex>> VectorIndex::Create(int dim, const VectorIndexOptions& options) {
  if (dim <= 0) return InvalidArgument("vector dimension must be positive");
  try {
    return std::unique_ptr<VectorIndex>(new VectorIndex(dim, std::make_unique<Impl>(dim, options)));
  } catch (const std::exception& e) {
    return Internal(std::string("cannot create the vector index: ") + e.what());
  }
}

VectorIndex::VectorIndex(int dim, std::unique_ptr<Impl> impl) : dim_(dim), impl_(std::move(impl)) {}
VectorIndex::~VectorIndex() = default;

Status VectorIndex::Add(int64_t id, const float* vec) {
  std::vector<float> v(vec, vec + dim_);
  if (!Normalize(v)) return InvalidArgument("an embedding must be finite and not all zeros");
  std::unique_lock lock(mu_);
  try {
    auto& g = impl_->graph;
    if (g.cur_element_count >= g.max_elements_) {
      g.resizeIndex(std::max<size_t>(1024, g.max_elements_ * 2));
    }
    g.addPoint(v.data(), static_cast<hnswlib::labeltype>(id));
  } catch (const std::exception& e) {
    return Internal(std::string("vector index: ") + e.what());
  }
  return Status::Ok();
}

void VectorIndex::Hide(int64_t id) {
  std::unique_lock lock(mu_);
  auto& g = impl_->graph;
  auto it = g.label_lookup_.find(static_cast<hnswlib::labeltype>(id));
  if (it == g.label_lookup_.end() || g.isMarkedDeleted(it->second)) return;
  g.markDelete(static_cast<hnswlib::labeltype>(id));
}

void VectorIndex::Show(int64_t id) {
  std::unique_lock lock(mu_);
  auto& g = impl_->graph;
  auto it = g.label_lookup_.find(static_cast<hnswlib::labeltype>(id));
  if (it == g.label_lookup_.end() || !g.isMarkedDeleted(it->second)) return;
  g.unmarkDelete(static_cast<hnswlib::labeltype>(id));
}

void VectorIndex::Erase(int64_t id) {
  std::unique_lock lock(mu_);
  auto& g = impl_->graph;
  auto it = g.label_lookup_.find(static_cast<hnswlib::labeltype>(id));
  if (it == g.label_lookup_.end()) return;
  if (!g.isMarkedDeleted(it->second)) g.markDelete(static_cast<hnswlib::labeltype>(id));
  std::memset(g.getDataByInternalId(it->second), 0, sizeof(float) * static_cast<size_t>(dim_));
}

std::vector<std::pair<int64_t, float>> VectorIndex::Search(const float* query, size_t k) const {
  std::vector<float> q(query, query + dim_);
  std::vector<std::pair<int64_t, float>> out;
  if (k == 0 || !Normalize(q)) return out;
  std::shared_lock lock(mu_);
  auto& g = impl_->graph;
  if (g.cur_element_count == 0) return out;
  // searchKnn reads ef_ without writing it; k above ef widens the beam for this query only.
  auto result = g.searchKnn(q.data(), k);
  out.resize(result.size());
  for (size_t i = result.size(); i-- > 0;) {
    // InnerProductSpace distance is 1 - dot; furthest pops first.
    out[i] = {static_cast<int64_t>(result.top().second), 1.0f - result.top().first};
    result.pop();
  }
  return out;
}

size_t VectorIndex::size() const {
  std::shared_lock lock(mu_);
  return impl_->graph.cur_element_count;
}

}  // namespace firebreak
