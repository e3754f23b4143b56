// Factory of the embedded SQLite store.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace firebreak::sqlite {

// Opens (creating if needed) the SQLite file at `path` and applies pending migrations.
StatusOr<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, const StoreOptions& options);

}  // namespace firebreak::sqlite
