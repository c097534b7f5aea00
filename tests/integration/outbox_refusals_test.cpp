// A broker that refuses some messages for good (MQTT 5): an ACL that denies
// the adapter one event kind (PUBACK 0x87 not authorized), a maximum packet
// size some event exceeds (0x95). Real mosquitto, the real adapter: each
// refused event goes to the dead-letter file next to the outbox and is
// counted; every event before and after it still arrives, and nothing is
// left in the outbox.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <fstream>

#include "adapter.h"
#include "http_get.h"
#include "mosquitto.h"
#include "subscriber.h"
#include "temp_dir.h"

namespace phonebus {
namespace {

using namespace std::chrono_literals;
using testing::Mosquitto;
using testing::Subscriber;

long Count(const std::vector<mqtt_client::Message>& messages, const std::string& topic) {
  return std::count_if(messages.begin(), messages.end(),
                       [&](const auto& m) { return m.topic == topic; });
}

// The event id the adapter answered with ("ok <id>\n").
std::string AcceptedId(const testing::HttpResult& r) {
  if (r.status != 200 || !r.body.starts_with("ok ")) return "";
  std::string id = r.body.substr(3);
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  return id;
}

// Those of `ids` no message on `topic` carries (as its event_id property).
// Delivery is at-least-once: a re-send after a reconnect arrives twice, so
// counting messages could hide a lost one.
std::vector<std::string> Missing(const std::vector<mqtt_client::Message>& messages,
                                 const std::string& topic, std::vector<std::string> ids) {
  std::erase_if(ids, [&](const std::string& id) {
    return std::any_of(messages.begin(), messages.end(), [&](const auto& m) {
      return m.topic == topic && std::find(m.user_properties.begin(), m.user_properties.end(),
                                           std::pair<std::string, std::string>("event_id", id)) !=
                                     m.user_properties.end();
    });
  });
  return ids;
}

// Action URLs carry the adapter's URL secret in their path.
constexpr char kUrlSecret[] = "outbox-refusals-url-secret-01";

std::string Call(int i) {
  return "/" + std::string(kUrlSecret) +
         "/yealink/incoming_call?mac=00:15:65:AA:CC:01&ip=10.1.2.3&call_id=" + std::to_string(i) +
         "&remote=%2B49301234" + std::to_string(i);
}
constexpr char kCallTopic[] = "phonebus/v1/hq/device/001565aacc01/event/call_incoming";

class OutboxRefusalsTest : public ::testing::Test {
 protected:
  static settings::Mqtt Login(const Mosquitto& broker, const std::string& user,
                              const std::string& password) {
    settings::Mqtt mqtt;
    mqtt.brokers = {broker.uri()};
    mqtt.username = user;
    mqtt.password = password;
    mqtt.connect_timeout_s = 3;
    return mqtt;
  }
  adapter::AdapterSettings Settings(settings::Mqtt mqtt) const {
    adapter::AdapterSettings s;
    s.listen = "127.0.0.1:0";
    s.site = "hq";
    s.instance = "test";
    s.mqtt = std::move(mqtt);
    s.url_secret = kUrlSecret;
    s.outbox_dir = dir_.path() + "/outbox";
    s.drain_timeout_s = 2;
    s.log_level = "error";
    adapter::Finish(s);
    return s;
  }
  // Waits until the outbox is empty; returns /metrics then.
  static std::string DrainedMetrics(unsigned short port) {
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    std::string metrics;
    while (std::chrono::steady_clock::now() < deadline) {
      metrics = testing::HttpGet(port, "/metrics").body;
      if (metrics.find("phonebus_outbox_depth 0\n") != std::string::npos) break;
      std::this_thread::sleep_for(50ms);
    }
    return metrics;
  }
  std::vector<std::string> DeadLetters() const {
    std::ifstream in(dir_.path() + "/outbox/dead-letters.jsonl");
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  const testing::TempDir dir_{"refusals"};
};

TEST_F(OutboxRefusalsTest, AnEventTheAclDeniesIsDeadLetteredAndTheRestKeepsFlowing) {
  Mosquitto broker(Mosquitto::Security{
      .users = {{"adapter", "adapter-pw-5d2a"}, {"admin", "admin-pw-90c4"}}, .acl = R"(user adapter
topic write phonebus/v1/hq/device/+/event/call_incoming
topic readwrite phonebus/v1/hq/device/+/state
topic write phonebus/v1/hq/service/adapter-test/status
user admin
topic readwrite #
)"});
  Subscriber admin(Login(broker, "admin", "admin-pw-90c4"), "phonebus/v1/hq/device/#");
  {
    adapter::Adapter adapter(Settings(Login(broker, "adapter", "adapter-pw-5d2a")));
    adapter.Start();
    const auto port = adapter.endpoint().port();
    std::vector<std::string> calls;
    const auto call = [&](int i) {
      const auto r = testing::HttpGet(port, Call(i));
      ASSERT_EQ(r.status, 200) << r.body;
      calls.push_back(AcceptedId(r));
    };
    for (int i = 0; i < 10; ++i) ASSERT_NO_FATAL_FAILURE(call(i));
    const auto dnd = testing::HttpGet(
        port, "/" + std::string(kUrlSecret) + "/yealink/dnd_on?mac=00:15:65:AA:CC:02&ip=10.1.2.4");
    ASSERT_EQ(dnd.status, 200) << dnd.body;
    for (int i = 10; i < 20; ++i) ASSERT_NO_FATAL_FAILURE(call(i));

    // Drained: the broker acknowledged every record or it was dead-lettered.
    const std::string metrics = DrainedMetrics(port);
    EXPECT_NE(metrics.find("phonebus_outbox_depth 0\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("phonebus_dead_letters_total{reason=\"not_authorized\"} 1\n"),
              std::string::npos)
        << metrics;
    // So each of them reaches the subscriber: the 20 calls around the refused
    // dnd_on event, and the dnd_on's retained state (allowed; the record right
    // after the refused one).
    const std::string dnd_state = "phonebus/v1/hq/device/001565aacc02/state";
    const std::vector<std::string> dnd_id = {AcceptedId(dnd)};
    EXPECT_TRUE(admin.WaitFor(
        [&](const auto& m) {
          return Missing(m, kCallTopic, calls).empty() && Missing(m, dnd_state, dnd_id).empty();
        },
        10s))
        << "acknowledged, never delivered: calls "
        << ::testing::PrintToString(Missing(admin.messages(), kCallTopic, calls))
        << ", dnd_on state "
        << ::testing::PrintToString(Missing(admin.messages(), dnd_state, dnd_id)) << "\n"
        << broker.Log();
    EXPECT_EQ(Count(admin.messages(), "phonebus/v1/hq/device/001565aacc02/event/dnd_on"), 0);
  }
  const auto lines = DeadLetters();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"("topic":"phonebus/v1/hq/device/001565aacc02/event/dnd_on")"),
            std::string::npos)
      << lines[0];
  EXPECT_NE(lines[0].find(R"("reason_code":"0x87")"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(R"("payload_base64":")"), std::string::npos) << lines[0];
}

// mosquitto closes the connection of a client that sends a packet above its
// max_packet_size; sent again after every reconnect, one such event would
// hold up everything behind it.
TEST_F(OutboxRefusalsTest, AnEventLargerThanTheBrokerTakesIsDeadLettered) {
  Mosquitto broker(Mosquitto::Security{.extra_config = "max_packet_size 2048\n"});
  Subscriber watcher(broker.uri(), "phonebus/v1/hq/device/#");
  {
    settings::Mqtt mqtt;
    mqtt.brokers = {broker.uri()};
    adapter::Adapter adapter(Settings(mqtt));
    adapter.Start();
    const auto port = adapter.endpoint().port();
    for (int i = 0; i < 5; ++i) ASSERT_EQ(testing::HttpGet(port, Call(i)).status, 200);
    // Its parameters go into the event: 3 KB of them.
    const auto big = testing::HttpGet(port, Call(5) + "&note=" + std::string(3000, 'n'));
    ASSERT_EQ(big.status, 200) << big.body;
    for (int i = 6; i < 11; ++i) ASSERT_EQ(testing::HttpGet(port, Call(i)).status, 200);
    EXPECT_TRUE(watcher.WaitFor([&](const auto& m) { return Count(m, kCallTopic) >= 10; }, 15s))
        << "events after the oversized one are stuck: " << Count(watcher.messages(), kCallTopic)
        << " of 10 arrived";
    const std::string metrics = DrainedMetrics(port);
    EXPECT_NE(metrics.find("phonebus_outbox_depth 0\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("phonebus_dead_letters_total{reason=\"packet_too_large\"} 1\n"),
              std::string::npos)
        << metrics;
  }
  EXPECT_EQ(Count(watcher.messages(), kCallTopic), 10);
  const auto lines = DeadLetters();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"("reason_code":"0x95")"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace phonebus
