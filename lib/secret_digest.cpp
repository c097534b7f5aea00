#include "secret_digest.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

namespace phonebus {

SecretDigest Sha256(std::string_view text) {
  SecretDigest d;
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

bool SameDigest(const SecretDigest& a, const SecretDigest& b) {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace phonebus
