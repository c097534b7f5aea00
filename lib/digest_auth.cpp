#include "digest_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>
#include <type_traits>

#include "string_util.h"

namespace phonebus::http_auth {
namespace {

using strings::Append;
using strings::Cat;
using strings::ToLower;

bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool IsXdigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ToLower(a) == ToLower(b);
}

std::string Hex(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0x0f]);
  }
  return out;
}

std::string Base64Encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// Strict: padded, a multiple of 4 characters, nothing but the alphabet.
std::optional<std::string> Base64Decode(std::string_view in) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > kMaxHeaderValueBytes) return std::nullopt;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    const bool pad_ok = c == '=' && i + 2 >= in.size() && (i + 1 == in.size() || in[i + 1] == '=');
    if (!(IsAlnum(c) || c == '+' || c == '/' || pad_ok)) return std::nullopt;
  }
  std::string out(in.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  size_t padding = 0;
  if (in.back() == '=') ++padding;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++padding;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9110 section 5.6.2.
bool IsTchar(char c) {
  return IsAlnum(c) ||
         (c != '\0' && std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos);
}

// RFC 9110 section 11.2.
bool IsToken68Char(char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// A cursor over one header value. Every loop advances or fails, so no input
// can make it spin.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : s_(s) {}

  bool AtEnd() const { return i_ >= s_.size(); }
  char Peek() const { return s_[i_]; }
  size_t Pos() const { return i_; }
  void Seek(size_t pos) { i_ = pos; }
  void Advance() { ++i_; }

  void SkipOws() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t')) ++i_;
  }
  // Empty list elements ("a, , b") are allowed by RFC 9110 section 5.6.1.
  void SkipOwsAndCommas() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == ',')) ++i_;
  }

  std::string_view Token() {
    const size_t start = i_;
    while (!AtEnd() && IsTchar(Peek())) ++i_;
    return s_.substr(start, i_ - start);
  }

  // A token68 ends in '=' padding and is followed by the end or a comma; a
  // parameter "name=value" is not. Consumes it only if it is one.
  std::optional<std::string_view> Token68() {
    size_t j = i_;
    while (j < s_.size() && IsToken68Char(s_[j])) ++j;
    if (j == i_) return std::nullopt;
    while (j < s_.size() && s_[j] == '=') ++j;
    size_t k = j;
    while (k < s_.size() && (s_[k] == ' ' || s_[k] == '\t')) ++k;
    if (k < s_.size() && s_[k] != ',') return std::nullopt;
    const auto token = s_.substr(i_, j - i_);
    i_ = j;
    return token;
  }

  // At the opening quote. Backslash escapes any following octet (quoted-pair).
  absl::StatusOr<std::string> QuotedString() {
    std::string out;
    ++i_;
    while (true) {
      if (AtEnd()) return Error("unterminated quoted string");
      const char c = Peek();
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c == '\\') {
        if (i_ + 1 >= s_.size()) return Error("unterminated quoted string");
        out.push_back(s_[i_ + 1]);
        i_ += 2;
        continue;
      }
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) return Error("control character in quoted string");
      out.push_back(c);
      ++i_;
    }
  }

  absl::Status Error(std::string_view what) const {
    return absl::InvalidArgumentError(Cat("malformed auth header: ", what, " at offset ", i_));
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
};

