#include "url_secret.h"

#include "secret_digest.h"

namespace phonebus {
namespace {

constexpr size_t kMinSecretChars = 16;

bool UrlSafe(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

}  // namespace

absl::Status CheckUrlSecret(std::string_view secret) {
  if (secret.size() < kMinSecretChars) {
    return absl::InvalidArgumentError("a URL secret needs at least " +
                                      std::to_string(kMinSecretChars) + " characters, this has " +
                                      std::to_string(secret.size()));
  }
  for (const char c : secret) {
    if (!UrlSafe(c)) {
      return absl::InvalidArgumentError(
          "a URL secret may hold only A-Z a-z 0-9 - . _ ~ (phones do not percent-encode)");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ParseUrlSecrets(std::string_view text) {
  std::vector<std::string> out;
  size_t line = 0;
  while (!text.empty()) {
    ++line;
    const auto nl = text.find('\n');
    std::string_view s = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) {
      s.remove_suffix(1);
    }
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    if (s.empty()) continue;
    if (auto st = CheckUrlSecret(s); !st.ok()) {
      return absl::InvalidArgumentError("line " + std::to_string(line) + ": " +
                                        std::string(st.message()));
    }
    out.emplace_back(s);
  }
  if (out.empty()) return absl::InvalidArgumentError("holds no secret");
  return out;
}

UrlSecrets::UrlSecrets(const std::vector<std::string>& secrets) {
  for (const auto& s : secrets) digests_.push_back(Sha256(s));
}

bool UrlSecrets::Matches(std::string_view presented) const {
  const auto digest = Sha256(presented);
  int matched = 0;
  // Every secret is compared, so timing does not tell which one matched.
  for (const auto& d : digests_) matched |= SameDigest(d, digest);
  return matched != 0;
}

}  // namespace phonebus
