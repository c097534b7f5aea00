// The softphone's incoming Action URLs (PROTOCOLS.md 2.3): it takes only make_call.
//
//   Dial   /?action=make_call&target=N    ('#' as %23, '+' as %2B)
// It has no parameter for the account to dial from, so an explicit Dial.account other than the
// device's own is FAILED_PRECONDITION (RequireDefaultAccount). Every other command is
// FAILED_PRECONDITION after its fields are validated (a malformed field is still
// INVALID_ARGUMENT, whatever the phone). The softphone also accepts the Yealink and SNOM dial
// forms; phonebus sends its own, which it documents as its primary interface.
#pragma once

#include "absl/status/statusor.h"
#include "command.h"

namespace phonebus::command::softphone {

absl::StatusOr<PhoneRequest> Encode(const Command& command, const Target& target);

}  // namespace phonebus::command::softphone
