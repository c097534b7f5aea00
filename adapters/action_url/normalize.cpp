#include "normalize.h"

#include "uuid.h"

namespace phonebus::adapter {

void Normalize(const Receipt& receipt, v1::PhoneEvent* event) {
  event->set_event_id(NewUuidV7());
  const auto since_epoch = receipt.received_at.time_since_epoch();
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  event->mutable_received_at()->set_seconds(secs.count());
  event->mutable_received_at()->set_nanos(static_cast<int32_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch - secs).count()));
  event->set_site(std::string(receipt.site));
  event->set_source_ip(std::string(receipt.source_ip));
  for (const auto& param : receipt.query) {
    auto* p = event->add_params();
    p->set_name(param.name);
    p->set_value(param.value);
  }
  auto* device = event->mutable_device();
  if (device->ip().empty()) device->set_ip(std::string(receipt.source_ip));
  if (!device->mac().empty()) {
    device->set_id(device->mac());
  } else if (!device->id().empty()) {
    // The dialect named the device (e.g. the softphone's configured id).
  } else if (!event->call().account().empty()) {
    device->set_id(event->call().account());
  } else if (!event->registration().account().empty()) {
    device->set_id(event->registration().account());
  } else if (!event->call().local().uri().empty()) {
    device->set_id(event->call().local().uri());
  } else {
    device->set_id("ip-" + std::string(receipt.source_ip));
  }
}

}  // namespace phonebus::adapter
