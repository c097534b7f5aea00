// `phonebus watch` end to end: a real mosquitto, the real adapter turning
// Action URLs into events, and command results published with our own MQTT
// client, as the commander will. The CLI runs as its own process.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <sstream>

#include "adapter.h"
#include "cli_runner.h"
#include "http_get.h"
#include "mosquitto.h"
#include "mqtt_client.h"
#include "phonebus/v1/control.pb.h"
#include "ports.h"
#include "subscriber.h"
#include "temp_dir.h"
#include "topics.h"

namespace phonebus::testing {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class WatchTest : public ::testing::Test {
 protected:
  void TearDown() override { adapter_.reset(); }

  static constexpr const char* kUrlSecret = "watch-test-secret-0123456789";

  // The adapter in-process, publishing for site "hq".
  unsigned short StartAdapter(const std::string& version = "5",
                              const std::string& format = "protobuf") {
    adapter::AdapterSettings s;
    s.listen = "127.0.0.1:0";
    s.site = "hq";
    s.instance = "cli-test";
    s.mqtt.brokers = {broker_.uri()};
    s.mqtt.version = version;
    s.mqtt.payload_format = format;
    s.outbox_dir = dir_.path() + "/outbox";
    s.drain_timeout_s = 2;
    s.log_level = "warn";
    s.url_secrets = {kUrlSecret};
    adapter_ = std::make_unique<adapter::Adapter>(s);
    adapter_->Start();
    return adapter_->endpoint().port();
  }

  // Starts watch and waits until it has subscribed, so nothing sent after
  // this returns is missed.
  std::unique_ptr<CliProcess> Watch(std::vector<std::string> args) {
    args.insert(args.begin(), {"watch", "--mqtt-broker", broker_.uri(), "--utc", "-v"});
    auto cli = std::make_unique<CliProcess>(args);
    EXPECT_TRUE(cli->WaitStderr("phonebus watch: subscribed to", 10s)) << cli->err();
    return cli;
  }

  // An Action URL as phones send it: the adapter's URL secret, then `target`.
  void Get(unsigned short port, const std::string& target) {
    const auto r = HttpGet(port, std::string("/") + kUrlSecret + target);
    ASSERT_EQ(r.status, 200) << target << ": " << r.body;
    acked_.push_back(r.body.substr(3, 36));  // "ok <event_id>"
  }

  void Publish(const google::protobuf::Message& m, const std::string& topic, bool json,
               const std::string& version = "5") {
    mqtt_client::Options o;
    o.mqtt.brokers = {broker_.uri()};
    o.mqtt.version = version;
    o.client_id = "cli-test-pub-" + std::to_string(published_++);
    mqtt_client::Client client(o);
    ASSERT_TRUE(client.Connect().ok());
    std::mutex mu;
    std::condition_variable cv;
    bool delivered = false;
    client.OnDelivered([&](uint64_t, bool ok) {
      std::lock_guard lock(mu);
      delivered = ok;
      cv.notify_one();
    });
    std::string payload;
    if (json) {
      ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &payload).ok());
    } else {
      payload = m.SerializeAsString();
    }
    // MQTT 5 says what the payload is; 3.1.1 cannot.
    ASSERT_TRUE(client
                    .Publish({topic,
                              payload,
                              1,
                              false,
                              json ? "application/json" : "application/x-protobuf",
                              {}},
                             1)
                    .ok());
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return delivered; }));
    lock.unlock();
    client.Close();
  }

  const testing::TempDir dir_{"cli-watch"};
  Mosquitto broker_;
  std::unique_ptr<adapter::Adapter> adapter_;
  std::vector<std::string> acked_;  // "event_id" of each event the adapter took
  int published_ = 0;
};

const std::string kTime = R"(\d{2}:\d{2}:\d{2}\.\d{3})";

