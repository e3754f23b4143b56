// Normalisation of text before the personal-data patterns run, with a map back to the bytes
// of the original, so a finding's range redacts exactly what was written.
//
// Values reach agents' replies in shapes the patterns would miss: Unicode spaces inside a
// number ("+44 20 7946 0958" with no-break spaces), invisible characters (zero-width space,
// soft hyphen), Unicode dashes and full-width digits, and line breaks that wrap a value
// ("DE89 3704 0044\n0532 0130 00"). Normalise rewrites those to ASCII; everything else is
// copied byte for byte. Pure; the map is kept only when something changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace firebreak::detect {

class NormalisedText {
 public:
  // Returns the normalised form of `original` (which must outlive this object).
  static NormalisedText Of(std::string_view original);

  // The text the patterns run over.
  std::string_view text() const { return changed_ ? std::string_view(text_) : original_; }

  // Returns the original byte range [begin, end) of the normalised range [start, start + len):
  // a range that starts or ends on a rewritten character covers all of its original bytes.
  std::pair<size_t, size_t> Original(size_t start, size_t len) const;

 private:
  std::string_view original_;
  std::string text_;
  bool changed_ = false;
  // (normalised offset, original offset) at every edit boundary, in order; identity between.
  std::vector<std::pair<uint32_t, uint32_t>> anchors_;
};

}  // namespace firebreak::detect
