// Vendor-neutral command -> the one HTTP GET that makes this phone do it (PROTOCOLS.md
// section 2). Encode picks the family's encoder by target.form.family; each family's encoder
// (yealink.h, snom.h, softphone.h) is a pure function, validates every free-form field itself
// (validate.h) and never lets a number, account or key add anything to the request the encoder
// did not put there.
//
// Errors:
//   INVALID_ARGUMENT     a field is malformed; the message names it ("number: ...", "keys[2]: ...")
//   FAILED_PRECONDITION  the phone's family or form cannot do this (a key it lacks, Transfer to a
//                        softphone, an account a form cannot choose, SNOM DND in unknown state)
// A result with an empty target means there is nothing to send (see PhoneRequest).
//
// The helpers below are shared by the family encoders; they take values that already passed
// validation and still encode anything else, so a forgotten check cannot open a hole.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "command.h"

namespace phonebus::command {

absl::StatusOr<PhoneRequest> Encode(const Command& command, const Target& target);

// What a person must change when a phone of this family answers 403: where its
// firmware keeps the list of hosts allowed to send commands.
std::string_view RefusalRemedy(Family family);

// Whether an HTTP status means the phone carried out the command: 2xx, and
// for SNOM the redirect its command.htm answers with. Any other redirect (to
// a login page, to HTTPS) means it did not.
bool CarriedOut(Family family, int http_status);

// A validated number as a query value: digits and '*' as they are, '#' as %23 (a raw '#' starts
// the fragment and never reaches the phone), '+' as %2B (a raw '+' in a query reads as a space).
std::string QueryNumber(std::string_view number);

// A validated account as a query value: '@' and ':' as they are (legal in a query, and what the
// phones' documentation shows), everything else percent-encoded ('+' as %2B).
std::string QueryAccount(std::string_view account);

// The account a Dial goes out from: Dial.account, else target.account; validated as field
// "account". Empty when neither is set: the phone's default account.
absl::StatusOr<std::string> DialAccount(const Dial& dial, const Target& target);

// For forms that cannot name the account to dial from (they dial from the phone's default): an
// explicit Dial.account other than the device's own account is FAILED_PRECONDITION naming the
// form, instead of silently dialing from another account than the one asked for.
absl::Status RequireDefaultAccount(const Dial& dial, const Target& target);

}  // namespace phonebus::command
