#include "softphone.h"

#include <array>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "values.h"

namespace phonebus::adapter::softphone {
namespace {

struct Event {
  std::string_view action;  // the <$action> value
  v1::EventKind kind;       // before the hold-state and missed-call refinements
  std::string_view menu;    // the softphone's own label (seed manual, German UI)
  std::string_view meaning;
};

// The single source of truth for Parse and Provisioning.
constexpr std::array kEvents = {
    Event{"incoming", v1::EVENT_KIND_CALL_INCOMING, "Eingehender Anruf", "incoming call"},
    Event{"outgoing", v1::EVENT_KIND_CALL_OUTGOING, "Ausgehender Anruf", "outgoing call"},
    Event{"connected", v1::EVENT_KIND_CALL_ESTABLISHED, "Anruf annehmen", "call answered"},
    Event{"hold", v1::EVENT_KIND_CALL_HOLD, "Anruf halten", "hold / off hold"},
    Event{"disconnected", v1::EVENT_KIND_CALL_TERMINATED, "Anruf beenden", "call ended"},
};

// Placeholder -> ParamNames member, in template order.
struct Placeholder {
  std::string_view placeholder;
  std::string ParamNames::*name;
};
constexpr std::array kPlaceholders = {
    Placeholder{"<$action>", &ParamNames::action},
    Placeholder{"<$call_direction>", &ParamNames::call_direction},
    Placeholder{"<$local_party>", &ParamNames::local_party},
    Placeholder{"<$local_alias>", &ParamNames::local_alias},
    Placeholder{"<$remote_party>", &ParamNames::remote_party},
    Placeholder{"<$remote_alias>", &ParamNames::remote_alias},
    Placeholder{"<$hold_state>", &ParamNames::hold_state},
    Placeholder{"<$call_duration_seconds>", &ParamNames::call_duration},
    Placeholder{"<$call_created_time>", &ParamNames::created_time},
    Placeholder{"<$call_connected_time>", &ParamNames::connected_time},
    Placeholder{"<$call_disconnected_time>", &ParamNames::disconnected_time},
    Placeholder{"<$call_guid>", &ParamNames::call_guid},
};

const Event* Find(std::string_view action) {
  for (const Event& event : kEvents) {
    if (EqualsIgnoreCase(event.action, action)) return &event;
  }
  return nullptr;
}

v1::Direction ParseDirection(std::optional<std::string_view> value) {
  if (!value) return v1::DIRECTION_UNSPECIFIED;
  if (*value == "0" || EqualsIgnoreCase(*value, "inbound")) return v1::DIRECTION_INBOUND;
  if (*value == "1" || EqualsIgnoreCase(*value, "outbound")) return v1::DIRECTION_OUTBOUND;
  return v1::DIRECTION_UNSPECIFIED;
}

v1::HoldState ParseHold(std::optional<std::string_view> value) {
  if (!value) return v1::HOLD_STATE_UNSPECIFIED;
  if (EqualsIgnoreCase(*value, "on_hold")) return v1::HOLD_STATE_ON_HOLD;
  if (EqualsIgnoreCase(*value, "off_hold")) return v1::HOLD_STATE_OFF_HOLD;
  return v1::HOLD_STATE_UNSPECIFIED;
}

// Digits at s[pos, pos+len) as a number, or -1.
int Digits(std::string_view s, size_t pos, size_t len) {
  int n = 0;
  const auto [end, ec] = std::from_chars(s.data() + pos, s.data() + pos + len, n);
  return ec == std::errc() && end == s.data() + pos + len && s[pos] != '-' ? n : -1;
}

// "2019-03-25T10-34-22" (the softphone's form), "2019-03-25T10:34:22" or "2019-03-25 10:34:22".
// The softphone sends its local time with no zone; with nothing better to go on it is read as
// UTC, and consumers that know the phone's zone can shift it.
std::optional<google::protobuf::Timestamp> ParseTime(std::optional<std::string_view> value) {
  if (!value || value->size() != 19) return std::nullopt;
  const std::string_view s = *value;
  const char date_time = s[10];
  if (s[4] != '-' || s[7] != '-' || (date_time != 'T' && date_time != 't' && date_time != ' ')) {
    return std::nullopt;
  }
  if (!((s[13] == '-' && s[16] == '-') || (s[13] == ':' && s[16] == ':'))) return std::nullopt;
  const int year = Digits(s, 0, 4), month = Digits(s, 5, 2), day = Digits(s, 8, 2);
  const int hour = Digits(s, 11, 2), minute = Digits(s, 14, 2), second = Digits(s, 17, 2);
  // Year 0 is outside protobuf's Timestamp range (0001-9999), which its JSON refuses.
  if (year < 1 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
      second < 0 || second > 59) {
    return std::nullopt;
  }
  const std::chrono::year_month_day date{std::chrono::year(year),
                                         std::chrono::month(static_cast<unsigned>(month)),
                                         std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return std::nullopt;
  const int64_t days = std::chrono::sys_days(date).time_since_epoch().count();
  google::protobuf::Timestamp ts;
  ts.set_seconds(days * 86400 + int64_t{hour} * 3600 + int64_t{minute} * 60 + second);
  return ts;
}

std::optional<int64_t> ParseSeconds(std::optional<std::string_view> value) {
  if (!value) return std::nullopt;
  int64_t n = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
  // Past protobuf's Duration range (10,000 years), which its JSON refuses.
  constexpr int64_t kMaxDurationSeconds = 315'576'000'000;
  if (ec != std::errc() || end != value->data() + value->size() || n < 0 ||
      n > kMaxDurationSeconds) {
    return std::nullopt;
  }
  return n;
}

}  // namespace

absl::StatusOr<v1::PhoneEvent> Parse(const ActionUrl& url, const ParamNames& names) {
  const url::Query& q = url.query;
  std::string_view name = url.event;
  if (name.empty()) name = Value(q, names.action).value_or(std::string_view{});
  if (name.empty()) {
    return absl::InvalidArgumentError(
        "missing event name: softphone Action URLs carry it in the '" + names.action +
        "' parameter (or as /softphone/{event})");
  }
  const Event* spec = Find(name);

  v1::PhoneEvent event;
  // From the path, `name` is raw bytes: a proto3 string must be UTF-8, or no consumer can decode
  // the event.
  event.set_vendor_event(url::ToUtf8(name));
  event.mutable_device()->set_vendor(v1::VENDOR_SOFTPHONE);
  // The softphone has no MAC: the administrator names it in the template.
  if (auto device = Value(url.query, names.device)) {
    event.mutable_device()->set_id(std::string(*device));
  }

  v1::Call& call = *event.mutable_call();
  v1::Direction direction = ParseDirection(Value(q, names.call_direction));
  if (direction == v1::DIRECTION_UNSPECIFIED && spec != nullptr) {
    // The kind says it when the template left the direction out.
    if (spec->kind == v1::EVENT_KIND_CALL_INCOMING) direction = v1::DIRECTION_INBOUND;
    if (spec->kind == v1::EVENT_KIND_CALL_OUTGOING) direction = v1::DIRECTION_OUTBOUND;
  }
  call.set_direction(direction);
  if (const auto guid = Value(q, names.call_guid)) call.set_call_guid(std::string(*guid));
  const auto local = Value(q, names.local_party);
  const auto local_alias = Value(q, names.local_alias);
  if (local || local_alias) *call.mutable_local() = ParseParty(local, local_alias);
  const auto remote = Value(q, names.remote_party);
  const auto remote_alias = Value(q, names.remote_alias);
  if (remote || remote_alias) *call.mutable_remote() = ParseParty(remote, remote_alias);
  // The local party is the account's SIP URI (user@domain) in this softphone.
  if (std::string account = Account(local); !account.empty()) call.set_account(std::move(account));
  const v1::HoldState hold = ParseHold(Value(q, names.hold_state));
  call.set_hold(hold);
  if (auto ts = ParseTime(Value(q, names.created_time))) *call.mutable_created_at() = *ts;
  if (auto ts = ParseTime(Value(q, names.connected_time))) *call.mutable_connected_at() = *ts;
  if (auto ts = ParseTime(Value(q, names.disconnected_time))) *call.mutable_disconnected_at() = *ts;
  const auto duration = ParseSeconds(Value(q, names.call_duration));
  if (duration) call.mutable_duration()->set_seconds(*duration);

  v1::EventKind kind = spec != nullptr ? spec->kind : v1::EVENT_KIND_OTHER;
  if (kind == v1::EVENT_KIND_CALL_HOLD) {
    // One Action URL serves both directions of hold; without the state it says nothing usable.
    kind = hold == v1::HOLD_STATE_ON_HOLD    ? v1::EVENT_KIND_CALL_HOLD
           : hold == v1::HOLD_STATE_OFF_HOLD ? v1::EVENT_KIND_CALL_UNHOLD
                                             : v1::EVENT_KIND_OTHER;
  }
  if (kind == v1::EVENT_KIND_CALL_TERMINATED && direction == v1::DIRECTION_INBOUND) {
    // "If the call has never been connected, this is a missed call." A connected time or a
    // talk time shows it was connected even when the template lacks one of them.
    const bool connected = Value(q, names.connected_time).has_value() || duration.value_or(0) > 0;
    if (!connected) kind = v1::EVENT_KIND_CALL_MISSED;
  }
  event.set_kind(kind);
  SetKindFacts(event);
  return event;
}

std::string Provisioning(std::string_view adapter_url, const ParamNames& names,
                         std::string_view device_id) {
  std::string url(TrimTrailingSlash(adapter_url));
  url.append("/").append(kPath);
  char separator = '?';
  for (const Placeholder& p : kPlaceholders) {
    url.push_back(separator);
    url.append(url::PercentEncode(names.*(p.name))).append("=").append(p.placeholder);
    separator = '&';
  }
  if (!device_id.empty()) {
    url.append("&").append(url::PercentEncode(names.device)).append("=");
    url.append(url::PercentEncode(device_id));
  }

  std::string out =
      "# phonebus Action URLs for the softphone (Global IP Telecommunications and OEM builds).\n"
      "# Settings -> Action URL: tick \"Aktiviere Action-URLs\" (enable Action URLs), then under\n"
      "# \"Konfiguration von Action-URL's\" enter this URL for each of the five kinds and tick\n"
      "# \"Aktiviere diese Action-URL\" (enable this Action URL) for each.\n";
  for (const Event& event : kEvents) {
    out.append(event.menu).append(" (").append(event.meaning).append("): ");
    out.append(url).append("\n");
  }
  return out;
}

}  // namespace phonebus::adapter::softphone
