#include "subscriber.h"

#include <atomic>

namespace phonebus::testing {
namespace {

mqtt_client::Options SubscriberOptions(settings::Mqtt mqtt) {
  static std::atomic<int> counter{0};
  mqtt_client::Options o;
  o.mqtt = std::move(mqtt);
  o.mqtt.connect_timeout_s = 2;
  o.client_id = "test-sub-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  o.clean_session = false;
  return o;
}

settings::Mqtt Plain(const std::string& uri, const std::string& version) {
  settings::Mqtt mqtt;
  mqtt.brokers = {uri};
  mqtt.version = version;
  return mqtt;
}

}  // namespace

Subscriber::Subscriber(const std::string& broker_uri, std::string filter, std::string version)
    : Subscriber(Plain(broker_uri, version), std::move(filter)) {}

Subscriber::Subscriber(settings::Mqtt mqtt, std::string filter)
    : filter_(std::move(filter)), client_(SubscriberOptions(std::move(mqtt))) {
  client_.OnMessage([this](mqtt_client::Message m) {
    {
      std::lock_guard lock(mu_);
      messages_.push_back(std::move(m));
    }
  });
  client_.OnConnectionLost([this](const std::string&) { lost_ = true; });
  // Connect and subscribe before returning, so nothing published after the
  // constructor is missed.
  if (client_.Connect().ok() && client_.Subscribe(filter_, 1).ok()) lost_ = false;
  thread_ = std::thread([this] { Run(); });
}

Subscriber::~Subscriber() {
  stop_ = true;
  thread_.join();
  client_.Close(std::chrono::milliseconds(500));
}

void Subscriber::Run() {
  while (!stop_) {
    if (lost_ && client_.Connect().ok() && client_.Subscribe(filter_, 1).ok()) lost_ = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool Subscriber::WaitFor(const std::function<bool(const std::vector<mqtt_client::Message>&)>& done,
                         std::chrono::milliseconds timeout) {
  // Polls instead of checking on every arrival: predicates may decode every
  // message, and paho's callback thread must not wait for them.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mu_);
  while (!done(messages_)) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    cv_.wait_for(lock, std::chrono::milliseconds(50));
  }
  return true;
}

bool Subscriber::WaitForCount(size_t n, std::chrono::milliseconds timeout) {
  return WaitFor([n](const auto& m) { return m.size() >= n; }, timeout);
}

std::vector<mqtt_client::Message> Subscriber::messages() {
  std::lock_guard lock(mu_);
  return messages_;
}

}  // namespace phonebus::testing
