// Hashing and randomness, backed by OpenSSL.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace firebreak
