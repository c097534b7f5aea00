#include "device_state.h"

#include <algorithm>
#include <utility>

namespace phonebus::adapter {
namespace {

using v1::EventKind;

constexpr int kMaxActiveCalls = 16;  // if end events are lost, old calls age out
// A phone has at most 16 lines; past that, names came from calls (or from
// someone sending made-up ones), and the state must not grow without end.
constexpr int kMaxAccounts = 16;

std::string CallKey(const v1::Call& call) {
  return !call.call_id().empty() ? call.call_id() : call.call_guid();
}

void MergeDevice(const v1::Device& from, v1::Device* to) {
  if (!from.id().empty()) to->set_id(from.id());
  if (!from.mac().empty()) to->set_mac(from.mac());
  if (!from.ip().empty()) to->set_ip(from.ip());
  if (from.vendor() != v1::VENDOR_UNSPECIFIED) to->set_vendor(from.vendor());
  if (!from.model().empty()) to->set_model(from.model());
  if (!from.firmware().empty()) to->set_firmware(from.firmware());
}

// A new account, in place of the oldest one no registration reported (else the oldest) when
// the list is full.
v1::Registration* AddAccount(v1::DeviceState* state) {
  auto* accounts = state->mutable_accounts();
  if (accounts->size() >= kMaxAccounts) {
    const auto unreported = std::find_if(accounts->begin(), accounts->end(), [](const auto& a) {
      return a.status() == v1::REGISTRATION_STATUS_UNSPECIFIED;
    });
    const int at = unreported != accounts->end()
                       ? static_cast<int>(std::distance(accounts->begin(), unreported))
                       : 0;
    accounts->DeleteSubrange(at, 1);
  }
  return accounts->Add();
}

void SetRegistration(const v1::Registration& reg, v1::DeviceState* state) {
  if (reg.account().empty()) return;
  for (auto& account : *state->mutable_accounts()) {
    if (account.account() == reg.account()) {
      account.set_status(reg.status());
      return;
    }
  }
  *AddAccount(state) = reg;
}

// An account a call used names this device too (the commander finds phones by
// account), even before a registration event reported its status.
void NoteAccount(const std::string& account, v1::DeviceState* state) {
  if (account.empty()) return;
  for (const auto& known : state->accounts()) {
    if (known.account() == account) return;
  }
  AddAccount(state)->set_account(account);
}

void SetForwarding(const v1::Forwarding& fwd, v1::DeviceState* state) {
  auto* list = state->mutable_forwarding();
  const auto it = std::find(list->begin(), list->end(), fwd.type());
  if (fwd.enabled() && it == list->end()) list->Add(fwd.type());
  if (!fwd.enabled() && it != list->end()) list->erase(it);
}

void RemoveCall(const std::string& key, v1::DeviceState* state) {
  auto* calls = state->mutable_active_calls();
  for (int i = 0; i < calls->size(); ++i) {
    if (CallKey(calls->Get(i)) == key) {
      calls->DeleteSubrange(i, 1);
      return;
    }
  }
}

void UpsertCall(const v1::Call& call, v1::DeviceState* state) {
  const std::string key = CallKey(call);
  for (auto& existing : *state->mutable_active_calls()) {
    if (CallKey(existing) == key) {
      // Later events may omit what earlier ones said: keep what we knew
      // (MergeFrom overwrites only the fields the new event set).
      existing.MergeFrom(call);
      return;
    }
  }
  auto* calls = state->mutable_active_calls();
  if (calls->size() >= kMaxActiveCalls) calls->DeleteSubrange(0, 1);
  *calls->Add() = call;
}

void ApplyCall(const v1::PhoneEvent& event, v1::DeviceState* state) {
  v1::Call call = event.call();
  switch (event.kind()) {
    case EventKind::EVENT_KIND_CALL_INCOMING:
    case EventKind::EVENT_KIND_CALL_OUTGOING:
      if (!call.has_created_at()) *call.mutable_created_at() = event.received_at();
      UpsertCall(call, state);
      break;
    case EventKind::EVENT_KIND_CALL_ESTABLISHED:
    case EventKind::EVENT_KIND_CALL_ANSWERED_WAITING:
      if (!call.has_connected_at()) *call.mutable_connected_at() = event.received_at();
      UpsertCall(call, state);
      break;
    case EventKind::EVENT_KIND_CALL_HOLD:
      call.set_hold(v1::HOLD_STATE_ON_HOLD);
      UpsertCall(call, state);
      break;
    case EventKind::EVENT_KIND_CALL_UNHOLD:
      call.set_hold(v1::HOLD_STATE_OFF_HOLD);
      UpsertCall(call, state);
      break;
    case EventKind::EVENT_KIND_CALL_TERMINATED:
    case EventKind::EVENT_KIND_CALL_MISSED:
    case EventKind::EVENT_KIND_CALL_REJECTED:
    case EventKind::EVENT_KIND_CALL_FORWARDED:
    case EventKind::EVENT_KIND_CALL_CANCELLED:
    case EventKind::EVENT_KIND_CALL_REMOTE_BUSY:
    case EventKind::EVENT_KIND_CALL_REMOTE_CANCELLED:
    case EventKind::EVENT_KIND_TRANSFER_FINISHED:
      RemoveCall(CallKey(call), state);
      break;
    case EventKind::EVENT_KIND_BUSY_TO_IDLE:
    case EventKind::EVENT_KIND_SETUP_COMPLETED:
      state->clear_active_calls();
      break;
    default:
      break;
  }
}

}  // namespace

const DeviceStates::State* DeviceStates::Fold(const v1::PhoneEvent& event, Undo* undo) {
  auto [it, is_new] = states_.try_emplace(event.device().id());
  State& s = it->second;
  v1::DeviceState& state = s.message;
  undo->device_id = event.device().id();
  undo->before.reset();
  if (!is_new) undo->before = std::exchange(s.bytes, {});

  state.set_site(event.site());
  MergeDevice(event.device(), state.mutable_device());
  switch (event.kind()) {
    case EventKind::EVENT_KIND_SETUP_COMPLETED:
      *state.mutable_booted_at() = event.received_at();
      break;
    case EventKind::EVENT_KIND_REGISTERED:
    case EventKind::EVENT_KIND_UNREGISTERED:
    case EventKind::EVENT_KIND_REGISTER_FAILED:
      SetRegistration(event.registration(), &state);
      break;
    case EventKind::EVENT_KIND_DND_ON:
    case EventKind::EVENT_KIND_DND_OFF:
      state.set_dnd(event.kind() == EventKind::EVENT_KIND_DND_ON);
      break;
    case EventKind::EVENT_KIND_FORWARD_ON:
    case EventKind::EVENT_KIND_FORWARD_OFF:
      SetForwarding(event.forwarding(), &state);
      break;
    default:
      break;
  }
  ApplyCall(event, &state);
  if (event.has_call()) NoteAccount(event.call().account(), &state);

  if (undo->before) {
    // Unchanged? The bookkeeping fields are not touched yet, so compare as
    // bytes: DeviceState has no maps, so equal content serialises equally,
    // and this is far cheaper than a reflective comparison on the request
    // path. Sizes first: a call added or a field set changes the size.
    const auto since = event.received_at().seconds() - state.last_seen().seconds();
    if (since < refresh_.count() && state.ByteSizeLong() == undo->before->size()) {
      s.bytes = state.SerializeAsString();
      if (s.bytes == *undo->before) return nullptr;
    }
  }
  *state.mutable_last_seen() = event.received_at();
  state.set_last_event_id(event.event_id());
  s.bytes = state.SerializeAsString();
  return &s;
}

void DeviceStates::Revert(Undo undo) {
  if (!undo.before) {
    states_.erase(undo.device_id);
    return;
  }
  State& s = states_[undo.device_id];
  // Parsing back our own serialisation cannot fail.
  s.message.ParseFromString(*undo.before);
  s.bytes = std::move(*undo.before);
}

void DeviceStates::Seed(const v1::DeviceState& state) {
  auto [it, inserted] = states_.try_emplace(state.device().id());
  State& s = it->second;
  const auto& have = s.message.last_seen();
  const auto& got = state.last_seen();
  if (inserted || got.seconds() > have.seconds() ||
      (got.seconds() == have.seconds() && got.nanos() > have.nanos())) {
    s.message = state;
    s.bytes = state.SerializeAsString();
  }
}

}  // namespace phonebus::adapter
