// What every vendor dialect provides. A dialect is pure: it turns one Action
// URL of its vendor into a PhoneEvent, and prints the provisioning that makes
// a phone send Action URLs it understands. No sockets, no clocks, no globals.
#pragma once

#include <string_view>

#include "absl/status/statusor.h"
#include "phonebus/v1/event.pb.h"
#include "url.h"

namespace phonebus::adapter {

// One Action URL as received, already percent-decoded.
struct ActionUrl {
  // The event name from the path (/yealink/{event}); may be empty when the
  // dialect carries it in a parameter (the softphone's action=).
  std::string_view event;
  const url::Query& query;
};

}  // namespace phonebus::adapter
