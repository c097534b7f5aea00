// Folds events into the retained DeviceState of each device (boot,
// registration, DND, forwarding, calls in progress). Pure bookkeeping: the
// adapter decides when to publish, and commits a state only once it is in the
// outbox, so memory never runs ahead of what the bus will see.
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

  // The device's state after `event`, or nullopt when nothing worth a retained
  // publish changed. Not thread-safe; the adapter serialises calls.
  std::optional<v1::DeviceState> Next(const v1::PhoneEvent& event) const;
  // By value: the adapter moves the state in once it is in the outbox (a
  // device's state holds up to 16 calls; copying it is not free).
  void Commit(v1::DeviceState state);
  // A retained state read back from the bus (after a restart, or from another
  // replica). Taken only for devices with no newer state here.
  void Seed(const v1::DeviceState& state);

  size_t size() const { return states_.size(); }

 private:
  std::chrono::seconds refresh_;
  std::unordered_map<std::string, v1::DeviceState> states_;  // by device id
};

}  // namespace phonebus::adapter
