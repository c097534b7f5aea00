// services/command/inventory: the devices file (--inventory devices.json).
// Input: the file's text.
//
// Secrets come from fakes, so a fuzzed password_file never reads the file system. What the
// loader accepts is what the commander builds phone URLs and topics from, so that is checked.
#include <string>

#include "fuzz_support.h"
#include "inventory.h"
#include "validate.h"

namespace {

using phonebus::fuzz::Check;

bool HasControl(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool TopicSafe(std::string_view s) {
  return !s.empty() && s.find_first_of("+#/") == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace command = phonebus::command;
  static const command::SecretSources secrets{
      [](const std::string& name) -> std::optional<std::string> {
        if (name == "YEALINK_PASSWORD") return "secret-env";
        return std::nullopt;
      },
      [](const std::string& path) -> absl::StatusOr<std::string> {
        if (path == "/run/secrets/yealink") return std::string("secret-file");
        return absl::NotFoundError("no such file");
      }};

  const auto inventory = command::ParseInventory(phonebus::fuzz::Text(data, size), "hq", secrets);
  if (!inventory.ok()) {
    Check(absl::IsInvalidArgument(inventory.status()), "refusal is not INVALID_ARGUMENT");
    return 0;
  }
  for (const auto& d : inventory->devices) {
    Check(TopicSafe(d.id) && TopicSafe(d.site), "a device id or site unfit for a topic level");
    Check(!d.vendor.empty(), "a device without a vendor");
    Check(!HasControl(d.host) && d.host.find_first_of(" /?#@") == std::string::npos,
          "a host that would change the phone's URL");
    // A port of 0 is "unset": the registry takes the defaults' or the scheme's (registry_test).
    Check(d.password.empty() || !d.username.empty(), "a password without a user name");
    Check(!HasControl(d.username) && !HasControl(d.password), "control characters in credentials");
    for (const auto& account : d.accounts) {
      Check(command::ValidateAccount("account", account).ok(), "an invalid account was accepted");
    }
  }
  for (const auto& d : inventory->defaults) {
    Check(inventory->DefaultsFor(d.site, d.vendor) != nullptr, "an entry does not match itself");
  }
  return 0;
}
