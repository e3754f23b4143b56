// Similarity: near-duplicate fingerprints of trace content for similar-case search.
//
// Content text (input, retrieved content, tool calls, output) is cut into word 3-shingles;
// a MinHash signature of kMinHashSize 32-bit values estimates the Jaccard similarity of two
// shingle sets (the fraction of equal positions). LSH banding (kBands bands of kRows rows)
// turns a signature into kBands bucket keys: two traces share a bucket with probability
// 1-(1-J^kRows)^kBands, so near-duplicates meet as candidates without scanning everything.
// Every function here is pure and stable across machines and releases (docs/traces.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "traces/trace.h"

namespace firebreak::traces {

inline constexpr int kMinHashSize = 64;
inline constexpr int kBands = 16;
inline constexpr int kRows = kMinHashSize / kBands;

using Signature = std::vector<uint32_t>;  // kMinHashSize values

// Returns the text of a trace that similarity works on.
std::string SimilarityText(const TraceContent& t);

// Returns the distinct 64-bit hashes of the word 3-shingles of `text` (lowercased words of
// letters and digits; texts of fewer than 3 words give their words).
std::vector<uint64_t> Shingles(const std::string& text);

// Returns the MinHash signature of a shingle set (all UINT32_MAX when it is empty).
Signature MinHash(const std::vector<uint64_t>& shingles);

// Returns the LSH bucket keys of a signature, one per band.
std::vector<int64_t> LshKeys(const Signature& sig);

// Returns the estimated Jaccard similarity of two signatures, in [0, 1].
double EstimateJaccard(const Signature& a, const Signature& b);

// Returns the exact Jaccard similarity of two sorted shingle sets.
double ExactJaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

std::string SignatureToHex(const Signature& sig);
std::optional<Signature> SignatureFromHex(const std::string& hex);

// Returns an FTS5 query that matches any of the most distinctive words of `text` (at most
// `max_terms`, quoted so no user text is FTS5 syntax), or "" when there is no usable word.
std::string FtsAnyQuery(const std::string& text, int max_terms);

// Returns an FTS5 query that matches every word of `text` (quoted), or "" when none.
std::string FtsAllQuery(const std::string& text);

}  // namespace firebreak::traces