// Reads "name = value" pairs after a scheme until the value ends or the next
// challenge starts (a token after a comma that is not followed by '=').
absl::Status ReadParams(Cursor& in, Params& params) {
  while (true) {
    const auto name = in.Token();
    if (name.empty()) return in.Error("expected a parameter name");
    in.SkipOws();
    if (in.AtEnd() || in.Peek() != '=') return in.Error("expected '=' after parameter name");
    in.Advance();
    in.SkipOws();
    if (in.AtEnd()) return in.Error("missing parameter value");
    std::string value;
    if (in.Peek() == '"') {
      auto quoted = in.QuotedString();
      if (!quoted.ok()) return quoted.status();
      value = *std::move(quoted);
    } else {
      value = std::string(in.Token());
      if (value.empty()) return in.Error("missing parameter value");
    }
    // Duplicates are invalid (RFC 7616 3.3); keeping the first is what
    // browsers do and never lets a later copy override the realm.
    params.emplace(ToLower(name), std::move(value));
    in.SkipOws();
    if (in.AtEnd()) return absl::OkStatus();
    if (in.Peek() != ',') return in.Error("expected ',' between parameters");
    in.SkipOwsAndCommas();
    if (in.AtEnd()) return absl::OkStatus();
    const size_t next = in.Pos();
    if (in.Token().empty()) return in.Error("expected a parameter or an auth scheme");
    in.SkipOws();
    const bool is_param = !in.AtEnd() && in.Peek() == '=';
    in.Seek(next);
    if (!is_param) return absl::OkStatus();  // the next challenge's scheme
  }
}

// Fetched once: with EVP_md5() and its kin OpenSSL 3 looks the algorithm up
// in its provider store (under a lock) for every hash, and a Digest header
// takes three. Kept for the life of the process.
const EVP_MD* Fetched(const char* name, const EVP_MD* legacy) {
  const EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  return md != nullptr ? md : legacy;  // not provided: EVP_Digest fails as before
}

const EVP_MD* Md(Algorithm algorithm) {
  static const EVP_MD* const md5 = Fetched("MD5", EVP_md5());
  static const EVP_MD* const sha256 = Fetched("SHA2-256", EVP_sha256());
  static const EVP_MD* const sha512_256 = Fetched("SHA2-512/256", EVP_sha512_256());
  switch (algorithm) {
    case Algorithm::kMd5:
    case Algorithm::kMd5Sess:
      return md5;
    case Algorithm::kSha256:
    case Algorithm::kSha256Sess:
      return sha256;
    case Algorithm::kSha512_256:
    case Algorithm::kSha512_256Sess:
      return sha512_256;
  }
  return md5;
}

bool IsSess(Algorithm algorithm) {
  return algorithm == Algorithm::kMd5Sess || algorithm == Algorithm::kSha256Sess ||
         algorithm == Algorithm::kSha512_256Sess;
}

// Lower-case hex digest, the form every Digest field uses.
std::string HexHash(Algorithm algorithm, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &len, Md(algorithm), nullptr) != 1) {
    return {};  // only on allocation failure; an empty hash matches nothing
  }
  return Hex(out.data(), len);
}

enum class Qop { kNone, kAuth, kAuthInt };

struct DigestInputs {
  Algorithm algorithm;
  std::string_view username, realm, password, nonce, cnonce, nc, method, uri;
  Qop qop;
};

// RFC 7616 section 3.4.1 (RFC 2617 section 3.2.2.1 when qop is absent).
std::string ComputeResponse(const DigestInputs& in) {
  std::string ha1 = HexHash(in.algorithm, Cat(in.username, ":", in.realm, ":", in.password));
  if (IsSess(in.algorithm)) {
    ha1 = HexHash(in.algorithm, Cat(ha1, ":", in.nonce, ":", in.cnonce));
  }
  // auth-int covers the body; GET requests have none.
  const std::string a2 = in.qop == Qop::kAuthInt
                             ? Cat(in.method, ":", in.uri, ":", HexHash(in.algorithm, ""))
                             : Cat(in.method, ":", in.uri);
  const std::string ha2 = HexHash(in.algorithm, a2);
  if (in.qop == Qop::kNone) return HexHash(in.algorithm, Cat(ha1, ":", in.nonce, ":", ha2));
  const std::string_view qop = in.qop == Qop::kAuth ? "auth" : "auth-int";
  return HexHash(in.algorithm,
                 Cat(ha1, ":", in.nonce, ":", in.nc, ":", in.cnonce, ":", qop, ":", ha2));
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

// Only octets that a quoted-string can carry (no CR/LF that would split the header).
bool Quotable(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string RandomHex() {
  std::array<unsigned char, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    std::random_device rd;  // OpenSSL's generator failed to seed: still never repeat a constant
    for (auto& b : bytes) b = static_cast<unsigned char>(rd());
  }
  return Hex(bytes.data(), bytes.size());
}

const std::string* Find(const Params& params, std::string_view name) {
  const auto it = params.find(name);
  return it == params.end() ? nullptr : &it->second;
}

}  // namespace

