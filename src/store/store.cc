#include "store/store.h"

#include "store/sqlite/sqlite_store.h"

namespace firebreak {
namespace {

thread_local IdempotentWriteScope* current_scope = nullptr;

}  // namespace

IdempotentWriteScope::IdempotentWriteScope(IdempotencyRecord applied)
    : record_(std::move(applied)), outer_(current_scope) {
  record_.state = "applied";
  current_scope = this;
}

IdempotentWriteScope::~IdempotentWriteScope() { current_scope = outer_; }

Status IdempotentWriteScope::MarkInTxn(Txn& txn) {
  IdempotentWriteScope* scope = current_scope;
  if (!scope || scope->applied_) return Status::Ok();
  FB_RETURN_IF_ERROR(txn.idempotency().Put(scope->record_));
  scope->marked_ = true;
  return Status::Ok();
}

void IdempotentWriteScope::Committed() {
  IdempotentWriteScope* scope = current_scope;
  if (!scope || !scope->marked_) return;
  scope->applied_ = true;
  scope->marked_ = false;
}

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
