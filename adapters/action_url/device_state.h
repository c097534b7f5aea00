// Folds events into the retained DeviceState of each device (boot,
// registration, DND, forwarding, calls in progress). Pure bookkeeping: the
// adapter decides when to publish, and reverts a fold whose state did not
// reach the outbox, so memory never runs ahead of what the bus will see.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

#include "phonebus/v1/event.pb.h"

namespace phonebus::adapter {

class DeviceStates {
 public:
  // A state is republished for activity alone (last_seen) at most this often.
  explicit DeviceStates(std::chrono::seconds refresh = std::chrono::seconds(60))
      : refresh_(refresh) {}

  // How to take a fold back: the device and its state before, serialised
  // (nullopt: the device was new).
  struct Undo {
    std::string device_id;
    std::optional<std::string> before;
  };
  // A device's state, and the same serialised (protobuf binary): the payload
  // of its retained message, and what the next event's state is compared with.
  struct State {
    v1::DeviceState message;
    std::string bytes;
  };

  // Folds `event` into its device's state, in place, and returns that state,
  // or nullptr when nothing worth a retained publish changed. In place, and
  // serialised once, because a state holds up to 16 calls: copying it cost a
  // tenth of the adapter's CPU. The pointer is valid until the next call. Not
  // thread-safe; the adapter serialises calls.
  const State* Fold(const v1::PhoneEvent& event, Undo* undo);
  // Restores the state from before the fold `undo` came from (the adapter
  // could not put the new one in the outbox). Call before the next Fold.
  void Revert(Undo undo);
  // A retained state read back from the bus (after a restart, or from another
  // replica). Taken only for devices with no newer state here.
  void Seed(const v1::DeviceState& state);

  size_t size() const { return states_.size(); }

 private:
  std::chrono::seconds refresh_;
  std::unordered_map<std::string, State> states_;  // by device id
};

}  // namespace phonebus::adapter
