// API tokens as stored (hashes only, never secrets).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

struct TokenRecord {
  int64_t id = 0;
  std::string name;
  std::string role;
  std::string agent;        // set for role "agent" only
  std::string secret_hash;  // SHA-256 of the secret; the secret itself is never stored
  std::string prefix;       // first characters of the secret, to recognise it in listings
  std::string created_by;
  TimeMs created_at = 0;
  std::optional<TimeMs> revoked_at;
};

class TokenRepo {
 public:
  virtual ~TokenRepo() = default;
  // Inserts a token and returns its id; kAlreadyExists when an active token has the name.
  virtual StatusOr<int64_t> Insert(const TokenRecord& r) = 0;
  virtual StatusOr<TokenRecord> GetBySecretHash(const std::string& secret_hash) = 0;
  // Returns the active token with this name.
  virtual StatusOr<TokenRecord> GetByName(const std::string& name) = 0;
  virtual StatusOr<std::vector<TokenRecord>> List() = 0;
  // Marks an active token revoked; kNotFound when there is no such active token.
  virtual Status Revoke(int64_t id, TimeMs at) = 0;
  virtual StatusOr<int64_t> Count() = 0;
};

}  // namespace firebreak
