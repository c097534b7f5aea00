// What `phonebus watch` makes of a bus message: decode the payload whatever
// its encoding, then one line a supervisor reads at a glance:
//
//   12:01:05.123 hq 001565aabbcc call_incoming    +4930123456 "Jürgen" -> 1001@pbx.example  call 42
//   12:01:09.870 hq 001565aabbcc state            1 call 42
//   12:01:10.002 hq 001565aabbcc command_result   Answer OK  phone 200  85ms  request 0190...
//
// time (local, or UTC), site, device id, kind, then what matters for the kind.
// Everything the phone sent is made safe for a terminal first. Pure functions:
// tests feed them messages, no broker needed.
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "phonebus/v1/control.pb.h"
#include "phonebus/v1/event.pb.h"

namespace phonebus::cli {

using Clock = std::chrono::system_clock;

struct FormatOptions {
  bool utc = false;  // times in UTC instead of the local time zone
};

// Text from the wire made safe for a terminal: control characters (C0, DEL,
// C1, ESC included) become "\xNN", invalid UTF-8 bytes likewise.
std::string Sanitize(std::string_view text);

// "12:01:05.123"; `fallback` when the timestamp is unset.
std::string ClockTime(const google::protobuf::Timestamp& t, Clock::time_point fallback,
                      const FormatOptions& options);

// One line per PhoneEvent. `arrived` stands in for a missing received_at.
std::string FormatEvent(const v1::PhoneEvent& event, Clock::time_point arrived,
                        const FormatOptions& options);

// "Dial OK  phone 200  85ms  request <id>", or "Dial NOT_FOUND: <message>  request <id>".
std::string ResultSummary(const v1::CommandResult& result);
std::string FormatResult(const v1::CommandResult& result, Clock::time_point arrived,
                         const FormatOptions& options);

// What changed from `before` (nullptr: not seen before, so the whole state)
// to `after`, as "dnd on  1 call 42  1001@pbx.example registered"; empty when
// nothing a person would notice changed (activity alone refreshes last_seen).
std::string StateChanges(const v1::DeviceState* before, const v1::DeviceState& after);
// The line for a state change, or nullopt when StateChanges is empty.
std::optional<std::string> FormatState(const v1::DeviceState* before, const v1::DeviceState& after,
                                       Clock::time_point arrived, const FormatOptions& options);

// What a topic carries, from its shape (DESIGN.md "Topics").
struct TopicInfo {
  enum class Kind { kEvent, kState, kResult, kOther };
  Kind kind = Kind::kOther;
  std::string site;
  std::string device;
  std::string event_kind;  // kEvent only
};
TopicInfo ParseTopic(std::string_view topic);

// Decodes a payload by its MQTT 5 content type; without one (MQTT 3.1.1) as
// protobuf, falling back to protobuf-JSON. Unknown JSON fields (a newer
// publisher) are ignored.
bool Decode(const std::string& payload, std::string_view content_type,
            google::protobuf::Message* message);

// The message as protobuf-JSON on one line, field names as in the .proto
// (the adapter's JSON payload format).
std::string JsonLine(const google::protobuf::Message& message);

}  // namespace phonebus::cli
