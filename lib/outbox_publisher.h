// Drains the durable outbox into MQTT: QoS 1 publishes with a bounded window
// in flight, each record acknowledged in the outbox only on PUBACK. On any
// connection loss it reconnects (trying every broker URI) and starts again
// at the oldest unacknowledged record, so nothing accepted is ever skipped.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "latest_retained.h"
#include "metrics.h"
#include "mqtt_client.h"
#include "outbox.h"

namespace phonebus::outbox {

// An MQTT message as stored in the outbox, with the time it was accepted.
struct Record {
  mqtt_client::Message message;
  int64_t accepted_at_us = 0;  // system clock, for the publish latency metric
};
std::string EncodeRecord(const Record& record);
absl::StatusOr<Record> DecodeRecord(std::string_view bytes);

class Publisher {
 public:
  Publisher(Outbox& outbox, mqtt_client::Client& client, int max_inflight,
            metrics::Registry& registry);
  ~Publisher();

  // Runs on the publisher's thread after every (re)connect, before draining:
  // the place to (re)subscribe.
  void OnConnected(std::function<void()> hook) { on_connected_ = std::move(hook); }
  void Start();
  // Waits up to `timeout` for the outbox to empty, then stops; whatever is
  // left stays on disk for the next start.
  void Stop(std::chrono::milliseconds timeout);
  bool connected() const { return connected_; }
  // Where the appender notes durable retained records, so that an older
  // retained record with a newer one behind it is acknowledged unsent.
  LatestRetained& latest_retained() { return latest_retained_; }

 private:
  void Run();
  void OnDelivered(uint64_t seq, bool ok);
  bool Reconnect();

  Outbox& outbox_;
  mqtt_client::Client& client_;
  const size_t max_inflight_;
  metrics::Histogram& latency_;
  metrics::Counter& published_;
  metrics::Counter& failures_;
  metrics::Counter& coalesced_;
  LatestRetained latest_retained_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint64_t, int64_t> in_flight_;  // seq -> accepted_at_us
  std::atomic<bool> lost_{true};
  std::atomic<bool> connected_{false};
  std::atomic<bool> stop_{false};
  std::function<void()> on_connected_;
  std::thread thread_;
};

}  // namespace phonebus::outbox
