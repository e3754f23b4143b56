// Hashing and randomness, backed by OpenSSL.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace firebreak {

// Returns the lowercase hex SHA-256 digest of `data`.
std::string Sha256Hex(std::string_view data);

// Returns the lowercase hex HMAC-SHA256 of `data` under `key`.
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// Returns `n_bytes` bytes from the operating system's CSPRNG, hex-encoded (2*n_bytes chars).
// Aborts the process if the CSPRNG fails: no token may ever be made from weak randomness.
std::string RandomHex(size_t n_bytes);

// Compares two strings in time independent of where they first differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Returns the hex secret kept in the file `path`, creating it (32 random bytes as hex, mode
// 0600 from the start) when the file does not exist; `*created` (when given) says whether it
// did. kInvalidArgument when others may read the file or it holds fewer than 32 characters,
// kUnavailable when it cannot be read or written; `what` names the secret in those messages.
// For keys that must live outside the store they protect (audit anchors, erasure digests).
StatusOr<std::string> LoadOrCreateSecretFile(const std::string& path, const std::string& what,
                                             bool* created = nullptr);

}  // namespace firebreak
