#include "encoders/encoder.h"

#include "encoders/snom.h"
#include "encoders/softphone.h"
#include "encoders/yealink.h"
#include "url.h"
#include "validate.h"

namespace phonebus::command {

absl::StatusOr<PhoneRequest> Encode(const Command& command, const Target& target) {
  switch (target.form.family) {
    case Family::kYealink:
      return yealink::Encode(command, target);
    case Family::kSnom:
      return snom::Encode(command, target);
    case Family::kSoftphone:
      return softphone::Encode(command, target);
  }
  return absl::FailedPreconditionError(
      detail::Cat("command form ", Quote(target.form.name), " names no known phone family"));
}

std::string QueryNumber(std::string_view number) {
  std::string out;
  out.reserve(number.size() + 4);
  for (const char c : number) {
    if ((c >= '0' && c <= '9') || c == '*') {
      out.push_back(c);
    } else {
      out += url::PercentEncode(std::string_view(&c, 1));
    }
  }
  return out;
}

std::string QueryAccount(std::string_view account) {
  std::string out;
  out.reserve(account.size() + 4);
  for (const char c : account) {
    if (c == '@' || c == ':') {
      out.push_back(c);
    } else {
      out += url::PercentEncode(std::string_view(&c, 1));
    }
  }
  return out;
}

absl::StatusOr<std::string> DialAccount(const Dial& dial, const Target& target) {
  const std::string& account = dial.account.empty() ? target.account : dial.account;
  if (account.empty()) return std::string();
  if (absl::Status status = ValidateAccount("account", account); !status.ok()) return status;
  return account;
}

absl::Status RequireDefaultAccount(const Dial& dial, const Target& target) {
  if (dial.account.empty() || dial.account == target.account) return absl::OkStatus();
  return absl::FailedPreconditionError(detail::Cat(
      "account: command form ", Quote(target.form.name),
      " cannot choose the account to dial from; leave account empty to dial from the phone's "
      "default account",
      target.account.empty() ? "" : detail::Cat(" (", Quote(target.account), ")")));
}

std::string_view RefusalRemedy(Family family) {
  switch (family) {
    case Family::kYealink:
      return "allow the commander's address in the phone's Action URI settings "
             "(features.action_uri_limit_ip) and confirm \"Allow remote control\" on the phone "
             "if it asks";
    case Family::kSnom:
      return "allow HTTP commands from the commander's address in the phone's web settings; "
             "newest D8xx firmware may refuse HTTP commands altogether";
    case Family::kSoftphone:
      return "enable incoming Action URLs in the softphone's settings and allow the "
             "commander's address";
  }
  return "allow the commander's address on the phone";
}

bool CarriedOut(Family family, int http_status) {
  if (http_status >= 200 && http_status < 300) return true;
  return family == Family::kSnom && http_status == 302;
}

}  // namespace phonebus::command
