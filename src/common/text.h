// Text from outside: the one place that cuts, cleans and checks UTF-8, and bounds JSON nesting.
//
// Every component that shortens text for storage or display calls TruncateUtf8, so a cut never
// falls inside a multi-byte sequence (a broken sequence makes nlohmann-json's dump throw later).
// Text that arrives from clients is either checked with IsValidUtf8 (and refused) or passed
// through CleanUtf8 before it is stored. The UTF-8 rules come from utfcpp (a Debian package).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/status.h"

namespace firebreak {

// Returns true when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points
// above U+10FFFF).
bool IsValidUtf8(std::string_view text);

// Returns `text` with every invalid UTF-8 sequence replaced by U+FFFD.
std::string CleanUtf8(std::string_view text);

// Returns `text` if it fits in `max_bytes`; otherwise its longest prefix that ends on a
// character boundary and leaves room for `marker` (for example "..."), followed by `marker`.
// The result never exceeds `max_bytes` (when `marker` alone is longer, it is left out).
// Invalid input is cleaned first, so the result is always valid UTF-8.
std::string TruncateUtf8(std::string_view text, size_t max_bytes, std::string_view marker = "");

// Returns OK when `text` from a person fits a field: valid UTF-8 (else kInvalidArgument), not
// empty when `required` (else kInvalidArgument), at most `max_bytes` (else kTooLarge). Each
// message names the field.
Status CheckText(std::string_view field, std::string_view text, size_t max_bytes, bool required);

// Returns OK when `value` is a name (of an agent, version, namespace, ...): 1..max_bytes
// characters, each a letter, a digit or one of `punctuation`, the first not '.' and no ".."
// anywhere (so neither a path step nor a hidden-file name passes). kInvalidArgument names the field and the rule otherwise.
Status CheckName(std::string_view field, std::string_view value, size_t max_bytes,
                 std::string_view punctuation = "-_.");

// Returns `text` made into a name CheckName accepts with the same `punctuation`: every other
// byte becomes '_' (so does a '.' that starts the name or follows another '.'), cut to
// `max_bytes`; "" stays "". For names that arrive inside telemetry, which are kept, not refused.
std::string ToName(std::string_view text, size_t max_bytes, std::string_view punctuation = "-_.");

// Returns OK when no array or object in the JSON `text` nests deeper than `max_depth`;
// kInvalidArgument otherwise. Checks the bytes only (strings and escapes are skipped), in
// linear time and constant memory, so it runs before a recursive parser sees the text.
Status CheckJsonDepth(std::string_view text, int max_depth);

// The nesting depth every JSON document from outside is held to.
inline constexpr int kMaxJsonDepth = 64;

}  // namespace firebreak
