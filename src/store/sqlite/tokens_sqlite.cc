// SQLite implementation of TokenRepo (API tokens).
#include "store/sqlite/repos.h"

namespace firebreak::sqlite {
namespace {

constexpr char kTokenColumns[] =
    "id, name, role, agent, secret_hash, prefix, created_by, created_at, revoked_at";

TokenRecord ReadToken(const Query& q) {
  TokenRecord t;
  t.id = q.Int(0);
  t.name = q.Text(1);
  t.role = q.Text(2);
  t.agent = q.Text(3);
  t.secret_hash = q.Text(4);
  t.prefix = q.Text(5);
  t.created_by = q.Text(6);
  t.created_at = q.Int(7);
  t.revoked_at = q.OptInt(8);
  return t;
}

}  // namespace

StatusOr<int64_t> SqliteTokenRepo::Insert(const TokenRecord& t) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "INSERT INTO tokens (name, role, agent, secret_hash, prefix, created_by, created_at, "
      "revoked_at) VALUES (?,?,?,?,?,?,?,?)"));
  q->Bind(t.name, t.role, t.agent, t.secret_hash, t.prefix, t.created_by, t.created_at,
          t.revoked_at);
  Status s = q->Run();
  if (s.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("an active token named '" + t.name + "' already exists");
  }
  FB_RETURN_IF_ERROR(s);
  return conn_.LastInsertId();
}

StatusOr<TokenRecord> SqliteTokenRepo::GetBySecretHash(const std::string& secret_hash) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kTokenColumns +
                                            " FROM tokens WHERE secret_hash=?"));
  q->Bind(secret_hash);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("unknown token");
  return ReadToken(*q);
}

StatusOr<TokenRecord> SqliteTokenRepo::GetByName(const std::string& name) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      std::string("SELECT ") + kTokenColumns +
      " FROM tokens WHERE name=? AND revoked_at IS NULL"));
  q->Bind(name);
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  if (!row) return NotFound("no active token named '" + name + "'");
  return ReadToken(*q);
}

StatusOr<std::vector<TokenRecord>> SqliteTokenRepo::List() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(std::string("SELECT ") + kTokenColumns +
                                            " FROM tokens ORDER BY id"));
  return CollectRows<TokenRecord>(*q, ReadToken);
}

Status SqliteTokenRepo::Revoke(int64_t id, TimeMs at) {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare(
      "UPDATE tokens SET revoked_at=? WHERE id=? AND revoked_at IS NULL"));
  q->Bind(at, id);
  FB_RETURN_IF_ERROR(q->Run());
  if (sqlite3_changes(conn_.raw()) == 0) return NotFound("no active token with id " + std::to_string(id));
  return Status::Ok();
}

StatusOr<int64_t> SqliteTokenRepo::Count() {
  FB_ASSIGN_OR_RETURN(auto q, conn_.Prepare("SELECT count(*) FROM tokens"));
  FB_ASSIGN_OR_RETURN(bool row, q->Step());
  return row ? q->Int(0) : 0;
}

}  // namespace firebreak::sqlite
