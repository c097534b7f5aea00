// What a simulated phone remembers, for tests and the benchmark to read: every request it got
// (decoded in neutral terms), every Action URL it fired, its calls, and counters.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "phone_auth.h"
#include "phone_commands.h"

namespace phonebus::phonesim {

struct RequestRecord {
  std::chrono::system_clock::time_point time;
  std::string source;  // the peer's IP address
  std::string method;
  std::string target;  // raw, exactly as received
  AuthOutcome auth = AuthOutcome::kNotChecked;
  std::string user;     // the user name presented, if any
  unsigned status = 0;  // the status answered; 0 when the phone hung or dropped the connection
  // The decoded command, when the phone understood the request and let it through.
  std::optional<Command> command;
  // Why it was refused or not understood, or what the command did ("placed call 1 to 2323").
  std::string note;
};

// "GET /servlet?key=OK -> 200 auth=accepted kind=keys keys=[\"OK\"] ...": for logs and failures.
std::string Describe(const RequestRecord& record);

struct FiredActionUrl {
  std::chrono::system_clock::time_point time;  // when it was queued
  // The provisioning slot that fired: "outgoing_call" (Yealink), "action_outgoing_url" (SNOM),
  // "outgoing" (softphone).
  std::string event;
  std::string call_id;  // CallInfo::id of the call it is about; empty for device events (DND)
  std::string url;      // as sent
  unsigned status = 0;  // the adapter's answer; 0 when there was none
  std::string error;    // why there was none
};

enum class Direction { kOutbound, kInbound };
enum class CallState { kDialing, kRinging, kConnected, kHeld, kEnded };
std::string_view CallStateName(CallState state);

struct CallInfo {
  // The phone's id for the call: Yealink $call_id (a counter), SNOM $call-id (SIP Call-ID
  // style), the softphone's <$call_guid>. What the Action URLs carry as call_id / call_guid.
  std::string id;
  Direction direction = Direction::kOutbound;
  std::string number;        // the remote party
  std::string display_name;  // the remote party's
  std::string account;       // the local account the call is on
  CallState state = CallState::kDialing;
  bool muted = false;
  // How it ended: "hangup" (by command), "remote_hangup" (talk time over), "rejected",
  // "missed", "transferred", "released" (SNOM RELEASE_ALL_CALLS).
  std::string end_reason;
  std::chrono::system_clock::time_point created;
  std::optional<std::chrono::system_clock::time_point> connected;
  std::optional<std::chrono::system_clock::time_point> ended;
};

struct Counters {
  uint64_t requests = 0;
  uint64_t answered = 0;      // a status was written
  uint64_t unanswered = 0;    // hung or dropped on purpose
  uint64_t succeeded = 0;     // 2xx and 3xx
  uint64_t unauthorized = 0;  // 401
  uint64_t forbidden = 0;     // 403 (allow-list, lockout, HTTP commands disabled)
  uint64_t not_found = 0;     // 404
  uint64_t failed_logins = 0;
  uint64_t lockouts = 0;
  uint64_t commands = 0;  // understood and carried out
  uint64_t calls = 0;
  uint64_t action_urls_ok = 0;  // answered 2xx
  uint64_t action_urls_failed = 0;

  Counters& operator+=(const Counters& other);
};

}  // namespace phonebus::phonesim