absl::StatusOr<std::vector<Challenge>> ParseChallenges(std::string_view value) {
  if (value.size() > kMaxHeaderValueBytes) {
    return absl::InvalidArgumentError(
        Cat("auth header of ", value.size(), " bytes is over the limit"));
  }
  std::vector<Challenge> challenges;
  Cursor in(value);
  while (true) {
    in.SkipOwsAndCommas();
    if (in.AtEnd()) break;
    const auto scheme = in.Token();
    if (scheme.empty()) return in.Error("expected an auth scheme");
    Challenge challenge;
    challenge.scheme = ToLower(scheme);
    const size_t after_scheme = in.Pos();
    in.SkipOws();
    if (in.AtEnd() || in.Peek() == ',') {
      challenges.push_back(std::move(challenge));
      continue;
    }
    if (in.Pos() == after_scheme) return in.Error("expected a space after the auth scheme");
    if (auto token68 = in.Token68()) {
      challenge.token68 = std::string(*token68);
    } else if (auto status = ReadParams(in, challenge.params); !status.ok()) {
      return status;
    }
    challenges.push_back(std::move(challenge));
  }
  if (challenges.empty()) return absl::InvalidArgumentError("empty auth header");
  return challenges;
}

std::string_view AlgorithmName(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::kMd5:
      return "MD5";
    case Algorithm::kMd5Sess:
      return "MD5-sess";
    case Algorithm::kSha256:
      return "SHA-256";
    case Algorithm::kSha256Sess:
      return "SHA-256-sess";
    case Algorithm::kSha512_256:
      return "SHA-512-256";
    case Algorithm::kSha512_256Sess:
      return "SHA-512-256-sess";
  }
  return "MD5";
}

std::optional<Algorithm> ParseAlgorithm(std::string_view name) {
  for (auto a : {Algorithm::kMd5, Algorithm::kMd5Sess, Algorithm::kSha256, Algorithm::kSha256Sess,
                 Algorithm::kSha512_256, Algorithm::kSha512_256Sess}) {
    if (EqualsIgnoreCase(name, AlgorithmName(a))) return a;
  }
  return std::nullopt;
}

absl::StatusOr<DigestChallenge> ToDigestChallenge(const Challenge& challenge) {
  if (challenge.scheme != "digest") {
    return absl::InvalidArgumentError(Cat("not a digest challenge: ", challenge.scheme));
  }
  DigestChallenge out;
  const auto* realm = Find(challenge.params, "realm");
  const auto* nonce = Find(challenge.params, "nonce");
  if (realm == nullptr || nonce == nullptr) {
    return absl::InvalidArgumentError("digest challenge without realm or nonce");
  }
  out.realm = *realm;
  out.nonce = *nonce;
  if (const auto* opaque = Find(challenge.params, "opaque")) out.opaque = *opaque;
  if (const auto* algorithm = Find(challenge.params, "algorithm")) {
    const auto parsed = ParseAlgorithm(*algorithm);
    if (!parsed) {
      return absl::UnimplementedError(Cat("digest algorithm not supported: ", *algorithm));
    }
    out.algorithm = *parsed;
  }
  out.qop_auth = false;
  if (const auto* qop = Find(challenge.params, "qop")) {
    std::string_view rest = *qop;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      const auto option = TrimOws(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      if (EqualsIgnoreCase(option, "auth")) out.qop_auth = true;
      if (EqualsIgnoreCase(option, "auth-int")) out.qop_auth_int = true;
    }
    if (!out.qop_auth && !out.qop_auth_int) {
      return absl::UnimplementedError(Cat("digest qop not supported: ", *qop));
    }
  } else if (IsSess(out.algorithm)) {
    // A -sess A1 needs a cnonce, which the qop-less form does not send.
    return absl::UnimplementedError("digest -sess algorithm without qop");
  }
  if (const auto* stale = Find(challenge.params, "stale")) {
    out.stale = EqualsIgnoreCase(*stale, "true");
  }
  if (const auto* userhash = Find(challenge.params, "userhash")) {
    out.userhash = EqualsIgnoreCase(*userhash, "true");
  }
  return out;
}

