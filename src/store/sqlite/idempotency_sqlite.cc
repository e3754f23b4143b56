// SQLite implementation of IdempotencyRepo.
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {

StatusOr<std::optional<IdempotencyRecord>> SqliteIdempotencyRepo::Get(int64_t token_id,
                                                                      const std::string& key) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "SELECT request_hash, state, status, body, created_at FROM idempotency_keys "
      "WHERE token_id=? AND key=?"));
  q->Bind(token_id, key);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return std::optional<IdempotencyRecord>();
  IdempotencyRecord r;
  r.token_id = token_id;
  r.key = key;
  r.request_hash = q->Text(0);
  r.state = q->Text(1);
  r.status = static_cast<int>(q->Int(2));
  r.body = q->Text(3);
  r.created_at = q->Int(4);
  return std::optional<IdempotencyRecord>(std::move(r));
}

Status SqliteIdempotencyRepo::Put(const IdempotencyRecord& r) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT OR REPLACE INTO idempotency_keys "
      "(token_id, key, request_hash, state, status, body, created_at) VALUES (?,?,?,?,?,?,?)"));
  q->Bind(r.token_id, r.key, r.request_hash, r.state, static_cast<int64_t>(r.status), r.body,
          r.created_at);
  return q->Run();
}

Status SqliteIdempotencyRepo::Remove(int64_t token_id, const std::string& key) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("DELETE FROM idempotency_keys WHERE token_id=? AND key=?"));
  q->Bind(token_id, key);
  return q->Run();
}

StatusOr<int64_t> SqliteIdempotencyRepo::Sweep(TimeMs cutoff, int limit) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "DELETE FROM idempotency_keys WHERE (token_id, key) IN (SELECT token_id, key FROM "
      "idempotency_keys WHERE created_at < ? ORDER BY created_at LIMIT ?)"));
  q->Bind(cutoff, limit);
  FB_RETURN_IF_ERROR(q->Run());
  return static_cast<int64_t>(sqlite3_changes(conn_.raw()));
}

}  // namespace firebreak::sqlite
