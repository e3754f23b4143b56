#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <vector>

namespace firebreak {
namespace {

std::string ToHex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    std::abort();
  }
  return ToHex(digest, len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &len) == nullptr) {
    std::abort();  // only on allocation failure inside OpenSSL
  }
  return ToHex(mac, len);
}

std::string RandomHex(size_t n_bytes) {
  std::vector<unsigned char> buf(n_bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) std::abort();
  return ToHex(buf.data(), buf.size());
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

StatusOr<std::string> LoadOrCreateSecretFile(const std::string& path, const std::string& what,
                                             bool* created) {
  if (created) *created = false;
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    std::string key = RandomHex(32);
    mode_t old = umask(077);
    std::ofstream out(path, std::ios::trunc);
    umask(old);
    out << key << "\n";
    out.close();
    if (!out) return Unavailable("cannot write " + what + " " + path);
    ::chmod(path.c_str(), 0600);
    if (created) *created = true;
    return key;
  }
  if ((st.st_mode & 077) != 0) {
    return InvalidArgument(what + " " + path +
                           " may be read by others: chmod 600 it (and consider it exposed)");
  }
  std::ifstream in(path);
  std::string key;
  if (!in || !(in >> key)) return Unavailable("cannot read " + what + " " + path);
  if (key.size() < 32) return InvalidArgument(what + " " + path + " is too short");
  return key;
}

}  // namespace firebreak
