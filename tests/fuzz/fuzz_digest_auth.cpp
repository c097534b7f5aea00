// lib/digest_auth: the WWW-Authenticate challenge a phone (or whatever answers at its address)
// sends the commander, and the Authorization header the phone simulator reads.
// Input: one header value ("Digest realm=\"T46S\", nonce=\"...\", qop=\"auth\"").
//
// Beyond not crashing: an answer the client computes for a challenge it accepted must verify on
// the server side, and a challenge the server writes must parse back to itself.
#include <string>

#include "digest_auth.h"
#include "fuzz_support.h"

namespace {

using phonebus::fuzz::Check;
namespace auth = phonebus::http_auth;

bool Quotable(std::string_view s) {
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

void CheckChallenge(const auth::Challenge& challenge) {
  Check(!challenge.scheme.empty(), "a challenge without a scheme");
  for (const char c : challenge.scheme) Check(!(c >= 'A' && c <= 'Z'), "scheme not lower-cased");
  for (const auto& [name, value] : challenge.params) {
    for (const char c : name) Check(!(c >= 'A' && c <= 'Z'), "param name not lower-cased");
  }
  const auto digest = auth::ToDigestChallenge(challenge);
  if (!digest.ok()) return;

  // The commander's answer, checked by the simulated phone's verifier.
  constexpr std::string_view kUser = "admin", kPassword = "pa:ss\"word", kUri = "/servlet?key=OK";
  const auto answer =
      auth::DigestAuthorization(*digest, "GET", kUri, kUser, kPassword, 1, "0a4f113b");
  const bool quotable = Quotable(digest->realm) && Quotable(digest->nonce) &&
                        (!digest->opaque || Quotable(*digest->opaque));
  Check(answer.ok() == quotable, "DigestAuthorization refused a quotable challenge");
  if (!answer.ok()) return;
  Check(answer->find_first_of("\r\n") == std::string::npos, "Authorization value splits a header");
  const auto parsed = auth::ParseAuthorization(*answer);
  Check(parsed.ok(), "our own Authorization value does not parse");
  Check(auth::VerifyDigest(parsed->params, "GET", kUser, kPassword).ok(),
        "our own digest answer does not verify");
  Check(!auth::VerifyDigest(parsed->params, "GET", kUser, "other").ok(),
        "a digest answer verifies with the wrong password");

  // The simulator's challenge for the same parameters reads back the same.
  const std::string written = auth::MakeDigestChallenge(*digest);
  const auto reparsed = auth::ParseChallenges(written);
  Check(reparsed.ok() && reparsed->size() == 1, "our own challenge does not parse");
  const auto again = auth::ToDigestChallenge(reparsed->front());
  Check(again.ok(), "our own challenge is not a digest challenge");
  Check(again->realm == digest->realm && again->nonce == digest->nonce &&
            again->opaque == digest->opaque && again->algorithm == digest->algorithm &&
            again->qop_auth == digest->qop_auth && again->qop_auth_int == digest->qop_auth_int &&
            again->stale == digest->stale && again->userhash == digest->userhash,
        "challenge changed on the round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value = phonebus::fuzz::Text(data, size);
  if (const auto challenges = auth::ParseChallenges(value); challenges.ok()) {
    Check(!challenges->empty(), "an OK parse without a challenge");
    for (const auto& challenge : *challenges) CheckChallenge(challenge);
  }
  // The server side reads the same syntax from Authorization headers.
  if (const auto credential = auth::ParseAuthorization(value); credential.ok()) {
    if (credential->scheme == "digest") {
      (void)auth::VerifyDigest(credential->params, "GET", "admin", "secret");
    }
    if (credential->scheme == "basic") {
      // What Basic decodes must encode back to an equivalent credential.
      const auto back = auth::ParseAuthorization(
          auth::BasicAuthorization(credential->username, credential->password));
      Check(back.ok() && back->username == credential->username &&
                back->password == credential->password,
            "Basic credentials change on the round trip");
    }
  }
  return 0;
}