TEST_F(WatchTest, AdapterEventsBecomeReadableLines) {
  const auto port = StartAdapter();
  auto watch = Watch({"--site", "hq", "--count", "3", "--timeout", "30"});
  Get(port,
      "/yealink/incoming_call?mac=00:15:65:AA:BB:CC&ip=10.1.2.3&model=T46S&call_id=1234"
      "&remote=%2B4930123456&display_remote=J%C3%BCrgen&active_url=1001@pbx.example");
  Get(port, "/yealink/call_terminated?mac=00:15:65:AA:BB:CC&call_id=1234");
  Get(port, "/snom/dnd_on?mac=000413AABBCC");
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err();
  const auto lines = SplitLines(watch->out());
  ASSERT_EQ(lines.size(), 3u) << watch->out();
  EXPECT_TRUE(std::regex_match(
      lines[0],
      std::regex(kTime + " hq 001565aabbcc call_incoming    \\+4930123456 \"J\xC3\xBCrgen\" "
                         "-> 1001@pbx\\.example  call 1234")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1],
                               std::regex(kTime + " hq 001565aabbcc call_terminated  .*call 1234")))
      << lines[1];
  EXPECT_TRUE(std::regex_match(lines[2], std::regex(kTime + " hq 000413aabbcc dnd_on")))
      << lines[2];
  // No state lines without --state, and nothing but the subscription note on stderr.
  EXPECT_EQ(SplitLines(watch->err()).size(), 1u) << watch->err();
}

TEST_F(WatchTest, JsonLinesFromAJsonAdapterOnMqtt311) {
  const auto port = StartAdapter("3.1.1", "json");
  auto watch = Watch({"--mqtt-version", "3.1.1", "--json", "--count", "2", "--timeout", "30"});
  Get(port, "/yealink/incoming_call?mac=001565aabbcc&call_id=7&remote=1002");
  Get(port, "/snom/connected?mac=000413AABBCC&call_id=9");
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err();
  const auto lines = SplitLines(watch->out());
  ASSERT_EQ(lines.size(), 2u) << watch->out();
  for (size_t i = 0; i < lines.size(); ++i) {
    v1::PhoneEvent e;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(lines[i], &e).ok()) << lines[i];
    EXPECT_EQ(e.event_id(), acked_[i]);
    EXPECT_NE(lines[i].find("\"event_id\""), std::string::npos) << "field names as in the .proto";
  }
}

