// Softphone Action URLs (PROTOCOLS.md 1.3; Global IP Telecommunications softphone and its OEM
// builds). The template is free text the administrator types, so the query parameter names are
// configuration (ParamNames); the event name is the `action` parameter, or the path segment when
// the administrator routes /softphone/{event}. Parse turns one into a PhoneEvent; Provisioning
// prints the five templates that make the softphone send exactly what Parse reads.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "dialect.h"
#include "phonebus/v1/event.pb.h"

namespace phonebus::adapter::softphone {

// The URL path segment the adapter routes on: /softphone?action=...
inline constexpr std::string_view kPath = "softphone";

// The query parameter that carries each placeholder. Defaults are the placeholder names public
// configurations use; the adapter fills this from its config when the administrator renamed one.
struct ParamNames {
  std::string action = "action";
  std::string call_direction = "call_direction";
  std::string local_party = "local_party";
  std::string local_alias = "local_alias";
  std::string remote_party = "remote_party";
  std::string remote_alias = "remote_alias";
  std::string hold_state = "hold_state";
  std::string call_duration = "call_duration_seconds";
  std::string created_time = "call_created_time";
  std::string connected_time = "call_connected_time";
  std::string disconnected_time = "call_disconnected_time";
  std::string call_guid = "call_guid";
  // The device id to report (the softphone has no MAC); becomes device.id.
  std::string device = "device";
};

// Fills kind, vendor_event, device.vendor and call from what the softphone sent. "disconnected"
// of an inbound call that never connected is CALL_MISSED; "hold" is CALL_HOLD or CALL_UNHOLD by
// the hold state, and EVENT_KIND_OTHER when the state is missing. Times are the phone's local
// time without a zone and are read as UTC. A malformed time or duration is left unset, never an
// error; only a missing event name is InvalidArgument.
absl::StatusOr<v1::PhoneEvent> Parse(const ActionUrl& url, const ParamNames& names);

// The five Action URL templates for the softphone's settings, for a softphone that reaches the
// adapter at `adapter_url` (a trailing '/' is dropped). A non-empty `device_id` is added as a
// literal `device=` parameter so that every softphone gets a stable id in the topics.
std::string Provisioning(std::string_view adapter_url, const ParamNames& names,
                         std::string_view device_id = {});

}  // namespace phonebus::adapter::softphone
