#include "device_state.h"

#include <gtest/gtest.h>

namespace phonebus::adapter {
namespace {

v1::PhoneEvent Event(v1::EventKind kind, int64_t at, std::string call_id = {}) {
  v1::PhoneEvent e;
  e.set_event_id("e" + std::to_string(at));
  e.set_site("hq");
  e.set_kind(kind);
  e.mutable_received_at()->set_seconds(at);
  e.mutable_device()->set_id("001565aabbcc");
  e.mutable_device()->set_vendor(v1::VENDOR_YEALINK);
  if (!call_id.empty()) e.mutable_call()->set_call_id(call_id);
  return e;
}

// A phone registered `account` at `at`.
v1::PhoneEvent Registered(const std::string& account, int64_t at) {
  auto e = Event(v1::EVENT_KIND_REGISTERED, at);
  e.mutable_registration()->set_account(account);
  e.mutable_registration()->set_status(v1::REGISTRATION_STATUS_REGISTERED);
  return e;
}

// Folds like the adapter; returns whether a publish was due.
bool Apply(DeviceStates& states, const v1::PhoneEvent& e, v1::DeviceState* out = nullptr) {
  DeviceStates::Undo undo;
  const DeviceStates::State* next = states.Fold(e, &undo);
  if (!next) return false;
  // The bytes are the retained payload: they must be the state itself.
  v1::DeviceState parsed;
  EXPECT_TRUE(parsed.ParseFromString(next->bytes));
  EXPECT_EQ(parsed.SerializeAsString(), next->message.SerializeAsString());
  if (out) *out = next->message;
  return true;
}

TEST(DeviceStates, FollowsACallFromRingToEnd) {
  DeviceStates states;
  v1::DeviceState s;
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_CALL_INCOMING, 100, "7"), &s));
  ASSERT_EQ(s.active_calls_size(), 1);
  EXPECT_EQ(s.active_calls(0).created_at().seconds(), 100);
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_CALL_ESTABLISHED, 105, "7"), &s));
  ASSERT_EQ(s.active_calls_size(), 1);
  EXPECT_EQ(s.active_calls(0).connected_at().seconds(), 105);
  EXPECT_EQ(s.active_calls(0).created_at().seconds(), 100);  // kept from the ring
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_CALL_HOLD, 106, "7"), &s));
  EXPECT_EQ(s.active_calls(0).hold(), v1::HOLD_STATE_ON_HOLD);
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_CALL_TERMINATED, 110, "7"), &s));
  EXPECT_EQ(s.active_calls_size(), 0);
  EXPECT_EQ(s.last_event_id(), "e110");
}

TEST(DeviceStates, AccountsUsedByCallsNameTheDevice) {
  DeviceStates states;
  v1::DeviceState s;
  ASSERT_TRUE(Apply(states, Registered("1001@pbx", 1), &s));
  for (const char* account : {"1001@pbx", "1002@pbx"}) {
    auto call = Event(v1::EVENT_KIND_CALL_OUTGOING, 2, account);
    call.mutable_call()->set_account(account);
    ASSERT_TRUE(Apply(states, call, &s));
  }
  ASSERT_EQ(s.accounts_size(), 2);
  EXPECT_EQ(s.accounts(0).account(), "1001@pbx");
  EXPECT_EQ(s.accounts(0).status(), v1::REGISTRATION_STATUS_REGISTERED);  // not overwritten
  EXPECT_EQ(s.accounts(1).account(), "1002@pbx");
  EXPECT_EQ(s.accounts(1).status(), v1::REGISTRATION_STATUS_UNSPECIFIED);
}

TEST(DeviceStates, AccountsAreBoundedAndRegisteredOnesStay) {
  // Every call may name another account: the state must not grow with each.
  DeviceStates states;
  v1::DeviceState s;
  ASSERT_TRUE(Apply(states, Registered("1001@pbx", 1), &s));
  for (int i = 0; i < 100; ++i) {
    const std::string account = "u" + std::to_string(i) + "@pbx";
    auto call = Event(v1::EVENT_KIND_CALL_OUTGOING, 2 + i, account);
    call.mutable_call()->set_account(account);
    ASSERT_TRUE(Apply(states, call, &s));
  }
  ASSERT_EQ(s.accounts_size(), 16);
  EXPECT_EQ(s.accounts(0).account(), "1001@pbx");  // reported by a registration: kept
  EXPECT_EQ(s.accounts(1).account(), "u85@pbx");   // of the others, the newest 15
  EXPECT_EQ(s.accounts(15).account(), "u99@pbx");
}

