#include "traces/similarity.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace firebreak::traces {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ULL;
constexpr uint64_t kFnvPrime = 1099511628211ULL;

uint64_t Fnv1a(const std::string& s, uint64_t h = kFnvOffset) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

// splitmix64 finaliser: a fixed, well-mixed permutation of 64-bit values.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      cur += static_cast<char>(std::tolower(c));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

std::string SimilarityText(const TraceContent& t) {
  std::string out = t.input;
  for (const auto& r : t.retrieved) out += "\n" + r.content;
  for (const auto& c : t.tool_calls)
    out += "\n" + c.name + " " + c.arguments + " " + c.result + " " + c.error;
  out += "\n" + t.output;
  return out;
}

std::vector<uint64_t> Shingles(const std::string& text) {
  std::vector<std::string> words = Words(text);
  std::vector<uint64_t> out;
  if (words.size() < 3) {
    for (const auto& w : words) out.push_back(Fnv1a(w));
  } else {
    out.reserve(words.size());
    for (size_t i = 0; i + 2 < words.size(); ++i) {
      uint64_t h = Fnv1a(words[i]);
      h = Fnv1a(" " + words[i + 1], h);
      h = Fnv1a(" " + words[i + 2], h);
      out.push_back(h);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Signature MinHash(const std::vector<uint64_t>& shingles) {
  Signature sig(kMinHashSize, UINT32_MAX);
  for (uint64_t s : shingles) {
    uint64_t base = Mix(s);
    for (int i = 0; i < kMinHashSize; ++i) {
      // Each position is a different fixed permutation: mix with a per-position seed.
      uint32_t v = static_cast<uint32_t>(Mix(base ^ (0x5851f42d4c957f2dULL * (i + 1))) >> 32);
      if (v < sig[i]) sig[i] = v;
    }
  }
  return sig;
}

std::vector<int64_t> LshKeys(const Signature& sig) {
  std::vector<int64_t> keys;
  keys.reserve(kBands);
  for (int b = 0; b < kBands; ++b) {
    uint64_t h = Mix(static_cast<uint64_t>(b) + 1);
    for (int r = 0; r < kRows; ++r) h = Mix(h ^ sig[b * kRows + r]);
    keys.push_back(static_cast<int64_t>(h));
  }
  return keys;
}

double EstimateJaccard(const Signature& a, const Signature& b) {
  if (a.size() != b.size() || a.empty()) return 0;
  int same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += (a[i] == b[i] && a[i] != UINT32_MAX) ? 1 : 0;
  return static_cast<double>(same) / static_cast<double>(a.size());
}

double ExactJaccard(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  if (a.empty() && b.empty()) return 0;
  size_t i = 0, j = 0, inter = 0;
  while (i < a.size() && j < b.size()) {
    if (a[i] == b[j]) {
      ++inter, ++i, ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return static_cast<double>(inter) / static_cast<double>(a.size() + b.size() - inter);
}

std::string SignatureToHex(const Signature& sig) {
  std::string out;
  out.reserve(sig.size() * 8);
  char buf[9];
  for (uint32_t v : sig) {
    std::snprintf(buf, sizeof(buf), "%08x", v);
    out += buf;
  }
  return out;
}

std::optional<Signature> SignatureFromHex(const std::string& hex) {
  if (hex.size() != static_cast<size_t>(kMinHashSize) * 8) return std::nullopt;
  Signature sig(kMinHashSize);
  for (int i = 0; i < kMinHashSize; ++i) {
    uint32_t v = 0;
    for (int k = 0; k < 8; ++k) {
      char c = hex[i * 8 + k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + static_cast<uint32_t>(d);
    }
    sig[i] = v;
  }
  return sig;
}

std::string FtsAnyQuery(const std::string& text, int max_terms) {
  // Longer words are rarer, and rare words are what bm25 rewards; digits-only words are noise.
  std::set<std::string> seen;
  std::vector<std::string> words;
  for (auto& w : Words(text)) {
    if (w.size() < 4 || std::all_of(w.begin(), w.end(), ::isdigit)) continue;
    if (seen.insert(w).second) words.push_back(w);
  }
  std::stable_sort(words.begin(), words.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  if (static_cast<int>(words.size()) > max_terms) words.resize(static_cast<size_t>(max_terms));
  std::string q;
  for (const auto& w : words) q += (q.empty() ? "\"" : " OR \"") + w + "\"";
  return q;
}

std::string FtsAllQuery(const std::string& text) {
  std::string q;
  for (const auto& w : Words(text)) q += (q.empty() ? "\"" : " \"") + w + "\"";
  return q;
}

}  // namespace firebreak::traces
