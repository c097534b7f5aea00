// Who may call PhoneControl, and for which sites. Each client (a CRM, a
// dialler, an operator's CLI) holds a bearer token; the commander knows only
// the token's SHA-256, from the --tokens-file, one client per line:
//
//   # NAME     SITES        SHA-256 OF THE TOKEN (hex; printf %s "$TOKEN" | sha256sum)
//   crm-hq     hq,floor2    9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
//   ops        *            60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752
//
// A call sends "authorization: Bearer <token>". No token or an unknown one is
// UNAUTHENTICATED; a known token naming a site outside its list is
// PERMISSION_DENIED. Pure (no gRPC), so tests need no server.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "secret_digest.h"

namespace phonebus::command {

struct ApiClient {
  std::string name;
  std::vector<std::string> sites;  // sorted; empty when all_sites
  bool all_sites = false;

  bool MayUse(std::string_view site) const;
  // "hq, floor2" or "every site", for messages.
  std::string SitesText() const;
};

class Tokens {
 public:
  // Parses the file's text; errors name the line and field, never the line's text.
  static absl::StatusOr<Tokens> Parse(std::string_view text);
  static absl::StatusOr<Tokens> Load(const std::string& path);

  // The client holding `token`, or nullptr. Every entry is compared, in
  // constant time, against the token's hash: how long this takes says
  // nothing about which bytes matched.
  const ApiClient* Find(std::string_view token) const;
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    SecretDigest hash;
    ApiClient client;
  };
  std::vector<Entry> entries_;
};

// The check every PhoneControl call passes first.
class Authorizer {
 public:
  // --insecure-no-auth: every call may use every site.
  static Authorizer AllowAll();
  explicit Authorizer(Tokens tokens);

  bool enabled() const { return enabled_; }

  // `authorization`: the call's "authorization" metadata values (normally
  // one). The client, or UNAUTHENTICATED saying what to send.
  absl::StatusOr<const ApiClient*> Authenticate(
      const std::vector<std::string_view>& authorization) const;
  // Authenticate, then PERMISSION_DENIED unless the client may use `site`
  // (the site the call acts on, the default site already filled in).
  absl::StatusOr<const ApiClient*> Authorize(const std::vector<std::string_view>& authorization,
                                             std::string_view site) const;

 private:
  Authorizer() = default;
  bool enabled_ = false;
  Tokens tokens_;
  ApiClient anyone_{"anonymous", {}, true};
};

}  // namespace phonebus::command
