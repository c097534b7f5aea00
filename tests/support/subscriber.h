// A real MQTT subscriber for tests: a persistent session (so the broker queues
// for it while either side restarts), reconnecting on its own, recording every
// message that arrives.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "mqtt_client.h"

namespace phonebus::testing {

class Subscriber {
 public:
  Subscriber(const std::string& broker_uri, std::string filter, std::string version = "5");
  // With the connection settings given (TLS, login); only the client id is ours.
  Subscriber(settings::Mqtt mqtt, std::string filter);
  ~Subscriber();

  // Waits until `done(messages)` holds or `timeout` passes; returns whether it held.
  bool WaitFor(const std::function<bool(const std::vector<mqtt_client::Message>&)>& done,
               std::chrono::milliseconds timeout);
  bool WaitForCount(size_t n, std::chrono::milliseconds timeout);
  std::vector<mqtt_client::Message> messages();

 private:
  void Run();
  std::string filter_;
  mqtt_client::Client client_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<mqtt_client::Message> messages_;
  std::atomic<bool> lost_{true};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace phonebus::testing
