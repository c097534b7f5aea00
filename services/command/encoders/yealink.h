// Yealink Action URI (PROTOCOLS.md 2.1), also spoken by brands that copied it (Fanvil).
//
// Whole numbers are dialed by the form's generation (target.form.yealink_dial):
//   kServlet       /servlet?key=number=N[&outgoing_uri=A]
//   kCgiServer     /cgi-bin/cgiServer.exx?number=N[&outgoing_uri=A]
//   kConfigManApp  /cgi-bin/ConfigManApp.com?number=N
//   kKeySequence   <keys_path>?key=F_HANDFREE;N;ENTER
// In number= values '#' is %23 and '+' is %2B. The key-sequence form types N as one key token,
// where '#' is written '$' (the seed's "12$34 dials 12#34") and '+' cannot be typed at all, so a
// number with '+' is FAILED_PRECONDITION naming the form (give the international prefix, 00...,
// instead). It leaves out the seed's "@line" suffix: phonebus does not know line numbers, so the
// phone dials from its default line. Forms without outgoing_uri (ConfigManApp, key sequence)
// refuse an explicit account other than the device's own (RequireDefaultAccount).
//
// Everything else is key presses on target.form.keys_path (/servlet or, on old firmware,
// /cgi-bin/ConfigManApp.com), key= always the first query parameter, keys joined by ';':
//   Answer OK               (OK also answers a ringing call)
//   Hangup X                (ends the call / back to idle)
//   Hold   F_HOLD
//   Resume F_HOLD           (the hold key toggles; the per-call UNHOLD:<id> needs a call id)
//   Transfer F_TRANSFER;N;F_TRANSFER   (blind: the second F_TRANSFER completes it; N typed as in
//                                       the key-sequence dial, so '#' is '$' and '+' is refused)
//   SetDnd DNDOn / DNDOff   (explicit states, so no toggling guesswork)
//   SendKeys: see KeyName.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "command.h"

namespace phonebus::command::yealink {

absl::StatusOr<PhoneRequest> Encode(const Command& command, const Target& target);

// The Yealink key for a vendor-neutral name: digits and '*' as they are, '#' -> POUND,
// OK -> OK, CANCEL -> X, HOLD -> F_HOLD, TRANSFER -> F_TRANSFER, CONFERENCE -> F_CONFERENCE,
// REDIAL -> RD, MESSAGES -> MSG, LINEn -> Ln, DSSn -> Dn; SPEAKER, HEADSET, MUTE, VOLUME_UP,
// VOLUME_DOWN, UP, DOWN, LEFT, RIGHT, F1..F4 by the same name. nullopt for DND (Yealink has
// only DNDOn/DNDOff, which SetDnd sends) and for names outside the vocabulary.
std::optional<std::string_view> KeyName(std::string_view neutral);

}  // namespace phonebus::command::yealink
