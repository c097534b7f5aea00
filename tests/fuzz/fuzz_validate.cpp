// services/command/validate: the gate between a gRPC caller's free text and a phone's URL.
// Input: lines; line 1 is a dial number, line 2 a SIP account, the rest are key names.
//
// Each verdict is compared with an oracle written from the documented rules (validate.h), and
// every error message must be printable ASCII: hostile bytes are named, never echoed.
#include <regex>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "validate.h"

namespace {

using phonebus::fuzz::Check;
using phonebus::fuzz::Cut;

constexpr int kMaxNumberLength = 32;  // the commander's default --max-number-length

bool Printable(std::string_view s) {
  for (const char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

void CheckError(const absl::Status& status, std::string_view field) {
  if (status.ok()) return;
  Check(status.code() == absl::StatusCode::kInvalidArgument, "refusal is not INVALID_ARGUMENT");
  // Debian's Abseil has its own string_view.
  const std::string_view message(status.message().data(), status.message().size());
  Check(message.substr(0, field.size()) == field, "message does not start with field");
  Check(Printable(message), "message echoes a non-printable byte");
}

bool NumberOracle(std::string_view n) {
  static const std::regex rule(R"(\+?[0-9*#]+)");
  return n.size() <= kMaxNumberLength && std::regex_match(n.begin(), n.end(), rule);
}

bool AccountOracle(std::string_view a) {
  static const std::regex rule(R"([A-Za-z0-9._+-]+(@[A-Za-z0-9._-]+(:([0-9]{1,5}))?)?)");
  std::match_results<std::string_view::const_iterator> m;
  if (a.size() > phonebus::command::kMaxAccountLength ||
      !std::regex_match(a.begin(), a.end(), m, rule)) {
    return false;
  }
  if (!m[3].matched) return true;
  const int port = std::stoi(m[3].str());
  return port >= 1 && port <= 65535;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace command = phonebus::command;
  // std::regex in the oracles recurses per character; the real limits are far below this.
  if (size > 4096) return 0;
  const auto [number, rest] = Cut(phonebus::fuzz::Text(data, size), '\n');
  const auto [account, key_lines] = Cut(rest, '\n');

  const auto number_ok = command::ValidateNumber("number", number, kMaxNumberLength);
  CheckError(number_ok, "number");
  Check(number_ok.ok() == NumberOracle(number), "ValidateNumber disagrees with the rule");

  const auto account_ok = command::ValidateAccount("account", account);
  CheckError(account_ok, "account");
  Check(account_ok.ok() == AccountOracle(account), "ValidateAccount disagrees with the rule");

  std::vector<std::string> keys;
  bool all_known = true;
  for (std::string_view lines = key_lines; !lines.empty();) {
    const auto [key, next] = Cut(lines, '\n');
    keys.emplace_back(key);
    bool listed = false;
    for (const auto name : command::KeyNames()) listed = listed || name == key;
    Check(listed == command::IsKey(key), "IsKey disagrees with KeyNames");
    all_known = all_known && listed;
    lines = next;
  }
  const auto keys_ok = command::ValidateKeys(keys);
  CheckError(keys_ok, "keys");
  Check(keys_ok.ok() == (!keys.empty() && keys.size() <= command::kMaxKeys && all_known),
        "ValidateKeys disagrees with the rule");

  const std::string quoted = command::Quote(account, 16);
  Check(Printable(quoted), "Quote let a non-printable byte through");
  Check(quoted.size() <= 2 + 16 * 4 + 32, "Quote is not bounded");
  return 0;
}
