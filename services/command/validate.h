// What a command's free-form fields may contain, checked before anything reaches a phone.
//
// PROTOCOLS.md section 3: a dial number must never smuggle extra keys into the phone's
// request, so ';', '&', '=', '@', '%' and everything else outside the allowed alphabet is
// refused, never escaped. Every encoder calls these itself (a pure function that can never emit
// a smuggled key), and the gRPC layer may call them earlier for a faster answer.
//
// Errors are INVALID_ARGUMENT whose message starts with the field ("number: ...",
// "keys[3]: ...") and says what is wrong; hostile bytes are shown escaped (\x0a, U+FF1B),
// never echoed raw into a log line.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "string_util.h"

namespace phonebus::command {

// At most this many keys per SendKeys: a longer macro is a script, not a key press.
inline constexpr size_t kMaxKeys = 64;
// A SIP account longer than this is not an account a phone is configured with.
inline constexpr size_t kMaxAccountLength = 128;

// ASCII digits, '*', '#', with an optional single leading '+' that must be followed by at least
// one of them; at most `max_length` characters.
absl::Status ValidateNumber(std::string_view field, std::string_view number, int max_length);

// Non-empty, at most kMaxKeys, each exactly (upper case) a name of the vendor-neutral vocabulary.
absl::Status ValidateKeys(const std::vector<std::string>& keys);

// A SIP account "user" or "user@host" or "user@host:port": user of [A-Za-z0-9._+-], host of
// [A-Za-z0-9._-], port 1..65535. No URI scheme, no parameters, no IPv6 literal.
absl::Status ValidateAccount(std::string_view field, std::string_view account);

// Whether `name` is a key of the vendor-neutral vocabulary (control.proto SendKeysRequest).
bool IsKey(std::string_view name);

// The whole vocabulary in documentation order: "0".."9", "*", "#", OK, CANCEL, ..., DSS10.
// The single source of truth; the encoders map every name or refuse it.
std::span<const std::string_view> KeyNames();

// `value` in double quotes for an error message: printable ASCII as is ('"' and '\' escaped),
// every other byte as \xNN, cut after `max_bytes` with "..." so a hostile value cannot flood a
// log line or smuggle control characters into it.
std::string Quote(std::string_view value, size_t max_bytes = 64);

namespace detail {

using strings::Cat;
using strings::Join;

}  // namespace detail

}  // namespace phonebus::command
