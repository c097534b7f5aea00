// SNOM Action URLs (PROTOCOLS.md 1.2): the phone fires GET /snom/{event}?mac=$mac&... where
// {event} is the setting name without "action_" and "_url" (action_incoming_url -> incoming).
// Parse turns one into a PhoneEvent; Provisioning prints the settings XML that makes a phone
// send exactly what Parse reads. One table in snom.cpp drives both.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "dialect.h"
#include "phonebus/v1/event.pb.h"

namespace phonebus::adapter::snom {

// The URL path segment the adapter routes on: /snom/{event}?...
inline constexpr std::string_view kPath = "snom";

// Fills kind, vendor_event, device (vendor, mac, ip), call, dnd, forwarding and registration from
// what the phone sent. An unknown event name is EVENT_KIND_OTHER, not an error; only a missing
// event name is InvalidArgument. A missed call that the user rejected fires no URL on SNOM; that
// has to be inferred from the call's history, which a pure dialect does not have.
absl::StatusOr<v1::PhoneEvent> Parse(const ActionUrl& url);

// SNOM settings XML (<settings><phone-settings>...) with one action setting per event, for a
// phone that reaches the adapter at `adapter_url` (a trailing '/' is dropped).
std::string Provisioning(std::string_view adapter_url);

}  // namespace phonebus::adapter::snom
