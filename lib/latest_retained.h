// Retained MQTT messages are "latest wins": the broker keeps, and a new
// subscriber gets, only the newest per topic. So when the outbox holds several
// unpublished retained messages for one topic, only the newest needs sending;
// under a backlog (a burst, a slow broker) this spares the publisher, the broker
// and every subscriber one message per event. Only ever for retained messages:
// events are never coalesced.
//
// The appender notes each retained record once it is durable; the publisher
// asks before sending one. A record is skipped only when a newer one for its
// topic is durable in the outbox (and so will be published: the outbox is
// FIFO, and delivery at-least-once). Records recovered after a restart are
// older than anything noted since, so the rule holds across restarts too.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace phonebus::outbox {

class LatestRetained {
 public:
  // Record `seq`, retained on `topic`, is durable in the outbox.
  void Durable(std::string_view topic, uint64_t seq);
  // True when a newer retained record for `topic` is durable: record `seq` need
  // not be published. Asking about the newest (or a newer one) forgets the
  // topic, so memory stays bounded by the topics (devices) seen.
  bool Superseded(std::string_view topic, uint64_t seq);

 private:
  std::mutex mu_;
  std::unordered_map<std::string, uint64_t> newest_;  // topic -> newest durable seq
};

}  // namespace phonebus::outbox
