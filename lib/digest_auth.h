// HTTP authentication as desk phones speak it: Basic and Digest (RFC 7617,
// RFC 7616, and the RFC 2617 forms older firmware still uses), pure and
// without I/O so both sides are unit-testable.
//
// Client side (the command service talking to phones): parse WWW-Authenticate,
// compute the Authorization value. Server side (the phone simulator in
// tests/phonesim): make a challenge, parse Authorization, verify a Digest
// answer. Phones lock their web login after a few failures, so the parsers
// refuse anything odd with an error instead of guessing.
//
//   auto challenges = ParseChallenges(response_header);  // client
//   auto digest = ToDigestChallenge((*challenges)[0]);
//   auto value = DigestAuthorization(*digest, "GET", "/servlet?key=OK", user, pass, 1,
//   MakeCnonce());
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace phonebus::http_auth {

// Auth-param names lower-cased (they are case-insensitive on the wire);
// values unquoted and unescaped.
using Params = std::map<std::string, std::string, std::less<>>;

// One challenge of a WWW-Authenticate value, or the one credential of an
// Authorization value.
struct Challenge {
  std::string scheme;   // lower-cased: "digest", "basic", ...
  std::string token68;  // the token68 form ("Basic dXNlcjpw"), empty when params are used
  Params params;
};

// Longest header value the parsers accept; phones send a few hundred bytes.
inline constexpr size_t kMaxHeaderValueBytes = size_t{16} * 1024;

// Parses a WWW-Authenticate value: one or several comma-separated challenges
// (RFC 7235 section 4.1). A header that appears several times is parsed one
// field at a time. Malformed input (unterminated quote, missing value, stray
// characters, over kMaxHeaderValueBytes) is an InvalidArgument.
absl::StatusOr<std::vector<Challenge>> ParseChallenges(std::string_view value);

enum class Algorithm { kMd5, kMd5Sess, kSha256, kSha256Sess, kSha512_256, kSha512_256Sess };

// "MD5", "SHA-256-sess", ... as written on the wire.
std::string_view AlgorithmName(Algorithm algorithm);
// Case-insensitive; nullopt for names we do not implement.
std::optional<Algorithm> ParseAlgorithm(std::string_view name);

// A Digest challenge in typed form: what a client answers and what a server sends.
struct DigestChallenge {
  std::string realm;
  std::string nonce;
  std::optional<std::string> opaque;  // echoed back verbatim when present
  Algorithm algorithm = Algorithm::kMd5;
  // Offered qop values. Neither set: the legacy RFC 2069 form without nc/cnonce.
  bool qop_auth = true;
  bool qop_auth_int = false;
  bool stale = false;     // the nonce expired but the credentials were right
  bool userhash = false;  // RFC 7616: send H(user:realm) instead of the user name
};

// Types a "digest" challenge. Missing realm or nonce is an InvalidArgument; an
// algorithm or qop we cannot answer is Unimplemented.
absl::StatusOr<DigestChallenge> ToDigestChallenge(const Challenge& challenge);

// The Authorization value answering `challenge` for one request. `nc` is the
// count of requests sent with this nonce (first is 1), written as 8 hex
// digits; `cnonce` is the caller's (MakeCnonce) so tests are repeatable.
// Prefers qop=auth; uses auth-int (empty body: the client only sends GET) when
// that is all the server offers.
absl::StatusOr<std::string> DigestAuthorization(const DigestChallenge& challenge,
                                                std::string_view method, std::string_view uri,
                                                std::string_view username,
                                                std::string_view password, uint32_t nc,
                                                std::string_view cnonce);

// "Basic " + base64(user ":" pass).
std::string BasicAuthorization(std::string_view username, std::string_view password);

// 16 random bytes from OpenSSL, hex-encoded: a client nonce or a server nonce.
std::string MakeCnonce();
std::string MakeNonce();

// --- Server side ------------------------------------------------------------

// The WWW-Authenticate value for `challenge` (realm, nonce, opaque, algorithm,
// qop, stale, userhash).
std::string MakeDigestChallenge(const DigestChallenge& challenge);
// `Basic realm="..."`.
std::string MakeBasicChallenge(std::string_view realm);

struct Authorization {
  std::string scheme;    // lower-cased: "basic", "digest", or another the caller may refuse
  std::string username;  // Basic: decoded user; Digest: the username parameter
  std::string password;  // Basic only
  Params params;         // Digest: every parameter (username, realm, nonce, uri, response, ...)
};

// Parses an Authorization value. Basic must carry valid base64 of "user:pass";
// Digest must carry its parameters; anything malformed is an InvalidArgument.
absl::StatusOr<Authorization> ParseAuthorization(std::string_view value);

// Recomputes the Digest response in `params` (from ParseAuthorization) for
// `method` and the expected user and password, and compares in constant time.
// OK when it matches; Unauthenticated when user or response differ;
// InvalidArgument when parameters are missing or malformed. The caller still
// checks that `nonce` is one it issued (else answers stale=true) and that
// `uri` is the request target.
absl::Status VerifyDigest(const Params& params, std::string_view method, std::string_view username,
                          std::string_view password);

}  // namespace phonebus::http_auth