TEST(DeviceStates, DndForwardingRegistrationAndBoot) {
  DeviceStates states;
  v1::DeviceState s;
  ASSERT_TRUE(Apply(states, Registered("1001@pbx", 1), &s));
  ASSERT_EQ(s.accounts_size(), 1);
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_DND_ON, 2), &s));
  EXPECT_TRUE(s.dnd());
  auto fwd = Event(v1::EVENT_KIND_FORWARD_ON, 3);
  fwd.mutable_forwarding()->set_type(v1::FORWARD_TYPE_BUSY);
  fwd.mutable_forwarding()->set_enabled(true);
  ASSERT_TRUE(Apply(states, fwd, &s));
  ASSERT_EQ(s.forwarding_size(), 1);
  EXPECT_EQ(s.forwarding(0), v1::FORWARD_TYPE_BUSY);
  fwd.mutable_forwarding()->set_enabled(false);
  fwd.set_kind(v1::EVENT_KIND_FORWARD_OFF);
  ASSERT_TRUE(Apply(states, fwd, &s));
  EXPECT_EQ(s.forwarding_size(), 0);
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_CALL_INCOMING, 4, "1"), &s));
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_SETUP_COMPLETED, 5), &s));
  EXPECT_EQ(s.booted_at().seconds(), 5);
  EXPECT_EQ(s.active_calls_size(), 0);  // a reboot ends every call
  EXPECT_TRUE(s.dnd());                 // settings survive until the phone says otherwise
}

TEST(DeviceStates, ActivityAloneRepublishesOnlyAfterTheRefreshInterval) {
  DeviceStates states(std::chrono::seconds(60));
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_MUTE, 100)));
  EXPECT_FALSE(Apply(states, Event(v1::EVENT_KIND_MUTE, 130)));
  EXPECT_TRUE(Apply(states, Event(v1::EVENT_KIND_MUTE, 161)));
}

TEST(DeviceStates, LostCallEndsDoNotGrowStateWithoutBound) {
  DeviceStates states;
  v1::DeviceState s;
  for (int i = 0; i < 100; ++i) {
    Apply(states, Event(v1::EVENT_KIND_CALL_INCOMING, i, std::to_string(i)), &s);
  }
  EXPECT_LE(s.active_calls_size(), 16);
  EXPECT_EQ(s.active_calls(s.active_calls_size() - 1).call_id(), "99");
}

// The adapter reverts a fold whose state it could not put in the outbox: the
// next event must be compared with what the bus has, not with what it lost.
TEST(DeviceStates, ARevertedFoldLeavesTheStateAsBefore) {
  DeviceStates states;
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_CALL_INCOMING, 100, "c1")));

  DeviceStates::Undo undo;
  const DeviceStates::State* folded = states.Fold(Event(v1::EVENT_KIND_DND_ON, 101), &undo);
  ASSERT_NE(folded, nullptr);
  EXPECT_TRUE(folded->message.dnd());
  states.Revert(std::move(undo));

  // The same event again is news, and the call from before is still there.
  v1::DeviceState after;
  ASSERT_TRUE(Apply(states, Event(v1::EVENT_KIND_DND_ON, 101), &after));
  EXPECT_TRUE(after.dnd());
  ASSERT_EQ(after.active_calls_size(), 1);
  EXPECT_EQ(after.active_calls(0).call_id(), "c1");
}

TEST(DeviceStates, ARevertedFirstFoldForgetsTheDevice) {
  DeviceStates states;
  DeviceStates::Undo undo;
  ASSERT_NE(states.Fold(Event(v1::EVENT_KIND_DND_ON, 100), &undo), nullptr);
  EXPECT_EQ(states.size(), 1u);
  states.Revert(std::move(undo));
  EXPECT_EQ(states.size(), 0u);
}

}  // namespace
}  // namespace phonebus::adapter
