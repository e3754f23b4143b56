#include "detect/normalise.h"

#include <algorithm>

namespace firebreak::detect {
namespace {

// Decodes the UTF-8 character at `i`; returns its code point and sets `len`, or returns -1
// (and len 1) for a byte that does not start a valid character.
int32_t Decode(std::string_view s, size_t i, size_t& len) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  len = 1;
  if (c < 0x80) return c;
  size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return -1;
  int32_t cp = c & (0x3F >> (n - 1));
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (cc & 0x3F);
  }
  len = n;
  return cp;
}

bool UnicodeSpace(int32_t cp) {
  return cp == 0x00A0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}
// Invisible in rendered text, so a value holding one still reads as the value.
bool Invisible(int32_t cp) {
  return cp == 0x00AD || cp == 0x200B || cp == 0x200C || cp == 0x200D || cp == 0x2060 || cp == 0xFEFF;
}
bool UnicodeDash(int32_t cp) { return (cp >= 0x2010 && cp <= 0x2013) || cp == 0x2212 || cp == 0xFE63 || cp == 0xFF0D; }
bool LineBreak(int32_t cp) { return cp == '\n' || cp == '\r' || cp == 0x0085 || cp == 0x2028; }
bool Blank(int32_t cp) { return cp == ' ' || cp == '\t' || UnicodeSpace(cp); }
bool Alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

NormalisedText NormalisedText::Of(std::string_view original) {
  NormalisedText n;
  n.original_ = original;
  if (original.size() > UINT32_MAX) return n;  // offsets are kept in 32 bits; such a text is scanned as is
  bool needed = false;
  for (char c : original) {
    if (static_cast<unsigned char>(c) >= 0x80 || c == '\n' || c == '\r') {
      needed = true;
      break;
    }
  }
  if (!needed) return n;

  std::string& out = n.text_;
  out.reserve(original.size());
  auto edit = [&](size_t from, size_t to, std::string_view replacement) {
    n.anchors_.emplace_back(static_cast<uint32_t>(out.size()), static_cast<uint32_t>(from));
    out.append(replacement);
    n.anchors_.emplace_back(static_cast<uint32_t>(out.size()), static_cast<uint32_t>(to));
  };
  size_t i = 0;
  while (i < original.size()) {
    size_t len;
    int32_t cp = Decode(original, i, len);
    if (Blank(cp) || LineBreak(cp)) {
      // A run of blanks holding one line break between two value characters is a wrapped
      // value ("4111 1111\n1111 1111"): one space. A blank line or a break after punctuation
      // stays as written.
      size_t j = i, breaks = 0;
      while (j < original.size()) {
        size_t l;
        int32_t c = Decode(original, j, l);
        if (c == '\r' && j + 1 < original.size() && original[j + 1] == '\n') {
          ++breaks;
          j += 2;
          continue;
        }
        if (LineBreak(c)) ++breaks;
        else if (!Blank(c)) break;
        j += l;
      }
      bool wrapped = breaks == 1 && !out.empty() && (Alnum(out.back()) || out.back() == ')') &&
                     j < original.size() && (Alnum(original[j]) || original[j] == '+' || original[j] == '(');
      if (wrapped) {
        edit(i, j, " ");
        i = j;
        continue;
      }
      for (size_t k = i; k < j;) {
        size_t l;
        int32_t c = Decode(original, k, l);
        if (c < 0x80) out.push_back(static_cast<char>(c));
        else edit(k, k + l, LineBreak(c) ? "\n" : " ");
        k += l;
      }
      i = j;
      continue;
    }
    if (cp < 0x80 && cp >= 0) {
      out.push_back(static_cast<char>(cp));
    } else if (Invisible(cp)) {
      edit(i, i + len, "");
    } else if (UnicodeDash(cp)) {
      edit(i, i + len, "-");
    } else if (cp >= 0xFF10 && cp <= 0xFF19) {  // full-width digits
      edit(i, i + len, std::string(1, static_cast<char>('0' + (cp - 0xFF10))));
    } else {
      out.append(original.substr(i, len));
    }
    i += len;
  }
  n.changed_ = !n.anchors_.empty();
  if (!n.changed_) n.text_.clear();
  return n;
}

std::pair<size_t, size_t> NormalisedText::Original(size_t start, size_t len) const {
  if (!changed_) return {start, start + len};
  auto to_original = [&](size_t pos, bool is_end) -> size_t {
    // Anchors are ordered by normalised then original offset. A start maps through the last
    // anchor at or before it (past removed characters); an end that falls on an anchor maps
    // through the first one there (before removed characters, after a rewritten one).
    auto cmp = [](const std::pair<uint32_t, uint32_t>& a, size_t p) { return a.first < p; };
    auto it = std::lower_bound(anchors_.begin(), anchors_.end(), pos, cmp);
    if (is_end && it != anchors_.end() && it->first == pos) return it->second;
    if (!is_end) {
      auto last = std::upper_bound(anchors_.begin(), anchors_.end(), pos,
                                   [](size_t p, const std::pair<uint32_t, uint32_t>& a) { return p < a.first; });
      if (last == anchors_.begin()) return pos;
      --last;
      return last->second + (pos - last->first);
    }
    if (it == anchors_.begin()) return pos;
    --it;
    return it->second + (pos - it->first);
  };
  return {to_original(start, false), to_original(start + len, true)};
}

}  // namespace firebreak::detect
