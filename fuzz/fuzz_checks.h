// Checks shared by the fuzz targets: what every parser of outside input must guarantee
// beyond not crashing. A failed check aborts, so libFuzzer keeps the input as a crash.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>

#include "common/text.h"

namespace firebreak::fuzz {

// Aborts with `what` when `ok` is false.
inline void Require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz check failed: %s\n", what);
    std::abort();
  }
}

// Aborts unless `text` is valid UTF-8: text a parser hands on is stored and dumped as JSON
// later, where invalid UTF-8 throws.
inline void RequireUtf8(std::string_view text, const char* what) {
  Require(IsValidUtf8(text), what);
}

// Dumps `j` the strict way (as the store and the audit log do) and aborts when it throws.
inline void RequireStrictDump(const nlohmann::json& j, const char* what) {
  try {
    (void)j.dump();
  } catch (const nlohmann::json::exception&) {
    Require(false, what);
  }
}

}  // namespace firebreak::fuzz
