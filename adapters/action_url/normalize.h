// What the adapter adds to every event whatever the vendor: identity, time,
// site, the source address, every parameter as received, and the device id
// used in topics.
#pragma once

#include <chrono>
#include <string_view>

#include "phonebus/v1/event.pb.h"
#include "url.h"

namespace phonebus::adapter {

struct Receipt {
  std::string_view site;
  std::string_view source_ip;
  std::chrono::system_clock::time_point received_at;
  const url::Query& query;
};

// Fills event_id, received_at, site, source_ip, params, device.ip (when the
// phone did not report it) and device.id: the MAC when known, else the id the
// dialect read (softphone), else the local account, else "ip-" + source address.
void Normalize(const Receipt& receipt, v1::PhoneEvent* event);

}  // namespace phonebus::adapter