absl::StatusOr<std::string> DigestAuthorization(const DigestChallenge& challenge,
                                                std::string_view method, std::string_view uri,
                                                std::string_view username,
                                                std::string_view password, uint32_t nc,
                                                std::string_view cnonce) {
  const Qop qop = challenge.qop_auth       ? Qop::kAuth
                  : challenge.qop_auth_int ? Qop::kAuthInt
                                           : Qop::kNone;
  if (qop != Qop::kNone || IsSess(challenge.algorithm)) {
    if (cnonce.empty() || !Quotable(cnonce)) return absl::InvalidArgumentError("bad cnonce");
  }
  if (!Quotable(username) || !Quotable(uri) || !Quotable(challenge.realm) ||
      !Quotable(challenge.nonce) || (challenge.opaque && !Quotable(*challenge.opaque))) {
    return absl::InvalidArgumentError("control character in a digest field");
  }
  char nc_hex[9];
  std::snprintf(nc_hex, sizeof(nc_hex), "%08x", static_cast<unsigned>(nc));
  const std::string response =
      ComputeResponse({challenge.algorithm, username, challenge.realm, password, challenge.nonce,
                       cnonce, nc_hex, method, uri, qop});
  const std::string user = challenge.userhash
                               ? HexHash(challenge.algorithm, Cat(username, ":", challenge.realm))
                               : std::string(username);
  std::string out =
      Cat("Digest username=", Quote(user), ", realm=", Quote(challenge.realm),
          ", nonce=", Quote(challenge.nonce), ", uri=", Quote(uri),
          ", algorithm=", AlgorithmName(challenge.algorithm), ", response=", Quote(response));
  if (qop != Qop::kNone) {
    Append(out, ", qop=", qop == Qop::kAuth ? "auth" : "auth-int", ", nc=", nc_hex,
           ", cnonce=", Quote(cnonce));
  }
  if (challenge.opaque) Append(out, ", opaque=", Quote(*challenge.opaque));
  if (challenge.userhash) Append(out, ", userhash=true");
  return out;
}

std::string BasicAuthorization(std::string_view username, std::string_view password) {
  return Cat("Basic ", Base64Encode(Cat(username, ":", password)));
}

std::string MakeCnonce() { return RandomHex(); }
std::string MakeNonce() { return RandomHex(); }

std::string MakeDigestChallenge(const DigestChallenge& challenge) {
  std::string out = Cat("Digest realm=", Quote(challenge.realm));
  if (challenge.qop_auth && challenge.qop_auth_int) {
    Append(out, ", qop=\"auth, auth-int\"");
  } else if (challenge.qop_auth) {
    Append(out, ", qop=\"auth\"");
  } else if (challenge.qop_auth_int) {
    Append(out, ", qop=\"auth-int\"");
  }
  Append(out, ", algorithm=", AlgorithmName(challenge.algorithm),
         ", nonce=", Quote(challenge.nonce));
  if (challenge.opaque) Append(out, ", opaque=", Quote(*challenge.opaque));
  if (challenge.stale) Append(out, ", stale=true");
  if (challenge.userhash) Append(out, ", userhash=true");
  return out;
}

