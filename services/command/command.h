// The vendor-neutral commands the commander sends, and what an encoder needs to
// know about the phone to turn one into that phone's HTTP request. Encoders
// (encoders/) are pure functions from (Command, Target) to PhoneRequest.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace phonebus::command {

struct Dial {
  std::string number;   // as the client sent it; encoders validate it
  std::string account;  // SIP account to dial from; empty: the phone's default
};
struct Answer {};
struct Hangup {};
struct Hold {};
struct Resume {};
struct Transfer {
  std::string number;  // blind transfer target
};
struct SetDnd {
  bool enabled = false;
};
struct SendKeys {
  std::vector<std::string> keys;  // vendor-neutral names (control.proto SendKeysRequest)
};

using Command = std::variant<Dial, Answer, Hangup, Hold, Resume, Transfer, SetDnd, SendKeys>;

// The RPC name of a command ("Dial", "SendKeys", ...), as in CommandResult.command.
const char* CommandName(const Command& command);

// Which command language a phone speaks (PROTOCOLS.md section 2).
enum class Family { kYealink, kSnom, kSoftphone };

// "yealink", "snom", "softphone": how errors and logs name a family.
const char* FamilyName(Family family);

// How a Yealink-family phone takes a whole number (PROTOCOLS.md 2.1).
enum class YealinkDial {
  kServlet,       // /servlet?key=number=N&outgoing_uri=A       current T4x/T5x, T2x > V71
  kConfigManApp,  // /cgi-bin/ConfigManApp.com?number=N        old T2x on V70
  kCgiServer,     // /cgi-bin/cgiServer.exx?number=N&outgoing_uri=A   T38G, T32G
  kKeySequence,   // <keys_path>?key=F_HANDFREE;N;ENTER ('#' as '$')   key presses only
};

// The command form chosen for one phone by the rule table (command_forms.h).
struct Form {
  Family family = Family::kYealink;
  YealinkDial yealink_dial = YealinkDial::kServlet;  // Yealink family only
  std::string keys_path = "/servlet";                // Yealink family only: where key= goes
  std::string name;  // e.g. "yealink-servlet"; shown in DeviceInfo.command_form
};

// Everything an encoder may know about the phone.
struct Target {
  Form form;
  std::string account;      // the device's own account; used when Dial.account is empty
  std::optional<bool> dnd;  // last known DND state (SNOM can only toggle it)
  int max_number_length = 32;
};

// One HTTP GET to send to the phone: path and query, already percent-encoded.
//
// An EMPTY target means "nothing to send: the phone is already in the wanted
// state" (SNOM can only toggle DND, so SetDnd to the state it already reports
// must not press the key). The caller reports success without contacting the
// phone.
struct PhoneRequest {
  std::string target;
};

}  // namespace phonebus::command
