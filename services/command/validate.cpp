#include "validate.h"

#include <array>
#include <cstdio>

#include "utf8.h"

namespace phonebus::command {
namespace {

// control.proto SendKeysRequest, in its order. Change both together.
constexpr std::array<std::string_view, 49> kKeys = {
    "0",        "1",       "2",         "3",           "4",        "5",          "6",
    "7",        "8",       "9",         "*",           "#",        "OK",         "CANCEL",
    "SPEAKER",  "HEADSET", "MUTE",      "HOLD",        "TRANSFER", "CONFERENCE", "REDIAL",
    "MESSAGES", "DND",     "VOLUME_UP", "VOLUME_DOWN", "UP",       "DOWN",       "LEFT",
    "RIGHT",    "F1",      "F2",        "F3",          "F4",       "LINE1",      "LINE2",
    "LINE3",    "LINE4",   "LINE5",     "LINE6",       "DSS1",     "DSS2",       "DSS3",
    "DSS4",     "DSS5",    "DSS6",      "DSS7",        "DSS8",     "DSS9",       "DSS10",
};

constexpr std::string_view kNumberRule =
    "; a number is digits, '*', '#' and an optional leading '+'";
constexpr std::string_view kAccountRule =
    "; an account is user or user@host[:port] of letters, digits, '.', '_', '-' (and '+' in the "
    "user)";

std::string Hex(unsigned char c) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  return buf;
}

// "character ';'", "character ' ' (space)", "character \x0a", "character U+FF1B",
// "byte \xff": the offending input at s[i], printable whatever it is.
std::string Describe(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c == ' ') return "character ' ' (space)";
  if (c > 0x20 && c < 0x7F) return detail::Cat("character '", std::string_view(&s[i], 1), "'");
  if (c < 0x80) return detail::Cat("character ", Hex(c));
  // A look-alike such as U+FF1B (fullwidth semicolon) is named, not printed.
  if (char32_t cp = 0; c >= 0x80 && utf8::Decode(s, i, &cp) > 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
    return detail::Cat("character ", buf);
  }
  return detail::Cat("byte ", Hex(c));
}

absl::Status Invalid(std::string_view field, std::string_view what, std::string_view rule) {
  return absl::InvalidArgumentError(detail::Cat(field, ": ", what, rule));
}

bool IsDialChar(char c) { return (c >= '0' && c <= '9') || c == '*' || c == '#'; }
bool IsAlnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool IsUserChar(char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '+' || c == '-'; }
bool IsHostChar(char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; }

}  // namespace

absl::Status ValidateNumber(std::string_view field, std::string_view number, int max_length) {
  if (number.empty()) return Invalid(field, "is empty", kNumberRule);
  size_t i = 0;
  if (number[0] == '+') {
    if (number.size() == 1) return Invalid(field, "'+' alone is not a number", kNumberRule);
    i = 1;
  }
  for (; i < number.size(); ++i) {
    if (IsDialChar(number[i])) continue;
    if (number[i] == '+') {
      return Invalid(field,
                     detail::Cat("'+' at position ", i, " is only allowed as the first character"),
                     kNumberRule);
    }
    return Invalid(field, detail::Cat(Describe(number, i), " at position ", i, " is not allowed"),
                   kNumberRule);
  }
  if (max_length < 0 || number.size() > static_cast<size_t>(max_length)) {
    return Invalid(
        field,
        detail::Cat("is ", number.size(), " characters long; at most ", max_length, " are allowed"),
        "");
  }
  return absl::OkStatus();
}

absl::Status ValidateKeys(const std::vector<std::string>& keys) {
  if (keys.empty()) return Invalid("keys", "at least one key is required", "");
  if (keys.size() > kMaxKeys) {
    return Invalid("keys", detail::Cat(keys.size(), " keys; at most ", kMaxKeys, " per request"),
                   "");
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (IsKey(keys[i])) continue;
    std::string upper = keys[i];
    for (char& c : upper) {
      if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    }
    // The commonest mistake gets its own hint; otherwise a summary of kKeys (the test pins both).
    const std::string hint =
        IsKey(upper) ? detail::Cat(" (names are upper case: ", Quote(upper), ")")
                     : std::string(
                           "; keys are \"0\"..\"9\", \"*\", \"#\", OK, CANCEL, SPEAKER, HEADSET, "
                           "MUTE, HOLD, TRANSFER, CONFERENCE, REDIAL, MESSAGES, DND, VOLUME_UP, "
                           "VOLUME_DOWN, UP, DOWN, LEFT, RIGHT, F1..F4, LINE1..LINE6, DSS1..DSS10");
    return Invalid(detail::Cat("keys[", i, "]"), detail::Cat(Quote(keys[i]), " is not a key"),
                   hint);
  }
  return absl::OkStatus();
}

absl::Status ValidateAccount(std::string_view field, std::string_view account) {
  if (account.empty()) return Invalid(field, "is empty", kAccountRule);
  // Characters first, so a hostile value is named by its first bad byte, not by its length.
  const size_t at = account.find('@');
  size_t colon = std::string_view::npos;
  for (size_t i = 0; i < account.size(); ++i) {
    const char c = account[i];
    const bool in_user = at == std::string_view::npos || i < at;
    if (i == at) continue;
    if (c == '@') {
      return Invalid(field, detail::Cat("a second '@' at position ", i, " is not allowed"),
                     kAccountRule);
    }
    if (in_user && IsUserChar(c)) continue;
    if (!in_user && colon == std::string_view::npos && c == ':') {
      colon = i;
      continue;
    }
    if (!in_user && colon == std::string_view::npos && IsHostChar(c)) continue;
    if (!in_user && colon != std::string_view::npos && c >= '0' && c <= '9') continue;
    const std::string_view part =
        in_user ? "user" : (colon == std::string_view::npos ? "host" : "port");
    return Invalid(
        field,
        detail::Cat(Describe(account, i), " at position ", i, " is not allowed in the ", part),
        kAccountRule);
  }
  if (account.size() > kMaxAccountLength) {
    return Invalid(field,
                   detail::Cat("is ", account.size(), " characters long; at most ",
                               kMaxAccountLength, " are allowed"),
                   "");
  }
  if (at == 0) return Invalid(field, "the user before '@' is empty", kAccountRule);
  if (at != std::string_view::npos) {
    const size_t host_last = colon == std::string_view::npos ? account.size() : colon;
    if (host_last == at + 1) return Invalid(field, "the host after '@' is empty", kAccountRule);
    if (colon != std::string_view::npos) {
      const std::string_view port = account.substr(colon + 1);
      int value = 0;
      // Only digits reach here; the length check keeps the sum from overflowing.
      if (port.size() <= 5) {
        for (const char c : port) value = value * 10 + (c - '0');
      }
      if (value < 1 || value > 65535) {
        return Invalid(field, detail::Cat("port ", Quote(port), " is not 1..65535"), "");
      }
    }
  }
  return absl::OkStatus();
}

bool IsKey(std::string_view name) {
  for (const std::string_view key : kKeys) {
    if (key == name) return true;
  }
  return false;
}

std::span<const std::string_view> KeyNames() { return kKeys; }

std::string Quote(std::string_view value, size_t max_bytes) {
  std::string out = "\"";
  const size_t n = value.size() < max_bytes ? value.size() : max_bytes;
  for (size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(value[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c >= 0x20 && c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      out += Hex(c);
    }
  }
  out.push_back('"');
  if (n < value.size()) out += detail::Cat("... (", value.size(), " bytes)");
  return out;
}

}  // namespace phonebus::command
