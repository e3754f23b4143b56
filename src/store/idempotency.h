// Idempotency keys as stored: for each (token, key) the hash of the first request and, once it
// finished, the answer it got, so a retry is answered the same without writing again
// (README.md, "Retries").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/status.h"

namespace firebreak {

struct IdempotencyRecord {
  int64_t token_id = 0;      // the principal: one token never sees another's answers
  std::string key;           // the client's Idempotency-Key
  std::string request_hash;  // SHA-256 of method, path and body of the first request
  std::string state = "pending";  // pending (running), applied (its write committed, no answer
                                  // stored yet), done (answer stored)
  int status = 0;                 // the answer, once done
  std::string body;
  TimeMs created_at = 0;
};

class IdempotencyRepo {
 public:
  virtual ~IdempotencyRepo() = default;
  // Returns the record of (token_id, key), or nullopt.
  virtual StatusOr<std::optional<IdempotencyRecord>> Get(int64_t token_id, const std::string& key) = 0;
  // Inserts or replaces the record of (r.token_id, r.key).
  virtual Status Put(const IdempotencyRecord& r) = 0;
  // Deletes the record of (token_id, key), if any.
  virtual Status Remove(int64_t token_id, const std::string& key) = 0;
  // Deletes up to `limit` records created before `cutoff`; returns how many.
  virtual StatusOr<int64_t> Sweep(TimeMs cutoff, int limit) = 0;
};

}  // namespace firebreak
