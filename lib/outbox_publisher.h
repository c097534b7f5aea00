// Drains the durable outbox into MQTT: QoS 1 publishes with a bounded window
// in flight, each record acknowledged in the outbox only on PUBACK. On any
// connection loss it reconnects (trying every broker URI) and starts again
// at the oldest unacknowledged record, so nothing accepted is ever skipped.
//
// A message an MQTT 5 broker refuses for good (mqtt_client::ClassifyRefusal:
// ACL denial, invalid topic, ...) would block everything behind it if sent
// again forever: it goes to the dead-letter file next to the outbox
// (dead_letters.h), with an error log naming topic and reason and
// phonebus_dead_letters_total{reason}, and the outbox moves on. Transient
// refusals (quota exceeded) are sent again after a pause.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/statusor.h"
#include "dead_letters.h"
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
  struct Refused {
    uint64_t seq;
    Record record;
    int reason_code;
  };
  void Run();
  void OnDelivered(uint64_t seq, mqtt_client::Delivery delivery);
  bool Reconnect();
  void MoveRefusedToDeadLetters();  // publisher thread
  void NoteLoss(uint64_t oldest);   // mu_ held
  void ForgetSuspect();             // mu_ held
  static constexpr uint64_t kNoSeq = ~uint64_t{0};

  Outbox& outbox_;
  mqtt_client::Client& client_;
  const size_t max_inflight_;
  metrics::Histogram& latency_;
  metrics::Counter& published_;
  metrics::Counter& failures_;
  metrics::Counter& coalesced_;
  LatestRetained latest_retained_;
  metrics::Family<metrics::Counter>& dead_letters_total_;
  DeadLetters dead_letters_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<uint64_t, Record> in_flight_;  // by seq
  std::vector<Refused> refused_;                    // for good: to the dead letters
  std::unordered_map<uint64_t, int> refusals_;      // seq -> refusals so far
  // Refused for good when the record was not at hand (a reconnect cleared it): seq -> reason.
  std::unordered_map<uint64_t, int> refused_seqs_;
  // Dead-lettered records whose outbox acknowledgement came before a Rewind:
  // acknowledged, not sent, when read again.
  std::unordered_set<uint64_t> dead_;
  // Written to the dead letters and not yet below the outbox's oldest
  // unacknowledged record (publisher thread).
  std::unordered_set<uint64_t> dead_lettered_;
  // A message the broker may be closing the connection over (NoteLoss); mu_.
  uint64_t oldest_lost_ = kNoSeq;  // oldest record in flight at the last loss
  uint64_t suspect_ = kNoSeq;
  int suspect_losses_ = 0;
  std::atomic<bool> alone_{false};  // send only the suspect
  std::atomic<bool> lost_{true};
  std::atomic<bool> pause_{false};  // a transient refusal: wait before sending again
  std::atomic<bool> connected_{false};
  std::atomic<bool> stop_{false};
  std::function<void()> on_connected_;
  std::thread thread_;
};

}  // namespace phonebus::outbox
