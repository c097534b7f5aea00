#include "phone_auth.h"

#include <algorithm>

#include "digest_auth.h"

namespace phonebus::phonesim {
namespace {

// How many nonces the phone remembers and for how long; older ones get stale=true.
constexpr size_t kMaxNonces = 32;
constexpr std::chrono::minutes kNonceLifetime{5};

// Compares without stopping at the first difference, so timing says nothing about the password.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

}  // namespace

std::string_view AuthOutcomeName(AuthOutcome outcome) {
  switch (outcome) {
    case AuthOutcome::kNotRequired:
      return "not_required";
    case AuthOutcome::kNotChecked:
      return "not_checked";
    case AuthOutcome::kAccepted:
      return "accepted";
    case AuthOutcome::kMissing:
      return "missing";
    case AuthOutcome::kStale:
      return "stale";
    case AuthOutcome::kRejected:
      return "rejected";
    case AuthOutcome::kLockedOut:
      return "locked_out";
  }
  return "unknown";
}

WebLogin::WebLogin(const PhoneConfig& config)
    : scheme_(config.auth),
      username_(config.username),
      password_(config.password),
      realm_(config.realm),
      lockout_(config.lockout) {}

std::string WebLogin::Challenge(bool stale, Clock::time_point now) {
  if (scheme_ == AuthScheme::kBasic) return http_auth::MakeBasicChallenge(realm_);
  http_auth::DigestChallenge challenge;
  challenge.realm = realm_;
  challenge.nonce = http_auth::MakeNonce();
  challenge.algorithm = http_auth::Algorithm::kMd5;  // what phones offer
  challenge.qop_auth = true;
  challenge.stale = stale;
  nonces_.emplace_back(challenge.nonce, now);
  while (nonces_.size() > kMaxNonces) nonces_.pop_front();
  return http_auth::MakeDigestChallenge(challenge);
}

WebLogin::Result WebLogin::Fail(std::string user, std::string reason, Clock::time_point now) {
  Result r;
  r.outcome = AuthOutcome::kRejected;
  r.user = std::move(user);
  r.reason = std::move(reason);
  if (lockout_.max_failures > 0) {
    failures_.push_back(now);
    while (!failures_.empty() && now - failures_.front() > lockout_.window) failures_.pop_front();
    if (failures_.size() >= static_cast<size_t>(lockout_.max_failures)) {
      locked_until_ = now + lockout_.duration;
      failures_.clear();
      ++lockouts_;
      r.reason += "; too many failed logins, locked";
    }
  }
  r.www_authenticate = Challenge(/*stale=*/false, now);
  return r;
}

WebLogin::Result WebLogin::Check(std::string_view method, std::string_view target,
                                 std::string_view authorization, Clock::time_point now) {
  Result r;
  if (scheme_ == AuthScheme::kNone) return r;
  if (locked(now)) {
    r.outcome = AuthOutcome::kLockedOut;
    r.locked_for = std::chrono::ceil<std::chrono::seconds>(locked_until_ - now);
    r.reason = "web login locked after too many failed logins";
    return r;
  }
  const auto missing = [&](std::string reason) {
    Result m;
    m.outcome = AuthOutcome::kMissing;
    m.reason = std::move(reason);
    m.www_authenticate = Challenge(/*stale=*/false, now);
    return m;
  };
  if (authorization.empty()) return missing("authentication required");
  auto parsed = http_auth::ParseAuthorization(authorization);
  if (!parsed.ok()) return Fail({}, "malformed Authorization: " + parsed.status().ToString(), now);

  if (scheme_ == AuthScheme::kBasic) {
    // A Digest answer to a phone that challenged with Basic is not a wrong password.
    if (parsed->scheme != "basic") return missing("this phone takes Basic authentication");
    const bool user_ok = ConstantTimeEquals(parsed->username, username_);
    const bool password_ok = ConstantTimeEquals(parsed->password, password_);
    if (!(user_ok && password_ok)) return Fail(parsed->username, "wrong user or password", now);
    r.outcome = AuthOutcome::kAccepted;
    r.user = parsed->username;
    return r;
  }

  // Digest. A phone that asks for Digest does not accept Basic: the password would travel in
  // the clear, which is why the administrator chose Digest.
  if (parsed->scheme != "digest") return missing("this phone takes Digest authentication");
  const auto param = [&](std::string_view name) -> std::string {
    const auto it = parsed->params.find(name);
    return it == parsed->params.end() ? std::string{} : it->second;
  };
  const std::string user = param("username");
  if (param("realm") != realm_) return Fail(user, "wrong realm", now);
  if (param("uri") != target) return Fail(user, "uri does not match the request target", now);
  const auto status = http_auth::VerifyDigest(parsed->params, method, username_, password_);
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    return Fail(user, "malformed Digest answer: " + std::string(status.message()), now);
  }
  if (!status.ok()) return Fail(user, "wrong user or password", now);
  // Right credentials with a nonce this phone did not issue (or no longer remembers): the client
  // just has to answer a fresh challenge, which stale=true tells it.
  const std::string nonce = param("nonce");
  const auto known = std::find_if(nonces_.begin(), nonces_.end(), [&](const auto& entry) {
    return entry.first == nonce && now - entry.second < kNonceLifetime;
  });
  if (known == nonces_.end()) {
    Result s;
    s.outcome = AuthOutcome::kStale;
    s.user = user;
    s.reason = "nonce unknown or expired";
    s.www_authenticate = Challenge(/*stale=*/true, now);
    return s;
  }
  r.outcome = AuthOutcome::kAccepted;
  r.user = user;
  return r;
}

}  // namespace phonebus::phonesim
