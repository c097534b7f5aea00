// Messages the broker refused for good (an ACL that denies the topic, a
// topic or payload it calls invalid), moved out of the outbox's way so the
// events behind them keep flowing, and kept for an operator: one JSON object
// per line (time, topic, reason, retained, user properties, payload in
// base64), appended and synced before the outbox lets the record go. To
// publish one again once the broker is fixed: decode "payload_base64" and
// send it to "topic" (mosquitto_pub -s < payload).
//
// Bounded: past `max_bytes` the file becomes `<path>.1` (replacing the one
// before), so a broker refusing everything cannot fill the disk.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "mqtt_client.h"

namespace phonebus::outbox {

class DeadLetters {
 public:
  DeadLetters(std::string path, uint64_t max_bytes);
  const std::string& path() const { return path_; }
  absl::Status Add(const mqtt_client::Message& message, int reason_code, int64_t accepted_at_us);

 private:
  const std::string path_;
  const uint64_t max_bytes_;
  std::mutex mu_;
};

}  // namespace phonebus::outbox