std::string MakeBasicChallenge(std::string_view realm) {
  return Cat("Basic realm=", Quote(realm), ", charset=\"UTF-8\"");
}

absl::StatusOr<Authorization> ParseAuthorization(std::string_view value) {
  auto parsed = ParseChallenges(value);
  if (!parsed.ok()) return parsed.status();
  if (parsed->size() != 1) {
    return absl::InvalidArgumentError("Authorization carries more than one credential");
  }
  Challenge& credential = parsed->front();
  Authorization out;
  out.scheme = credential.scheme;
  if (out.scheme == "basic") {
    const auto decoded_or = Base64Decode(credential.token68);
    if (!decoded_or) return absl::InvalidArgumentError("Basic credentials are not base64");
    const std::string& decoded = *decoded_or;
    const auto colon = decoded.find(':');
    if (colon == std::string::npos) return absl::InvalidArgumentError("Basic credentials lack ':'");
    out.username = decoded.substr(0, colon);
    out.password = decoded.substr(colon + 1);
  } else if (out.scheme == "digest") {
    if (credential.params.empty()) return absl::InvalidArgumentError("Digest without parameters");
    out.params = std::move(credential.params);
    if (const auto* user = Find(out.params, "username")) out.username = *user;
  } else {
    out.params = std::move(credential.params);
  }
  return out;
}

absl::Status VerifyDigest(const Params& params, std::string_view method, std::string_view username,
                          std::string_view password) {
  const auto* user = Find(params, "username");
  const auto* realm = Find(params, "realm");
  const auto* nonce = Find(params, "nonce");
  const auto* uri = Find(params, "uri");
  const auto* response = Find(params, "response");
  if (!user || !realm || !nonce || !uri || !response) {
    return absl::InvalidArgumentError(
        "digest answer lacks username, realm, nonce, uri or response");
  }
  Algorithm algorithm = Algorithm::kMd5;
  if (const auto* name = Find(params, "algorithm")) {
    const auto parsed = ParseAlgorithm(*name);
    if (!parsed) return absl::InvalidArgumentError(Cat("unknown algorithm: ", *name));
    algorithm = *parsed;
  }
  Qop qop = Qop::kNone;
  std::string_view nc, cnonce;
  if (const auto* q = Find(params, "qop")) {
    if (*q == "auth") {
      qop = Qop::kAuth;
    } else if (*q == "auth-int") {
      qop = Qop::kAuthInt;
    } else {
      return absl::InvalidArgumentError(Cat("unknown qop: ", *q));
    }
    const auto* nc_param = Find(params, "nc");
    const auto* cnonce_param = Find(params, "cnonce");
    if (!nc_param || !cnonce_param || nc_param->empty() || nc_param->size() > 8 ||
        !std::all_of(nc_param->begin(), nc_param->end(), [](char c) { return IsXdigit(c); })) {
      return absl::InvalidArgumentError("digest answer with qop lacks a valid nc or cnonce");
    }
    nc = *nc_param;
    cnonce = *cnonce_param;
  } else if (IsSess(algorithm)) {
    return absl::InvalidArgumentError("digest -sess answer without qop");
  }
  bool userhash = false;
  if (const auto* h = Find(params, "userhash")) userhash = EqualsIgnoreCase(*h, "true");
  const std::string expected_user =
      userhash ? HexHash(algorithm, Cat(username, ":", *realm)) : std::string(username);
  const std::string expected = ComputeResponse(
      {algorithm, username, *realm, password, *nonce, cnonce, nc, method, *uri, qop});
  // Evaluate both comparisons so timing does not tell which one failed.
  const bool user_ok = ConstantTimeEquals(userhash ? ToLower(*user) : *user, expected_user);
  const bool response_ok = ConstantTimeEquals(ToLower(*response), expected);
  if (!(user_ok & response_ok)) return absl::UnauthenticatedError("digest answer does not match");
  return absl::OkStatus();
}

}  // namespace phonebus::http_auth
