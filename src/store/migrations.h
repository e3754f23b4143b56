// Versioned schema migrations of the SQLite store, applied in order at start.
// Migration N is the N-th entry; entries are never edited once released, only appended.
#pragma once

#include <string>
#include <vector>

namespace firebreak {

// Returns the SQLite migrations, oldest first.
const std::vector<std::string>& SqliteMigrations();

}  // namespace firebreak
