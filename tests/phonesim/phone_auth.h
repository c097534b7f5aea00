// A phone's web login: checks the Authorization header of each command the way the phone's web
// server does (none, Basic, or Digest with nonces it issued itself), answers what to challenge
// with, and locks the login after repeated wrong credentials as real phones do. The HTTP
// authentication arithmetic is lib/digest_auth's; this is the phone's policy around it.
// Not thread-safe: a phone calls it from its own strand.
#pragma once

#include <chrono>
#include <deque>
#include <string>
#include <string_view>

#include "phone_config.h"

namespace phonebus::phonesim {

enum class AuthOutcome {
  kNotRequired,  // the phone has no credentials
  kNotChecked,   // refused before the login (allow-list, failure mode)
  kAccepted,
  kMissing,    // no (usable) Authorization: challenged, not counted as a failure
  kStale,      // Digest with a nonce this phone did not issue or forgot: re-challenged
  kRejected,   // wrong user or password: challenged and counted towards the lockout
  kLockedOut,  // refused without looking, the login is locked
};
std::string_view AuthOutcomeName(AuthOutcome outcome);

class WebLogin {
 public:
  using Clock = std::chrono::steady_clock;

  explicit WebLogin(const PhoneConfig& config);

  struct Result {
    AuthOutcome outcome = AuthOutcome::kNotRequired;
    std::string user;                    // the user name the client presented, if any
    std::string www_authenticate;        // the challenge to send with 401
    std::chrono::seconds locked_for{0};  // kLockedOut: time left
    std::string reason;                  // why, for the 401/403 body and the record
  };

  // `target` is the request target as received; Digest's uri= must name it.
  Result Check(std::string_view method, std::string_view target, std::string_view authorization,
               Clock::time_point now);

  bool locked(Clock::time_point now) const { return now < locked_until_; }
  int lockouts() const { return lockouts_; }

 private:
  std::string Challenge(bool stale, Clock::time_point now);
  Result Fail(std::string user, std::string reason, Clock::time_point now);

  AuthScheme scheme_;
  std::string username_;
  std::string password_;
  std::string realm_;
  Lockout lockout_;
  std::deque<Clock::time_point> failures_;  // within the lockout window
  Clock::time_point locked_until_{};
  int lockouts_ = 0;
  // Nonces this phone handed out, newest last; a small phone remembers only a few.
  std::deque<std::pair<std::string, Clock::time_point>> nonces_;
};

}  // namespace phonebus::phonesim
