// paho-mqtt-cpp behind a narrow interface: one connection with the service's
// retained status topic and last will, MQTT 5 or 3.1.1, failover across broker
// URIs, and publish/subscribe whose completions arrive as plain callbacks.
//
// Callbacks run on paho's threads: they must only hand work over (set a flag,
// push to a queue, notify), never block.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "settings.h"

namespace phonebus::mqtt_client {

struct Message {
  std::string topic;
  std::string payload;
  int qos = 1;
  bool retained = false;
  // MQTT 5 only; dropped on 3.1.1.
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> user_properties;
};

// How a QoS 1/2 publish ended. An MQTT 5 broker says why it refused one
// (PUBACK reason code >= 0x80, e.g. 0x87 when its ACL denies the topic); a
// lost connection, or MQTT 3.1.1, gives no reason (0).
struct Delivery {
  bool ok = false;
  int reason_code = 0;
};

// What a refusal means for the message, by MQTT 5 reason code:
//   kPermanent: sending it again cannot succeed without an operator changing
//     the broker or the message: 0x87 not authorized (ACL), 0x90 topic name
//     invalid, 0x95 packet too large, 0x99 payload format invalid, 0x9A
//     retain not supported.
//   kTransient: the broker is busy: 0x97 quota exceeded, 0x91 packet
//     identifier in use. Retry as long as it takes.
//   kUnknown: 0x80 unspecified, 0x83 implementation specific and anything
//     else: retry a few times, then treat as permanent.
enum class Refusal { kNone, kPermanent, kTransient, kUnknown };
Refusal ClassifyRefusal(int reason_code);
// "not_authorized", "quota_exceeded", ... ("0x9f" when unknown): for logs and metric labels.
std::string ReasonName(int reason_code);

struct Options {
  settings::Mqtt mqtt;
  std::string client_id;
  // Retained "online" after each connect, "offline" as last will and on Close.
  // Empty: no status topic.
  std::string status_topic;
  // false: the broker keeps our subscriptions and queued QoS 1 messages
  // across reconnects (subscribers that must not miss anything).
  bool clean_session = true;
};

class Client {
 public:
  explicit Client(Options options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Blocks up to the connect timeout; call from a thread of your own.
  absl::Status Connect();
  bool IsConnected() const;
  // Publishes "offline", then disconnects; blocks up to `timeout`.
  void Close(std::chrono::milliseconds timeout = std::chrono::seconds(2));

  // Called with the cause when an established connection drops.
  void OnConnectionLost(std::function<void(const std::string& cause)> handler);

  // QoS 1/2: `on_done(tag, ok)` fires when the broker acknowledged (PUBACK) or
  // the publish failed. QoS 0: fires once handed to the socket. A message
  // larger than the broker's Maximum Packet Size (MQTT 5 CONNACK) is not
  // sent: it fails at once, from Publish, as refused with 0x95.
  void OnDelivered(std::function<void(uint64_t tag, bool ok)> handler);
  // The same, with the broker's reason when it refused the message.
  void OnDelivery(std::function<void(uint64_t tag, Delivery delivery)> handler);
  absl::Status Publish(const Message& message, uint64_t tag);

  // Messages matching subscriptions are passed to `handler`.
  void OnMessage(std::function<void(Message)> handler);
  // Blocks until the broker granted the subscription. `no_local` (MQTT 5;
  // ignored on 3.1.1): the broker does not send back this client id's own
  // publications.
  absl::Status Subscribe(const std::string& filter, int qos = 1, bool no_local = false);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// "application/x-protobuf" or "application/json".
std::string ContentType(const settings::Mqtt& mqtt);

}  // namespace phonebus::mqtt_client
