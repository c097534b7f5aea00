// The MQTT topic tree (DESIGN.md "Topics"), built in one place:
//   phonebus/v1/{site}/device/{device_id}/event/{kind}
//   phonebus/v1/{site}/device/{device_id}/state
//   phonebus/v1/{site}/device/{device_id}/command/result
//   phonebus/v1/{site}/service/{instance}/status
#pragma once

#include <string>
#include <string_view>

#include "phonebus/v1/event.pb.h"

namespace phonebus::topics {

// Makes a value safe as one topic level: '+', '#', '/', control characters
// (C0 with NUL, DEL, C1), Unicode non-characters and malformed UTF-8 become
// '_'; an empty value becomes "_"; at most 256 bytes are kept.
std::string Segment(std::string_view value);

// The {device_id} of a phone with a MAC: "00:15:65:AA:BB:CC", "0015.65aa.bbcc",
// "00-15-65-aa-bb-cc" -> "001565aabbcc". Empty when `mac` is not 12 hex digits.
std::string NormalizeMac(std::string_view mac);

// "call_incoming" for EVENT_KIND_CALL_INCOMING.
std::string KindName(v1::EventKind kind);

std::string Event(std::string_view site, std::string_view device_id, v1::EventKind kind);
std::string State(std::string_view site, std::string_view device_id);
std::string CommandResult(std::string_view site, std::string_view device_id);
std::string ServiceStatus(std::string_view site, std::string_view instance);

// Subscription filter for every device state of a site ("+" for all sites).
std::string AllStates(std::string_view site);

}  // namespace phonebus::topics
