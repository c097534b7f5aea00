// The URL secret that authenticates Action URLs: phones cannot send headers,
// so the administrator puts a per-site secret into every Action URL's path
// ("http://adapter:8080/<secret>/yealink/incoming_call?..."). The path, not
// the query, because every query parameter is published as received.
//
// Compared in constant time against digests, so neither the bytes nor the
// length of a secret can be learnt from timing.
#pragma once

#include <absl/status/status.h>
#include <absl/status/statusor.h>

#include <string>
#include <string_view>
#include <vector>

#include "secret_digest.h"

namespace phonebus {

// 16 or more characters from A-Z a-z 0-9 - . _ ~ (URL-safe without encoding,
// as phones do not encode what the administrator typed). The message never
// quotes the secret.
absl::Status CheckUrlSecret(std::string_view secret);

// A secret file's lines: each non-empty line is a secret that is accepted, so
// a site can rotate (add the new one, re-provision the phones, drop the old).
absl::StatusOr<std::vector<std::string>> ParseUrlSecrets(std::string_view text);

class UrlSecrets {
 public:
  explicit UrlSecrets(const std::vector<std::string>& secrets);
  bool empty() const { return digests_.empty(); }
  // True when `presented` equals one of the secrets; time independent of
  // where (or whether) it differs.
  bool Matches(std::string_view presented) const;

 private:
  std::vector<SecretDigest> digests_;
};

}  // namespace phonebus
