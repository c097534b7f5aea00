#include "snom.h"

#include <array>
#include <charconv>
#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "values.h"

namespace phonebus::adapter::snom {
namespace {

// Which variables an event's template carries: the device always, the rest where SNOM fills them.
enum class Scope { kDevice, kAccount, kCall };

struct Event {
  // The phone setting, exactly as SNOM spells it (some lack the "_url" suffix).
  std::string_view setting;
  v1::EventKind kind;
  Scope scope;
  // Set where the event name itself says which way the call goes.
  v1::Direction direction = v1::DIRECTION_UNSPECIFIED;
};

constexpr auto kIn = v1::DIRECTION_INBOUND;
constexpr auto kOut = v1::DIRECTION_OUTBOUND;

// The single source of truth for Parse and Provisioning. SNOM does not say which kind of
// redirection changed, so forwarding.type stays unspecified.
constexpr std::array kEvents = {
    Event{"action_setup_url", v1::EVENT_KIND_SETUP_COMPLETED, Scope::kDevice},
    Event{"action_log_on_url", v1::EVENT_KIND_REGISTERED, Scope::kAccount},
    Event{"action_log_off_url", v1::EVENT_KIND_UNREGISTERED, Scope::kAccount},
    Event{"action_reg_failed", v1::EVENT_KIND_REGISTER_FAILED, Scope::kAccount},
    Event{"action_offhook_url", v1::EVENT_KIND_OFF_HOOK, Scope::kDevice},
    Event{"action_onhook_url", v1::EVENT_KIND_ON_HOOK, Scope::kDevice},
    Event{"action_incoming_url", v1::EVENT_KIND_CALL_INCOMING, Scope::kCall, kIn},
    Event{"action_outgoing_url", v1::EVENT_KIND_CALL_OUTGOING, Scope::kCall, kOut},
    Event{"action_connected_url", v1::EVENT_KIND_CALL_ESTABLISHED, Scope::kCall},
    Event{"action_disconnected_url", v1::EVENT_KIND_CALL_TERMINATED, Scope::kCall},
    Event{"action_missed_url", v1::EVENT_KIND_CALL_MISSED, Scope::kCall, kIn},
    Event{"action_hold", v1::EVENT_KIND_CALL_HOLD, Scope::kCall},
    Event{"action_unhold", v1::EVENT_KIND_CALL_UNHOLD, Scope::kCall},
    Event{"action_transfer", v1::EVENT_KIND_TRANSFER, Scope::kCall},
    Event{"action_blind_transfer", v1::EVENT_KIND_BLIND_TRANSFER, Scope::kCall},
    Event{"action_attended_transfer", v1::EVENT_KIND_ATTENDED_TRANSFER, Scope::kCall},
    Event{"action_dnd_on_url", v1::EVENT_KIND_DND_ON, Scope::kAccount},
    Event{"action_dnd_off_url", v1::EVENT_KIND_DND_OFF, Scope::kAccount},
    Event{"action_redirection_on_url", v1::EVENT_KIND_FORWARD_ON, Scope::kAccount},
    Event{"action_redirection_off_url", v1::EVENT_KIND_FORWARD_OFF, Scope::kAccount},
};

// "action_incoming_url" -> "incoming", "action_hold" -> "hold": the path segment.
constexpr std::string_view EventName(std::string_view setting) {
  if (setting.starts_with("action_")) setting.remove_prefix(7);
  if (setting.ends_with("_url")) setting.remove_suffix(4);
  return setting;
}

// Query parameter names are the variable names, except $call-id, which becomes call_id so that
// every dialect's parameters look alike.
constexpr std::string_view kDeviceParams = "mac=$mac&phone_ip=$phone_ip&local_ip=$local_ip";
constexpr std::string_view kAccountParams =
    "&active_url=$active_url&active_user=$active_user&active_host=$active_host";
constexpr std::string_view kCallParams =
    "&local=$local&remote=$remote&display_local=$display_local&display_remote=$display_remote"
    "&call_id=$call-id&csta_id=$csta_id&nr_ongoing_calls=$nr_ongoing_calls"
    "&cancel_reason=$cancel_reason";

const Event* Find(std::string_view name) {
  for (const Event& event : kEvents) {
    if (EqualsIgnoreCase(EventName(event.setting), name)) return &event;
  }
  return nullptr;
}

// What the XML needs escaped in element text; '&' joins every query.
std::string XmlEscape(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 32);
  for (const char c : in) {
    switch (c) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<v1::PhoneEvent> Parse(const ActionUrl& url) {
  if (url.event.empty()) {
    return absl::InvalidArgumentError(
        "missing event name: SNOM Action URLs must look like /snom/{event}?...");
  }
  const url::Query& q = url.query;
  const Event* spec = Find(url.event);

  v1::PhoneEvent event;
  // The path segment is raw bytes (Beast passes obs-text through): a proto3 string must be UTF-8,
  // or no consumer can decode the event.
  event.set_vendor_event(url::ToUtf8(url.event));
  event.set_kind(spec != nullptr ? spec->kind : v1::EVENT_KIND_OTHER);

  v1::Device& device = *event.mutable_device();
  device.set_vendor(v1::VENDOR_SNOM);
  if (const auto mac = Value(q, "mac")) device.set_mac(NormalizeMac(*mac));
  // $local_ip is what older firmware offers when $phone_ip is not known.
  auto ip = Value(q, "phone_ip");
  if (!ip) ip = Value(q, "local_ip");
  if (ip) device.set_ip(std::string(*ip));

  const std::string account =
      Account(Value(q, "active_url"), Value(q, "active_user"), Value(q, "active_host"));

  v1::Call call;
  call.set_direction(spec != nullptr ? spec->direction : v1::DIRECTION_UNSPECIFIED);
  if (const auto call_id = Value(q, "call_id")) call.set_call_id(std::string(*call_id));
  if (const auto csta_id = Value(q, "csta_id")) call.set_csta_id(std::string(*csta_id));
  if (const auto reason = Value(q, "cancel_reason")) call.set_cancel_reason(std::string(*reason));
  if (const auto ongoing = Value(q, "nr_ongoing_calls")) {
    uint32_t n = 0;
    const auto [end, ec] = std::from_chars(ongoing->data(), ongoing->data() + ongoing->size(), n);
    // A count the phone garbled is dropped, not an error: the event itself is still good.
    if (ec == std::errc() && end == ongoing->data() + ongoing->size()) call.set_ongoing_calls(n);
  }
  const auto remote = Value(q, "remote");
  const auto display_remote = Value(q, "display_remote");
  if (remote || display_remote) *call.mutable_remote() = ParseParty(remote, display_remote);
  const auto local = Value(q, "local");
  const auto display_local = Value(q, "display_local");
  if (local || display_local) *call.mutable_local() = ParseParty(local, display_local);
  // A call is reported when the event is about one or the phone said something about one.
  if ((spec != nullptr && spec->scope == Scope::kCall) || call.ByteSizeLong() > 0) {
    if (!account.empty()) call.set_account(account);
    *event.mutable_call() = std::move(call);
  }

  switch (event.kind()) {
    case v1::EVENT_KIND_REGISTERED:
    case v1::EVENT_KIND_UNREGISTERED:
    case v1::EVENT_KIND_REGISTER_FAILED:
      event.mutable_registration()->set_account(account);
      break;
    case v1::EVENT_KIND_FORWARD_ON:
    case v1::EVENT_KIND_FORWARD_OFF:
      event.mutable_forwarding()->set_type(v1::FORWARD_TYPE_UNSPECIFIED);
      break;
    default:
      break;
  }
  SetKindFacts(event);
  return event;
}

std::string Provisioning(std::string_view adapter_url) {
  const std::string_view base = TrimTrailingSlash(adapter_url);
  std::string out =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<settings>\n"
      "<phone-settings>\n";
  for (const Event& event : kEvents) {
    std::string url(base);
    url.append("/").append(kPath).append("/").append(EventName(event.setting)).append("?");
    url.append(kDeviceParams);
    if (event.scope != Scope::kDevice) url.append(kAccountParams);
    if (event.scope == Scope::kCall) url.append(kCallParams);
    out.append("  <").append(event.setting).append(" perm=\"\">");
    out.append(XmlEscape(url));
    out.append("</").append(event.setting).append(">\n");
  }
  out.append("</phone-settings>\n</settings>\n");
  return out;
}

}  // namespace phonebus::adapter::snom
