#include "encoders/softphone.h"

#include "encoders/encoder.h"
#include "validate.h"

namespace phonebus::command::softphone {
namespace {

absl::Status DialOnly(const Command& command) {
  return absl::FailedPreconditionError(detail::Cat("the softphone accepts only Dial over HTTP; ",
                                                   CommandName(command),
                                                   " has to be done in the softphone itself"));
}

// Fields are checked before the refusal, so a malformed request is INVALID_ARGUMENT on every
// family and a client does not learn to fix its input only after switching phones.
absl::Status ValidateFields(const Command& command, const Target& target) {
  if (const auto* transfer = std::get_if<Transfer>(&command)) {
    return ValidateNumber("number", transfer->number, target.max_number_length);
  }
  if (const auto* keys = std::get_if<SendKeys>(&command)) return ValidateKeys(keys->keys);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PhoneRequest> Encode(const Command& command, const Target& target) {
  const auto* dial = std::get_if<Dial>(&command);
  if (dial == nullptr) {
    if (auto s = ValidateFields(command, target); !s.ok()) return s;
    return DialOnly(command);
  }
  if (auto s = ValidateNumber("number", dial->number, target.max_number_length); !s.ok()) return s;
  if (auto account = DialAccount(*dial, target); !account.ok()) return account.status();
  if (auto s = RequireDefaultAccount(*dial, target); !s.ok()) return s;
  return PhoneRequest{detail::Cat("/?action=make_call&target=", QueryNumber(dial->number))};
}

}  // namespace phonebus::command::softphone
