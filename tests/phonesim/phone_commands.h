// The phone side of PROTOCOLS.md section 2: what a phone of each firmware generation makes of a
// request target, in neutral terms a test can compare against what it asked the commander for.
// Pure (no sockets, no clock), written from the protocol text alone; it deliberately shares no
// code with services/command/encoders.
//
// How the phones read a query, as their CGI code does:
//  - like an HTML form: '+' is a space and %XX is a byte, so a number must carry '+' as %2B and
//    '#' as %23 (a raw '#' never arrives: it starts the URL's fragment);
//  - Yealink: key= must be the first parameter; in a key sequence '$' stands for '#'
//    ("12$34" dials 12#34); key=number=N&outgoing_uri=A dials N from account A;
//  - SNOM: key=K;K presses keys, '#' arrives as %23; number=N&outgoing_uri=A dials.
// Anything a generation does not understand is NotFound (the phone answers 404), a broken %XX is
// InvalidArgument (400), and command.htm on firmware that refuses HTTP commands is
// PermissionDenied (403).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "phone_config.h"

namespace phonebus::phonesim {

enum class CommandKind {
  kDial,             // number, account (empty: the phone's default account)
  kKeys,             // keys, in the phone's own names ("F_HANDFREE", "2323@1", "ASW:3", "#")
  kDtmf,             // SNOM key_dtmf=: keys are the digits sent in the call
  kReleaseAllCalls,  // SNOM RELEASE_ALL_CALLS
  kWebPage,          // SNOM index.htm (where a command's 302 points): not a command
};
std::string_view CommandKindName(CommandKind kind);

struct Command {
  CommandKind kind = CommandKind::kKeys;
  // Which request form carried it: "servlet-key", "servlet-number", "configmanapp-number",
  // "configmanapp-key", "cgiserver-number", "snom-number", "snom-key", "snom-key_dtmf",
  // "snom-release_all_calls", "snom-index", "softphone-make_call".
  std::string form;
  std::string number;
  std::string account;
  std::vector<std::string> keys;
};

// One line for logs and test failures: kind=dial number="+4930123456" account="1001@pbx.example"
// or kind=keys keys=["F_HANDFREE","2323@1","OK"].
std::string Describe(const Command& command);

// What `family`'s web server makes of `target` ("/path?query").
absl::StatusOr<Command> DecodeCommand(Family family, std::string_view target);

// The phone's query reading, exposed for tests: '&'-separated name=value pairs, each form-decoded
// ('+' is a space, %XX a byte), in order, repeats kept.
struct FormParam {
  std::string name;
  std::string value;
};
absl::StatusOr<std::vector<FormParam>> ParseFormQuery(std::string_view query);

}  // namespace phonebus::phonesim
