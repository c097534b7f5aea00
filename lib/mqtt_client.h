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
  // the publish failed. QoS 0: fires once handed to the socket.
  void OnDelivered(std::function<void(uint64_t tag, bool ok)> handler);
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
