// Names from outside that end up in keys, paths, labels and logs (agent names, trace ids given
// by clients): the one rule for what such a name may hold.
#pragma once

#include <cstddef>
#include <string_view>

#include "common/status.h"

namespace firebreak {

// The longest name CheckName accepts unless told otherwise.
inline constexpr size_t kMaxNameBytes = 128;

// Returns OK when `name` is 1..max_bytes of letters, digits, '.', '_', ':' and '-', and holds
// no "..": so it never reads as a path, an escape or markup. kInvalidArgument naming `field`
// otherwise.
Status CheckName(std::string_view field, std::string_view name, size_t max_bytes = kMaxNameBytes);

}  // namespace firebreak
