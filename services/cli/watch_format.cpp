#include "watch_format.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <ctime>
#include <vector>

#include "exit_codes.h"
#include "topics.h"
#include "utf8.h"

namespace phonebus::cli {
namespace {

constexpr size_t kDeviceWidth = 12;  // a MAC
constexpr size_t kKindWidth = 16;    // "call_established"

void AppendHex(std::string& out, unsigned char byte) {
  char buf[5];
  std::snprintf(buf, sizeof buf, "\\x%02x", byte);
  out += buf;
}

// Characters a terminal acts on instead of showing: C0, DEL, C1, and the
// bidirectional overrides that reorder what follows them.
bool Unsafe(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

std::string Or(std::string_view value, std::string_view fallback) {
  return value.empty() ? std::string(fallback) : Sanitize(value);
}

std::string Pad(std::string text, size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

// Joins the non-empty parts with two spaces: groups stay apart at a glance.
std::string Join(const std::vector<std::string>& parts, std::string_view separator = "  ") {
  std::string out;
  for (const auto& part : parts) {
    if (part.empty()) continue;
    if (!out.empty()) out += separator;
    out += part;
  }
  return out;
}

std::string Line(const std::string& time, std::string_view site, std::string_view device,
                 const std::string& kind, const std::string& details) {
  std::string line = time + " " + Or(site, "-") + " " + Pad(Or(device, "-"), kDeviceWidth) + " " +
                     Pad(kind, kKindWidth) + " " + details;
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

// "always" for FORWARD_TYPE_ALWAYS: an enum name without its prefix, lower case.
std::string EnumWord(const std::string& name, std::string_view prefix) {
  std::string word = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
  for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return word;
}

std::string VendorWord(v1::Vendor vendor) {
  return vendor == v1::VENDOR_UNSPECIFIED ? "" : EnumWord(v1::Vendor_Name(vendor), "VENDOR_");
}

std::string Quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : Sanitize(text)) {
    if (c == '"') out += '\\';
    out += c;
  }
  return out + "\"";
}

// "+4930123456 \"Jürgen\"": the number (or the URI when that is all there is)
// and the display name when it adds something.
std::string PartyText(const v1::Party& party) {
  std::string text = Sanitize(!party.number().empty() ? party.number() : party.uri());
  if (!party.display_name().empty() && party.display_name() != party.number()) {
    if (!text.empty()) text += ' ';
    text += Quote(party.display_name());
  }
  return text;
}

// The phone's own side: the account it uses says most.
std::string LocalText(const v1::Call& call) {
  if (!call.account().empty()) return Sanitize(call.account());
  if (!call.local().uri().empty()) return Sanitize(call.local().uri());
  return Sanitize(call.local().number());
}

v1::Direction DirectionOf(const v1::PhoneEvent& event) {
  if (event.call().direction() != v1::DIRECTION_UNSPECIFIED) return event.call().direction();
  switch (event.kind()) {
    case v1::EVENT_KIND_CALL_INCOMING:
    case v1::EVENT_KIND_CALL_MISSED:
    case v1::EVENT_KIND_CALL_REJECTED:
    case v1::EVENT_KIND_CALL_FORWARDED:
    case v1::EVENT_KIND_CALL_REMOTE_CANCELLED:
    case v1::EVENT_KIND_CALL_ANSWERED_WAITING:
      return v1::DIRECTION_INBOUND;
    case v1::EVENT_KIND_CALL_OUTGOING:
    case v1::EVENT_KIND_CALL_CANCELLED:
    case v1::EVENT_KIND_CALL_REMOTE_BUSY:
      return v1::DIRECTION_OUTBOUND;
    default:
      return v1::DIRECTION_UNSPECIFIED;
  }
}

// "1:23" or "1:02:03".
std::string Elapsed(int64_t seconds) {
  char buf[32];
  if (seconds >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(seconds / 3600),
                  static_cast<long long>(seconds / 60 % 60), static_cast<long long>(seconds % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(seconds / 60),
                  static_cast<long long>(seconds % 60));
  }
  return buf;
}

// "0.4ms", "85ms", "1.25s": commands on a LAN take well under a millisecond.
std::string Latency(const google::protobuf::Duration& d) {
  const double ms = static_cast<double>(d.seconds()) * 1000.0 + d.nanos() / 1e6;
  char buf[32];
  if (ms < 10) {
    std::snprintf(buf, sizeof buf, "%.1fms", ms);
  } else if (ms < 1000) {
    std::snprintf(buf, sizeof buf, "%.0fms", ms);
  } else {
    std::snprintf(buf, sizeof buf, "%.2fs", ms / 1000.0);
  }
  return buf;
}

std::string CallText(const v1::PhoneEvent& event) {
  const v1::Call& call = event.call();
  const std::string remote = PartyText(call.remote());
  const std::string local = LocalText(call);
  std::string parties;
  if (!remote.empty() || !local.empty()) {
    const std::string r = remote.empty() ? "?" : remote;
    const std::string l = local.empty() ? "?" : local;
    switch (DirectionOf(event)) {
      case v1::DIRECTION_INBOUND:
        parties = r + " -> " + l;
        break;
      case v1::DIRECTION_OUTBOUND:
        parties = l + " -> " + r;
        break;
      default:
        parties = local.empty() ? r : l + " <-> " + r;
    }
  }
  std::string id;
  if (!call.call_id().empty()) {
    id = "call " + Sanitize(call.call_id());
  } else if (!call.call_guid().empty()) {
    id = "call " + Sanitize(call.call_guid());
  }
  std::string talked;
  if (call.has_duration()) talked = "talked " + Elapsed(call.duration().seconds());
  std::string reason;
  if (!call.cancel_reason().empty()) reason = "reason " + Sanitize(call.cancel_reason());
  return Join({parties, id, talked, reason});
}

std::string DeviceText(const v1::Device& device) {
  return Join({VendorWord(device.vendor()), Sanitize(device.model()), Sanitize(device.firmware()),
               Sanitize(device.ip())},
              " ");
}

std::string RegistrationWord(v1::RegistrationStatus status) {
  switch (status) {
    case v1::REGISTRATION_STATUS_REGISTERED:
      return "registered";
    case v1::REGISTRATION_STATUS_UNREGISTERED:
      return "unregistered";
    case v1::REGISTRATION_STATUS_FAILED:
      return "failed";
    default:
      return "unknown";
  }
}

std::string CallsText(const v1::DeviceState& state) {
  if (state.active_calls_size() == 0) return "idle";
  std::vector<std::string> calls;
  for (const auto& call : state.active_calls()) {
    std::string id = Sanitize(!call.call_id().empty() ? call.call_id() : call.call_guid());
    if (call.hold() == v1::HOLD_STATE_ON_HOLD) id += " held";
    calls.push_back(std::move(id));
  }
  return std::to_string(state.active_calls_size()) +
         (state.active_calls_size() == 1 ? " call " : " calls ") + Join(calls, ", ");
}

std::string ForwardingText(const v1::DeviceState& state) {
  if (state.forwarding_size() == 0) return "forward off";
  std::vector<std::string> kinds;
  for (const int type : state.forwarding()) {
    kinds.push_back(
        EnumWord(v1::ForwardType_Name(static_cast<v1::ForwardType>(type)), "FORWARD_TYPE_"));
  }
  return "forward " + Join(kinds, ",");
}

const v1::Registration* FindAccount(const v1::DeviceState& state, const std::string& account) {
  for (const auto& a : state.accounts()) {
    if (a.account() == account) return &a;
  }
  return nullptr;
}

Clock::time_point ToTimePoint(const google::protobuf::Timestamp& t) {
  return Clock::time_point(std::chrono::duration_cast<Clock::duration>(
      std::chrono::seconds(t.seconds()) + std::chrono::nanoseconds(t.nanos())));
}

}  // namespace

std::string Sanitize(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    const size_t len = utf8::Decode(text, i, &cp);
    if (len == 0) {
      AppendHex(out, static_cast<unsigned char>(text[i]));
      ++i;
      continue;
    }
    if (Unsafe(cp)) {
      for (size_t k = 0; k < len; ++k) AppendHex(out, static_cast<unsigned char>(text[i + k]));
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

std::string ClockTime(const google::protobuf::Timestamp& t, Clock::time_point fallback,
                      const FormatOptions& options) {
  const auto point = t.seconds() != 0 || t.nanos() != 0 ? ToTimePoint(t) : fallback;
  const auto since_epoch = point.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
  const std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  if (options.utc) {
    gmtime_r(&tt, &tm);
  } else {
    localtime_r(&tt, &tm);
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%02d:%02d:%02d.%03d", tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis.count()));
  return buf;
}

std::string FormatEvent(const v1::PhoneEvent& event, Clock::time_point arrived,
                        const FormatOptions& options) {
  std::vector<std::string> details;
  if (event.kind() == v1::EVENT_KIND_OTHER || !v1::EventKind_IsValid(event.kind())) {
    details.push_back(Sanitize(event.vendor_event()));
  }
  if (event.has_call()) details.push_back(CallText(event));
  if (event.has_registration()) details.push_back(Sanitize(event.registration().account()));
  if (event.has_forwarding() && event.forwarding().type() != v1::FORWARD_TYPE_UNSPECIFIED) {
    details.push_back(EnumWord(v1::ForwardType_Name(event.forwarding().type()), "FORWARD_TYPE_"));
  }
  switch (event.kind()) {
    case v1::EVENT_KIND_IP_CHANGED:
    case v1::EVENT_KIND_VPN_IP_CHANGED:
      details.push_back("ip " + Sanitize(event.device().ip()));
      break;
    case v1::EVENT_KIND_SETUP_COMPLETED:
    case v1::EVENT_KIND_PROVISIONING_FINISHED:
      details.push_back(DeviceText(event.device()));
      break;
    default:
      break;
  }
  return Line(ClockTime(event.received_at(), arrived, options), event.site(), event.device().id(),
              topics::KindName(event.kind()), Join(details));
}

std::string ResultSummary(const v1::CommandResult& result) {
  std::string outcome = Or(result.command(), "command") + " " + CodeName(result.code());
  if (result.code() != 0 && !result.message().empty()) outcome += ": " + Sanitize(result.message());
  std::string phone;
  if (result.phone_status() != 0) phone = "phone " + std::to_string(result.phone_status());
  std::string latency;
  if (result.has_latency()) latency = Latency(result.latency());
  std::string request;
  if (!result.request_id().empty()) request = "request " + Sanitize(result.request_id());
  return Join({outcome, phone, latency, request, result.replayed() ? "replayed" : ""});
}

std::string FormatResult(const v1::CommandResult& result, Clock::time_point arrived,
                         const FormatOptions& options) {
  google::protobuf::Timestamp done = result.requested_at();
  if (result.has_requested_at() && result.has_latency()) {
    const int64_t nanos = int64_t{done.nanos()} + result.latency().nanos();
    done.set_seconds(done.seconds() + result.latency().seconds() + nanos / 1000000000);
    done.set_nanos(static_cast<int32_t>(nanos % 1000000000));
  }
  return Line(ClockTime(done, arrived, options), result.site(), result.device_id(),
              "command_result", ResultSummary(result));
}

std::string StateChanges(const v1::DeviceState* before, const v1::DeviceState& after) {
  std::vector<std::string> parts;
  // A piece is shown when it is new or differs from what was there before.
  auto piece = [&](const std::string& now, const std::string& was) {
    if (before == nullptr || now != was) parts.push_back(now);
  };
  const v1::DeviceState empty;
  const v1::DeviceState& old = before != nullptr ? *before : empty;
  piece(after.dnd() ? "dnd on" : "dnd off", old.dnd() ? "dnd on" : "dnd off");
  piece(CallsText(after), CallsText(old));
  if (before != nullptr || after.forwarding_size() > 0) {
    piece(ForwardingText(after), ForwardingText(old));
  }
  for (const auto& account : after.accounts()) {
    const auto* was = FindAccount(old, account.account());
    if (was == nullptr || was->status() != account.status()) {
      parts.push_back(Sanitize(account.account()) + " " + RegistrationWord(account.status()));
    }
  }
  const std::string ip = Sanitize(after.device().ip());
  if (!ip.empty()) piece("ip " + ip, "ip " + Sanitize(old.device().ip()));
  if (before != nullptr && after.device().firmware() != old.device().firmware()) {
    parts.push_back("firmware " + Or(after.device().firmware(), "-"));
  }
  return Join(parts);
}

std::optional<std::string> FormatState(const v1::DeviceState* before, const v1::DeviceState& after,
                                       Clock::time_point arrived, const FormatOptions& options) {
  const std::string changes = StateChanges(before, after);
  if (changes.empty()) return std::nullopt;
  return Line(ClockTime(after.last_seen(), arrived, options), after.site(), after.device().id(),
              "state", changes);
}

TopicInfo ParseTopic(std::string_view topic) {
  std::vector<std::string_view> levels;
  for (size_t start = 0;;) {
    const size_t slash = topic.find('/', start);
    levels.push_back(topic.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  TopicInfo info;
  if (levels.size() < 6 || levels[0] != "phonebus" || levels[1] != "v1" || levels[3] != "device") {
    return info;
  }
  info.site = levels[2];
  info.device = levels[4];
  if (levels.size() == 6 && levels[5] == "state") {
    info.kind = TopicInfo::Kind::kState;
  } else if (levels.size() == 7 && levels[5] == "event") {
    info.kind = TopicInfo::Kind::kEvent;
    info.event_kind = levels[6];
  } else if (levels.size() == 7 && levels[5] == "command" && levels[6] == "result") {
    info.kind = TopicInfo::Kind::kResult;
  }
  return info;
}

bool Decode(const std::string& payload, std::string_view content_type,
            google::protobuf::Message* message) {
  auto json = [&] {
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = true;
    message->Clear();
    return google::protobuf::util::JsonStringToMessage(payload, message, options).ok();
  };
  auto binary = [&] { return message->ParseFromString(payload); };
  if (content_type == "application/json") return json();
  if (content_type == "application/x-protobuf") return binary();
  // No content type (MQTT 3.1.1). None of our messages can start with '{' in
  // binary (it would be a group, field 15), so such a payload is JSON first.
  if (!payload.empty() && payload.front() == '{') return json() || binary();
  return binary() || json();
}

std::string JsonLine(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace phonebus::cli
