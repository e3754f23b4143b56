// VectorIndex: the in-memory approximate nearest-neighbour index of one (agent, namespace).
//
// An HNSW graph (hnswlib) over unit-normalised float32 vectors, so inner product is cosine
// similarity. Labels are memory record ids. Records leave search at once when Hide() returns
// (hnswlib's markDelete) and come back with Show(); Erase() also zeroes the stored vector
// (purge). The store is the source of truth: the index is rebuilt from it at start.
// Thread-safe: searches share a lock, changes take it exclusively.
#pragma once

#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <utility>
#include <vector>

#include "common/status.h"

namespace firebreak {

struct VectorIndexOptions {
  size_t m = 16;                 // graph degree
  size_t ef_construction = 100;  // build-time beam
  size_t ef_search = 100;        // query-time beam (at least k)
  size_t initial_capacity = 1024;
};

class VectorIndex {
 public:
  // Returns an empty index of dimension `dim` (> 0).
  static StatusOr<std::unique_ptr<VectorIndex>> Create(int dim, const VectorIndexOptions& options = {});
  ~VectorIndex();

  int dim() const { return dim_; }

  // Adds (or replaces) the vector of record `id`; `vec` has dim() floats and is normalised here.
  // kInvalidArgument for a zero vector.
  Status Add(int64_t id, const float* vec);
  // Excludes `id` from searches (no-op when absent or already hidden).
  void Hide(int64_t id);
  // Includes a hidden `id` again.
  void Show(int64_t id);
  // Hides `id` and overwrites its vector with zeros.
  void Erase(int64_t id);

  // Returns up to k (id, cosine similarity) pairs of visible records, most similar first.
  std::vector<std::pair<int64_t, float>> Search(const float* query, size_t k) const;

  size_t size() const;

 private:
  struct Impl;
  VectorIndex(int dim, std::unique_ptr<Impl> impl);
  int dim_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<Impl> impl_;  // GUARDED_BY(mu_)
};

// Returns `v` scaled to unit length; false when it is zero or not finite.
bool Normalize(std::vector<float>& v);

}  // namespace firebreak
