#include "store/store.h"

#include "store/sqlite/sqlite_store.h"

namespace firebreak {

StatusOr<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  const std::string& url = options.url;
  if (url.rfind("sqlite:", 0) == 0) {
    std::string path = url.substr(7);
    if (path.empty()) return InvalidArgument("store url 'sqlite:' needs a file path");
    return sqlite::OpenSqliteStore(path, options);
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return InvalidArgument("the PostgreSQL store is not available in this build yet; use sqlite:PATH");
  }
  return InvalidArgument("unknown store url '" + url + "' (expected sqlite:PATH)");
}

}  // namespace firebreak
