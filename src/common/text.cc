#include "common/text.h"

#include <utf8.h>

#include <iterator>

namespace firebreak {

bool IsValidUtf8(std::string_view text) { return utf8::is_valid(text.begin(), text.end()); }

std::string CleanUtf8(std::string_view text) {
  if (IsValidUtf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  utf8::replace_invalid(text.begin(), text.end(), std::back_inserter(out), 0xFFFD);
  return out;
}

std::string TruncateUtf8(std::string_view text, size_t max_bytes, std::string_view marker) {
  if (!IsValidUtf8(text)) return TruncateUtf8(CleanUtf8(text), max_bytes, marker);
  if (text.size() <= max_bytes) return std::string(text);
  if (marker.size() > max_bytes) marker = {};
  size_t keep = max_bytes - marker.size();
  // text[keep] is the first byte left out: step back while it continues a sequence, so the
  // cut falls before the sequence's lead byte.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  std::string out(text.substr(0, keep));
  out += marker;
  return out;
}

Status CheckText(std::string_view field, std::string_view text, size_t max_bytes, bool required) {
  std::string f = "'" + std::string(field) + "'";
  if (required && text.empty()) return InvalidArgument(f + " is required");
  if (!IsValidUtf8(text)) return InvalidArgument(f + " is not valid UTF-8");
  if (text.size() > max_bytes) {
    return TooLarge(f + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return Status::Ok();
}

Status CheckName(std::string_view field, std::string_view value, size_t max_bytes,
                 std::string_view punctuation) {
  std::string f = "'" + std::string(field) + "'";
  if (value.empty()) return InvalidArgument(f + " is required");
  if (value.size() > max_bytes) {
    return InvalidArgument(f + " is longer than " + std::to_string(max_bytes) + " bytes");
  }
  bool ok = value.front() != '.' && value.find("..") == std::string_view::npos;
  for (char c : value) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && punctuation.find(c) == std::string_view::npos) ok = false;
  }
  if (!ok) {
    std::string allowed;
    for (char c : punctuation) allowed += std::string(allowed.empty() ? "" : ", ") + "'" + c + "'";
    return InvalidArgument(f + " may hold only letters, digits and " + allowed +
                           ", and may neither start with '.' nor hold \"..\"");
  }
  return Status::Ok();
}

std::string ToName(std::string_view text, size_t max_bytes, std::string_view punctuation) {
  std::string out(text.substr(0, max_bytes));
  for (size_t i = 0; i < out.size(); ++i) {
    char c = out[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    bool dot_step = c == '.' && (i == 0 || text[i - 1] == '.');
    if ((!alnum && punctuation.find(c) == std::string_view::npos) || dot_step) out[i] = '_';
  }
  return out;
}

Status CheckJsonDepth(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        in_string = true;
        break;
      case '[':
      case '{':
        if (++depth > max_depth) {
          return InvalidArgument("JSON nests deeper than " + std::to_string(max_depth) + " levels");
        }
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return Status::Ok();
}

}  // namespace firebreak
