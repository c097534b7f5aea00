// Yealink Action URLs (PROTOCOLS.md 1.1): the phone fires GET /yealink/{event}?mac=$mac&... for
// each configured event. Parse turns one into a PhoneEvent; Provisioning prints the
// `action_url.<event>` keys that make a phone send exactly what Parse reads. One table in
// yealink.cpp drives both, so an event cannot be provisioned without being understood.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "dialect.h"
#include "phonebus/v1/event.pb.h"

namespace phonebus::adapter::yealink {

// The URL path segment the adapter routes on: /yealink/{event}?...
inline constexpr std::string_view kPath = "yealink";

// Fills kind, vendor_event, device (vendor, mac, ip, model, firmware), call, dnd, forwarding and
// registration from what the phone sent. An unknown event name is EVENT_KIND_OTHER, not an
// error, so newer firmware keeps flowing; only a missing event name is InvalidArgument.
absl::StatusOr<v1::PhoneEvent> Parse(const ActionUrl& url);

// The provisioning keys (one `action_url.<event> = <url>` line per event) for a phone that
// reaches the adapter at `adapter_url` (e.g. "http://10.0.0.5:8080"; a trailing '/' is dropped).
std::string Provisioning(std::string_view adapter_url);

}  // namespace phonebus::adapter::yealink
