// Reading values out of Action URL queries the way real phones fill them, and
// the normalisations every dialect shares.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "phonebus/v1/event.pb.h"
#include "topics.h"
#include "url.h"

namespace phonebus::adapter {

// The first value of parameter `name`, or nullopt when it is missing, empty or
// still an unsubstituted template variable ("$remote", "<$remote_party>").
std::optional<std::string_view> Value(const url::Query& query, std::string_view name);

// True for a value a phone left unsubstituted.
bool IsUnsubstituted(std::string_view value);

using topics::NormalizeMac;  // MAC spelling -> device id; lives with the topic tree

// A party from what the phone sent: a SIP URI ("sip:1001@pbx", "<sip:+49...@x>",
// "1001@pbx") or a bare number ("+4930123"). The number is the user part, "+"
// kept; uri is set only when there was a host part.
v1::Party ParseParty(std::optional<std::string_view> uri_or_number,
                     std::optional<std::string_view> display_name);

// The SIP account in use ("1001@pbx.example") from what the phone reported: a URI with a host
// part wins (scheme and brackets dropped), else "user@host" when both are known, else the user
// alone; "" when nothing is known. Phones fill these differently per firmware and event.
std::string Account(std::optional<std::string_view> uri,
                    std::optional<std::string_view> user = std::nullopt,
                    std::optional<std::string_view> host = std::nullopt);

// Sets what follows from event.kind() alone, so every dialect states it the same way: dnd on
// DND_ON/OFF, forwarding.enabled on FORWARD_ON/OFF, registration.status on REGISTERED,
// UNREGISTERED and REGISTER_FAILED, call.hold on CALL_HOLD/UNHOLD. Other fields are untouched.
void SetKindFacts(v1::PhoneEvent& event);

// ASCII case-insensitive equality, for event names whose case varies across firmware. (Debian's
// Abseil has its own string_view, so absl::EqualsIgnoreCase does not take std::string_view.)
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// The adapter's base URL without trailing '/', so provisioning can append "/<path>" to whatever
// the administrator typed.
std::string_view TrimTrailingSlash(std::string_view url);

}  // namespace phonebus::adapter
