#include "yealink.h"

#include <array>
#include <optional>

#include "absl/status/status.h"
#include "values.h"

namespace phonebus::adapter::yealink {
namespace {

// Which variables an event's template carries. Every template carries the device; the rest only
// where the phone fills them, so templates stay well under the phone's 511-character limit.
enum class Scope { kDevice, kAccount, kCall };

struct Event {
  std::string_view name;  // provisioning key suffix and path segment
  v1::EventKind kind;
  Scope scope;
  // Set where the event name itself says which way the call goes.
  v1::Direction direction = v1::DIRECTION_UNSPECIFIED;
  v1::ForwardType forward = v1::FORWARD_TYPE_UNSPECIFIED;
  // False for names seen on older firmware and in the web UI: accepted, never provisioned,
  // because current firmware ignores those keys.
  bool provisioned = true;
};

constexpr auto kIn = v1::DIRECTION_INBOUND;
constexpr auto kOut = v1::DIRECTION_OUTBOUND;
constexpr auto kNone = v1::DIRECTION_UNSPECIFIED;

// The single source of truth for Parse and Provisioning.
constexpr std::array kEvents = {
    Event{"setup_completed", v1::EVENT_KIND_SETUP_COMPLETED, Scope::kDevice},
    Event{"registered", v1::EVENT_KIND_REGISTERED, Scope::kAccount},
    Event{"unregistered", v1::EVENT_KIND_UNREGISTERED, Scope::kAccount},
    Event{"register_failed", v1::EVENT_KIND_REGISTER_FAILED, Scope::kAccount},
    Event{"off_hook", v1::EVENT_KIND_OFF_HOOK, Scope::kDevice},
    Event{"on_hook", v1::EVENT_KIND_ON_HOOK, Scope::kDevice},
    Event{"incoming_call", v1::EVENT_KIND_CALL_INCOMING, Scope::kCall, kIn},
    Event{"outgoing_call", v1::EVENT_KIND_CALL_OUTGOING, Scope::kCall, kOut},
    Event{"call_established", v1::EVENT_KIND_CALL_ESTABLISHED, Scope::kCall},
    Event{"call_terminated", v1::EVENT_KIND_CALL_TERMINATED, Scope::kCall},
    Event{"missed_call", v1::EVENT_KIND_CALL_MISSED, Scope::kCall, kIn},
    Event{"hold", v1::EVENT_KIND_CALL_HOLD, Scope::kCall},
    Event{"unhold", v1::EVENT_KIND_CALL_UNHOLD, Scope::kCall},
    Event{"mute", v1::EVENT_KIND_MUTE, Scope::kCall},
    Event{"unmute", v1::EVENT_KIND_UNMUTE, Scope::kCall},
    Event{"dnd_on", v1::EVENT_KIND_DND_ON, Scope::kAccount},
    Event{"dnd_off", v1::EVENT_KIND_DND_OFF, Scope::kAccount},
    Event{"always_fwd_on", v1::EVENT_KIND_FORWARD_ON, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_ALWAYS},
    Event{"always_fwd_off", v1::EVENT_KIND_FORWARD_OFF, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_ALWAYS},
    Event{"busy_fwd_on", v1::EVENT_KIND_FORWARD_ON, Scope::kAccount, kNone, v1::FORWARD_TYPE_BUSY},
    Event{"busy_fwd_off", v1::EVENT_KIND_FORWARD_OFF, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_BUSY},
    Event{"no_answer_fwd_on", v1::EVENT_KIND_FORWARD_ON, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_NO_ANSWER},
    Event{"no_answer_fwd_off", v1::EVENT_KIND_FORWARD_OFF, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_NO_ANSWER},
    Event{"transfer_call", v1::EVENT_KIND_TRANSFER, Scope::kCall},
    Event{"blind_transfer_call", v1::EVENT_KIND_BLIND_TRANSFER, Scope::kCall},
    Event{"attended_transfer_call", v1::EVENT_KIND_ATTENDED_TRANSFER, Scope::kCall},
    Event{"transfer_finished", v1::EVENT_KIND_TRANSFER_FINISHED, Scope::kCall},
    Event{"transfer_failed", v1::EVENT_KIND_TRANSFER_FAILED, Scope::kCall},
    Event{"idle_to_busy", v1::EVENT_KIND_IDLE_TO_BUSY, Scope::kCall},
    Event{"busy_to_idle", v1::EVENT_KIND_BUSY_TO_IDLE, Scope::kCall},
    Event{"reject_incoming_call", v1::EVENT_KIND_CALL_REJECTED, Scope::kCall, kIn},
    Event{"answer_new_incoming_call", v1::EVENT_KIND_CALL_ANSWERED_WAITING, Scope::kCall, kIn},
    Event{"forward_incoming_call", v1::EVENT_KIND_CALL_FORWARDED, Scope::kCall, kIn},
    Event{"cancel_callout", v1::EVENT_KIND_CALL_CANCELLED, Scope::kCall, kOut},
    Event{"remote_busy", v1::EVENT_KIND_CALL_REMOTE_BUSY, Scope::kCall, kOut},
    Event{"call_remote_canceled", v1::EVENT_KIND_CALL_REMOTE_CANCELLED, Scope::kCall, kIn},
    Event{"call_waiting_on", v1::EVENT_KIND_CALL_WAITING_ON, Scope::kAccount},
    Event{"call_waiting_off", v1::EVENT_KIND_CALL_WAITING_OFF, Scope::kAccount},
    Event{"headset", v1::EVENT_KIND_HEADSET, Scope::kDevice},
    Event{"handfree", v1::EVENT_KIND_HANDSFREE, Scope::kDevice},
    Event{"ip_change", v1::EVENT_KIND_IP_CHANGED, Scope::kDevice},
    Event{"setup_autop_finish", v1::EVENT_KIND_PROVISIONING_FINISHED, Scope::kDevice},
    Event{"peripheral_information", v1::EVENT_KIND_PERIPHERAL_CHANGED, Scope::kDevice},
    Event{"vpn_ip", v1::EVENT_KIND_VPN_IP_CHANGED, Scope::kDevice},
    // Names from the web UI and older firmware (the seed's "Log On", "Open DND", ...).
    Event{"log_on", v1::EVENT_KIND_REGISTERED, Scope::kAccount, kNone, {}, false},
    Event{"log_off", v1::EVENT_KIND_UNREGISTERED, Scope::kAccount, kNone, {}, false},
    Event{"registration_failed", v1::EVENT_KIND_REGISTER_FAILED, Scope::kAccount, kNone, {}, false},
    Event{"open_dnd", v1::EVENT_KIND_DND_ON, Scope::kAccount, kNone, {}, false},
    Event{"close_dnd", v1::EVENT_KIND_DND_OFF, Scope::kAccount, kNone, {}, false},
    Event{"open_always_fwd", v1::EVENT_KIND_FORWARD_ON, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_ALWAYS, false},
    Event{"close_always_fwd", v1::EVENT_KIND_FORWARD_OFF, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_ALWAYS, false},
    Event{"open_busy_fwd", v1::EVENT_KIND_FORWARD_ON, Scope::kAccount, kNone, v1::FORWARD_TYPE_BUSY,
          false},
    Event{"close_busy_fwd", v1::EVENT_KIND_FORWARD_OFF, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_BUSY, false},
    Event{"open_no_answer_fwd", v1::EVENT_KIND_FORWARD_ON, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_NO_ANSWER, false},
    Event{"close_no_answer_fwd", v1::EVENT_KIND_FORWARD_OFF, Scope::kAccount, kNone,
          v1::FORWARD_TYPE_NO_ANSWER, false},
};

// Query parameter names are the variable names, so a template reads like the phone's manual.
constexpr std::string_view kDeviceParams = "mac=$mac&ip=$ip&model=$model&firmware=$firmware";
constexpr std::string_view kAccountParams =
    "&active_url=$active_url&active_user=$active_user&active_host=$active_host";
constexpr std::string_view kCallParams =
    "&local=$local&remote=$remote&display_local=$display_local&display_remote=$display_remote"
    "&call_id=$call_id&callerID=$callerID&calledNumber=$calledNumber";

const Event* Find(std::string_view name) {
  for (const Event& event : kEvents) {
    // Firmware has been seen to vary the case of names; the table is lower case.
    if (EqualsIgnoreCase(event.name, name)) return &event;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<v1::PhoneEvent> Parse(const ActionUrl& url) {
  if (url.event.empty()) {
    return absl::InvalidArgumentError(
        "missing event name: Yealink Action URLs must look like /yealink/{event}?...");
  }
  const url::Query& q = url.query;
  const Event* spec = Find(url.event);

  v1::PhoneEvent event;
  // The path segment is raw bytes (Beast passes obs-text through): a proto3 string must be UTF-8,
  // or no consumer can decode the event.
  event.set_vendor_event(url::ToUtf8(url.event));
  event.set_kind(spec != nullptr ? spec->kind : v1::EVENT_KIND_OTHER);

  v1::Device& device = *event.mutable_device();
  device.set_vendor(v1::VENDOR_YEALINK);
  if (const auto mac = Value(q, "mac")) device.set_mac(NormalizeMac(*mac));
  if (const auto ip = Value(q, "ip")) device.set_ip(std::string(*ip));
  if (const auto model = Value(q, "model")) device.set_model(std::string(*model));
  if (const auto firmware = Value(q, "firmware")) device.set_firmware(std::string(*firmware));

  const std::string account =
      Account(Value(q, "active_url"), Value(q, "active_user"), Value(q, "active_host"));

  v1::Call call;
  const v1::Direction direction = spec != nullptr ? spec->direction : kNone;
  call.set_direction(direction);
  if (const auto call_id = Value(q, "call_id")) call.set_call_id(std::string(*call_id));
  auto remote = Value(q, "remote");
  // Newer firmware fills only $callerID / $calledNumber on some events; which one names the
  // other side depends on the direction, so without one neither is trusted.
  if (!remote && direction == kIn) remote = Value(q, "callerID");
  if (!remote && direction == kOut) remote = Value(q, "calledNumber");
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
      event.mutable_forwarding()->set_type(spec->forward);
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
      "# phonebus Action URLs for Yealink: load as provisioning keys (auto-provisioning .cfg)\n"
      "# or enter each URL under Features -> Action URL in the phone's web UI.\n";
  for (const Event& event : kEvents) {
    if (!event.provisioned) continue;
    out.append("action_url.").append(event.name).append(" = ").append(base);
    out.append("/").append(kPath).append("/").append(event.name).append("?");
    out.append(kDeviceParams);
    if (event.scope != Scope::kDevice) out.append(kAccountParams);
    if (event.scope == Scope::kCall) out.append(kCallParams);
    out.append("\n");
  }
  return out;
}

}  // namespace phonebus::adapter::yealink
