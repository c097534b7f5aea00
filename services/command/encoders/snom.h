// SNOM desk phones over /command.htm (PROTOCOLS.md 2.2).
//
//   Dial      /command.htm?number=N[&outgoing_uri=A]     ('#' as %23, '+' as %2B)
//   Answer    /command.htm?key=ENTER     (the check key accepts a ringing call on the active
//                                         audio device; OFFHOOK would pick the handset, which
//                                         is still in its cradle)
//   Hangup    /command.htm?key=CANCEL    (ends the current call only; RELEASE_ALL_CALLS would
//                                         drop held calls too)
//   Hold      /command.htm?key=F_HOLD
//   Resume    /command.htm?key=F_HOLD    (the hold key toggles)
//   Transfer  /command.htm?key=TRANSFER;d;i;g;i;t;s;ENTER   (blind: transfer key, the number one
//                                         key per digit, '#' as %23, then the check key; a
//                                         keypad cannot type '+': FAILED_PRECONDITION)
//   SetDnd    /command.htm?key=DND, only when the state is known to differ: SNOM can only
//             toggle DND. Unknown state (target.dnd unset) is FAILED_PRECONDITION; the state
//             already wanted is a PhoneRequest with an empty target (nothing to send).
//   SendKeys  /command.htm?key=K;K...    see KeyName.
// Firmware older than 8 calls the hold key F_R; the form does not know the firmware yet.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "command.h"

namespace phonebus::command::snom {

absl::StatusOr<PhoneRequest> Encode(const Command& command, const Target& target);

// The SNOM key for a vendor-neutral name, as it goes into key=: digits and '*' as they are,
// '#' -> %23, OK -> ENTER, HOLD -> F_HOLD, DSSn -> Pn; CANCEL, SPEAKER, HEADSET, TRANSFER,
// REDIAL, DND, VOLUME_UP, VOLUME_DOWN, UP, DOWN, LEFT, RIGHT, F1..F4 by the same name. nullopt
// for MUTE, CONFERENCE and MESSAGES (no such key in SNOM's key list) and LINEn (SNOM's line keys
// are P keys whose numbering depends on the phone's function-key setup: use DSSn).
std::optional<std::string_view> KeyName(std::string_view neutral);

}  // namespace phonebus::command::snom