TEST_F(WatchTest, FiltersByDeviceAndKind) {
  const auto port = StartAdapter();
  auto watch = Watch({"--device", "00:15:65:AA:BB:CC", "--kind", "call_established", "--kind",
                      "dnd_off", "--count", "2", "--timeout", "30"});
  Get(port, "/yealink/call_established?mac=001565000001&call_id=1");  // another device
  Get(port, "/yealink/incoming_call?mac=001565aabbcc&call_id=2");     // another kind
  Get(port, "/yealink/call_established?mac=001565aabbcc&call_id=2");  // this one
  Get(port, "/yealink/dnd_off?mac=001565000001");                     // another device
  Get(port, "/yealink/dnd_off?mac=001565aabbcc");                     // this one
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err();
  const auto lines = SplitLines(watch->out());
  ASSERT_EQ(lines.size(), 2u) << watch->out();
  EXPECT_TRUE(
      std::regex_match(lines[0], std::regex(kTime + " hq 001565aabbcc call_established .*call 2")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(lines[1], std::regex(kTime + " hq 001565aabbcc dnd_off")))
      << lines[1];
}

TEST_F(WatchTest, StateLinesShowOnlyWhatChanged) {
  const auto port = StartAdapter();
  Get(port, "/yealink/dnd_on?mac=001565aabbcc");
  {
    // The retained state with DND on is on the broker before watch starts.
    Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/001565aabbcc/state");
    ASSERT_TRUE(sub.WaitForCount(1, 10s));
  }
  auto watch = Watch({"--state", "--device", "001565aabbcc", "--count", "4", "--timeout", "30"});
  Get(port, "/yealink/dnd_off?mac=001565aabbcc");
  // Each state on the bus before the next event: an adapter that is behind
  // sends only the newest retained state of a device (coalescing).
  ASSERT_TRUE(watch->WaitStdout("dnd off", 10s)) << watch->out();
  Get(port, "/yealink/incoming_call?mac=001565aabbcc&call_id=5&remote=1002");
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err() << watch->out();
  const auto lines = SplitLines(watch->out());
  ASSERT_EQ(lines.size(), 4u) << watch->out();
  EXPECT_TRUE(std::regex_match(lines[0], std::regex(kTime + " hq 001565aabbcc dnd_off")))
      << lines[0];
  // The retained state was the baseline: only DND changed.
  EXPECT_TRUE(
      std::regex_match(lines[1], std::regex(kTime + " hq 001565aabbcc state            dnd off")))
      << lines[1];
  EXPECT_TRUE(std::regex_match(
      lines[2], std::regex(kTime + " hq 001565aabbcc call_incoming    1002 -> \\?  call 5")))
      << lines[2];
  EXPECT_TRUE(
      std::regex_match(lines[3], std::regex(kTime + " hq 001565aabbcc state            1 call 5")))
      << lines[3];
}

v1::CommandResult Result(const std::string& command, int code) {
  v1::CommandResult r;
  r.set_request_id("req-" + command);
  r.set_site("hq");
  r.set_device_id("001565aabbcc");
  r.set_command(command);
  r.set_code(code);
  if (code == 0) r.set_phone_status(200);
  if (code != 0) r.set_message("phone did not answer");
  EXPECT_TRUE(google::protobuf::util::TimeUtil::FromString("2024-05-01T12:01:05.038Z",
                                                           r.mutable_requested_at()));
  r.mutable_latency()->set_nanos(85000000);
  return r;
}

TEST_F(WatchTest, CommandResultsInEveryEncoding) {
  auto watch = Watch({"--count", "3", "--timeout", "30"});
  const auto topic = topics::CommandResult("hq", "001565aabbcc");
  Publish(Result("Dial", 0), topic, false);
  Publish(Result("Answer", 4), topic, true);           // JSON, content type says so
  Publish(Result("Hangup", 0), topic, true, "3.1.1");  // JSON, nothing says so
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err();
  EXPECT_EQ(
      watch->out(),
      "12:01:05.123 hq 001565aabbcc command_result   Dial OK  phone 200  85ms  request req-Dial\n"
      "12:01:05.123 hq 001565aabbcc command_result   Answer DEADLINE_EXCEEDED: phone did not "
      "answer  85ms  request req-Answer\n"
      "12:01:05.123 hq 001565aabbcc command_result   Hangup OK  phone 200  85ms  request "
      "req-Hangup\n");
}

TEST_F(WatchTest, UndecodablePayloadIsReportedAndSkipped) {
  auto watch = Watch({"--count", "1", "--timeout", "30"});
  const auto topic = topics::CommandResult("hq", "001565aabbcc");
  {
    mqtt_client::Options o;
    o.mqtt.brokers = {broker_.uri()};
    o.client_id = "cli-test-garbage";
    mqtt_client::Client client(o);
    ASSERT_TRUE(client.Connect().ok());
    ASSERT_TRUE(client.Publish({topic, "\xff\xff not a message", 1, false, "", {}}, 1).ok());
    client.Close();
  }
  Publish(Result("Dial", 0), topic, false);
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err();
  EXPECT_NE(watch->out().find("Dial OK"), std::string::npos);
  EXPECT_NE(watch->err().find("phonebus watch: cannot decode " + topic), std::string::npos)
      << watch->err();
}

TEST_F(WatchTest, SurvivesABrokerRestart) {
  auto watch = Watch({"--count", "1", "--timeout", "60"});
  broker_.Stop();
  ASSERT_TRUE(watch->WaitStderr("lost the broker", 20s)) << watch->err();
  broker_.Start();
  ASSERT_TRUE(watch->WaitStderr("reconnected", 20s)) << watch->err();
  Publish(Result("Dial", 0), topics::CommandResult("hq", "001565aabbcc"), false);
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err();
  EXPECT_NE(watch->out().find("Dial OK"), std::string::npos);
}

TEST_F(WatchTest, CtrlCEndsCleanly) {
  auto watch = Watch({});
  watch->Signal(SIGINT);
  EXPECT_EQ(watch->Wait(5s), 0) << watch->err();
}

TEST_F(WatchTest, CountNotReachedInTimeExits5) {
  auto watch = Watch({"--count", "1", "--timeout", "0.5"});
  EXPECT_EQ(watch->Wait(10s), 5);
  EXPECT_NE(watch->err().find("phonebus watch: DEADLINE_EXCEEDED: 0 of 1"), std::string::npos)
      << watch->err();
  // Without --count, the timeout is just how long to watch.
  auto timed = Watch({"--timeout", "0.3"});
  EXPECT_EQ(timed->Wait(10s), 0) << timed->err();
}

TEST(WatchBroker, UnreachableBrokerExits5WithOneLine) {
  const std::string uri = "tcp://127.0.0.1:" + std::to_string(FreePort());
  const auto r = RunCli({"watch", "--mqtt-broker", uri, "--mqtt-connect-timeout", "1"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("phonebus watch: UNAVAILABLE: ", 0), 0u) << r.err;
  EXPECT_EQ(SplitLines(r.err).size(), 1u) << r.err;
}

}  // namespace
}  // namespace phonebus::testing
