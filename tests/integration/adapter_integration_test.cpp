// The adapter against a real mosquitto: Action URL in over a real socket,
// decoded PhoneEvent out at a real subscriber; retained state; and the
// "nothing lost" promise through broker restarts and adapter SIGKILLs.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <set>
#include <thread>

#include "adapter.h"
#include "http_get.h"
#include "mosquitto.h"
#include "ports.h"
#include "subscriber.h"
#include "temp_dir.h"

namespace phonebus::adapter {
namespace {

using namespace std::chrono_literals;
using testing::HttpGet;
using testing::Mosquitto;
using testing::SendRaw;
using testing::Subscriber;

// Every Action URL carries it as its first path segment, as `phonebus config` prints them.
constexpr const char* kUrlSecret = "integration-secret-0123456789";
const std::string kAt = std::string("/") + kUrlSecret;

AdapterSettings TestSettings(const Mosquitto& broker, const std::string& dir) {
  AdapterSettings s;
  s.listen = "127.0.0.1:0";
  s.site = "hq";
  s.instance = "test";
  s.mqtt.brokers = {broker.uri()};
  s.mqtt.connect_timeout_s = 5;
  s.outbox_dir = dir + "/outbox";
  s.drain_timeout_s = 2;
  s.log_level = "warn";
  s.url_secrets = {kUrlSecret};
  return s;
}

// The event id from the adapter's "ok <event_id>" answer.
std::string AckedId(const testing::HttpResult& r) {
  return r.status == 200 && r.body.rfind("ok ", 0) == 0 ? r.body.substr(3, 36) : std::string{};
}

std::set<std::string> EventIds(const std::vector<mqtt_client::Message>& messages) {
  std::set<std::string> ids;
  for (const auto& m : messages) {
    if (m.topic.find("/event/") == std::string::npos) continue;
    v1::PhoneEvent e;
    if (e.ParseFromString(m.payload)) ids.insert(e.event_id());
  }
  return ids;
}

size_t EventIdsOf(Subscriber& sub) { return EventIds(sub.messages()).size(); }

// Every event the adapter answered 200 for reaches the subscriber. A loaded
// machine drains a big outbox slowly, so this waits as long as events keep
// coming (5 minutes at most); 15 s without a new one ends the wait.
void ExpectAllArrive(Subscriber& sub, const std::set<std::string>& acked) {
  using Clock = std::chrono::steady_clock;
  const auto cap = Clock::now() + 300s;
  auto progress = Clock::now();
  size_t seen = 0;
  auto all_there = [&](const auto& messages) {
    if (messages.size() > seen) {
      seen = messages.size();
      progress = Clock::now();
    }
    if (messages.size() < acked.size()) return false;  // not worth decoding yet
    const auto ids = EventIds(messages);
    return std::all_of(acked.begin(), acked.end(), [&](const auto& id) { return ids.count(id); });
  };
  while (!sub.WaitFor(all_there, 1s) && Clock::now() < cap && Clock::now() - progress < 15s) {
  }
  const auto ids = EventIds(sub.messages());
  size_t missing = 0;
  for (const auto& id : acked) missing += ids.count(id) == 0;
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " acknowledged";
}

class AdapterTest : public ::testing::Test {
 protected:
  const testing::TempDir dir_{"adapter"};
  Mosquitto broker_;
};

TEST_F(AdapterTest, YealinkIncomingCallReachesSubscriberAsTypedEvent) {
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/#");
  Adapter adapter(TestSettings(broker_, dir_.path()));
  adapter.Start();
  const auto port = adapter.endpoint().port();

  const auto r =
      HttpGet(port, kAt +
                        "/yealink/incoming_call?mac=00:15:65:AA:BB:CC&ip=10.1.2.3&model=T46S"
                        "&call_id=1234&remote=%2B4930123456&display_remote=J%C3%BCrgen"
                        "&active_url=1001@pbx.example");
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(sub.WaitFor(
      [](const auto& msgs) {
        return std::any_of(msgs.begin(), msgs.end(), [](const auto& m) {
          return m.topic == "phonebus/v1/hq/device/001565aabbcc/event/call_incoming";
        });
      },
      10s));
  v1::PhoneEvent event;
  for (const auto& m : sub.messages()) {
    if (m.topic.ends_with("/event/call_incoming")) {
      ASSERT_TRUE(event.ParseFromString(m.payload));
      EXPECT_EQ(m.content_type, "application/x-protobuf");
    }
  }
  EXPECT_EQ(event.event_id(), AckedId(r));
  EXPECT_EQ(event.kind(), v1::EVENT_KIND_CALL_INCOMING);
  EXPECT_EQ(event.site(), "hq");
  EXPECT_EQ(event.device().id(), "001565aabbcc");
  EXPECT_EQ(event.device().ip(), "10.1.2.3");
  EXPECT_EQ(event.device().vendor(), v1::VENDOR_YEALINK);
  EXPECT_EQ(event.call().call_id(), "1234");
  EXPECT_EQ(event.call().remote().number(), "+4930123456");
  EXPECT_EQ(event.call().remote().display_name(), "J\xC3\xBCrgen");
  EXPECT_EQ(event.source_ip(), "127.0.0.1");
  EXPECT_GE(event.params_size(), 7);

  // The retained state now shows the ringing call.
  ASSERT_TRUE(sub.WaitFor(
      [](const auto& msgs) {
        return std::any_of(msgs.begin(), msgs.end(),
                           [](const auto& m) { return m.topic.ends_with("/state"); });
      },
      10s));
  Subscriber late(broker_.uri(), "phonebus/v1/hq/device/+/state");
  ASSERT_TRUE(late.WaitForCount(1, 10s));
  v1::DeviceState state;
  ASSERT_TRUE(state.ParseFromString(late.messages().front().payload));
  EXPECT_TRUE(late.messages().front().retained);
  EXPECT_EQ(state.device().model(), "T46S");
  ASSERT_EQ(state.active_calls_size(), 1);
  EXPECT_EQ(state.active_calls(0).call_id(), "1234");
}

// mosquitto closes the connection over a topic with a C1 control or a Unicode non-character.
// A device id with one was once answered 200 and then sent again after every reconnect,
// forever, and every event queued behind it waited.
TEST_F(AdapterTest, ADeviceIdTheBrokerWouldRefuseDoesNotStopTheQueue) {
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/#");
  Adapter adapter(TestSettings(broker_, dir_.path()));
  adapter.Start();
  const auto port = adapter.endpoint().port();
  std::set<std::string> acked;
  for (const char* id : {"%85", "a%C2%85b", "%EF%BF%BF", "%EF%B7%90", "x%92y", "%7F"}) {
    const auto r = HttpGet(port, kAt + "/softphone?action=incoming&device=" + id);
    ASSERT_EQ(r.status, 200) << id << ": " << r.body;
    acked.insert(AckedId(r));
  }
  const auto r = HttpGet(port, kAt + "/yealink/incoming_call?mac=001565aabbcc&call_id=1");
  ASSERT_EQ(r.status, 200) << r.body;
  acked.insert(AckedId(r));
  ExpectAllArrive(sub, acked);
  // Each id as a topic level, with what the broker refuses made '_'.
  std::set<std::string> devices;
  for (const auto& m : sub.messages()) {
    const std::string_view prefix = "phonebus/v1/hq/device/";
    if (!m.topic.starts_with(prefix) || m.topic.find("/event/") == std::string::npos) continue;
    devices.insert(m.topic.substr(prefix.size(), m.topic.find("/event/") - prefix.size()));
  }
  EXPECT_EQ(devices, (std::set<std::string>{"_", "a_b", "x_y", "001565aabbcc"}));
}

// PROTOCOLS.md 1.1: "the same event can arrive twice".
TEST_F(AdapterTest, AnActionUrlFiredTwiceIsOneEvent) {
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/+/event/+");
  Adapter adapter(TestSettings(broker_, dir_.path()));
  adapter.Start();
  const auto port = adapter.endpoint().port();
  const std::string ring = kAt + "/yealink/incoming_call?mac=001565aabbcc&call_id=77";
  const auto first = HttpGet(port, ring);
  const auto again = HttpGet(port, ring);
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(AckedId(again), AckedId(first));
  // Off hook, on hook, off hook: the last is not a repeat of the one before it.
  std::set<std::string> acked = {AckedId(first)};
  for (const char* e : {"off_hook", "on_hook", "off_hook"}) {
    const auto r = HttpGet(port, kAt + "/yealink/" + e + "?mac=001565aabbcc");
    ASSERT_EQ(r.status, 200) << r.body;
    acked.insert(AckedId(r));
  }
  EXPECT_EQ(acked.size(), 4u);
  ExpectAllArrive(sub, acked);
  std::this_thread::sleep_for(500ms);  // a second copy of the ring would be here by now
  EXPECT_EQ(sub.messages().size(), 4u);
  EXPECT_NE(HttpGet(port, "/metrics").body.find("\nphonebus_repeats_total 1"), std::string::npos);
}

TEST_F(AdapterTest, DndAndCallEndUpdateRetainedState) {
  Adapter adapter(TestSettings(broker_, dir_.path()));
  adapter.Start();
  const auto port = adapter.endpoint().port();
  const std::string mac = "mac=0015.65aa.bbcc";
  ASSERT_EQ(HttpGet(port, kAt + "/yealink/dnd_on?" + mac).status, 200);
  ASSERT_EQ(HttpGet(port, kAt + "/yealink/incoming_call?call_id=7&" + mac).status, 200);
  ASSERT_EQ(HttpGet(port, kAt + "/yealink/call_terminated?call_id=7&" + mac).status, 200);
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/001565aabbcc/state");
  ASSERT_TRUE(sub.WaitFor(
      [](const auto& msgs) {
        if (msgs.empty()) return false;
        v1::DeviceState s;
        return s.ParseFromString(msgs.back().payload) && s.dnd() && s.active_calls_size() == 0;
      },
      10s));
}

bool WaitConnected(unsigned short port) {
  for (int i = 0; i < 500; ++i) {
    if (HttpGet(port, "/metrics").body.find("\nphonebus_mqtt_connected 1") != std::string::npos) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

TEST_F(AdapterTest, RestartedAdapterKeepsRetainedStateItDidNotSee) {
  auto settings = TestSettings(broker_, dir_.path());
  {
    Adapter first(settings);
    first.Start();
    ASSERT_EQ(HttpGet(first.endpoint().port(), kAt + "/yealink/dnd_on?mac=001565aabbcc").status,
              200);
    ASSERT_TRUE(WaitConnected(first.endpoint().port()));
  }                                                     // shut down after publishing
  settings.outbox_dir = dir_.path() + "/fresh-outbox";  // nothing to replay: memory is empty
  Adapter second(settings);
  second.Start();
  ASSERT_TRUE(WaitConnected(second.endpoint().port()));
  std::this_thread::sleep_for(300ms);  // the retained state arrives after SUBACK
  ASSERT_EQ(
      HttpGet(second.endpoint().port(), kAt + "/yealink/incoming_call?mac=001565aabbcc&call_id=3")
          .status,
      200);
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/001565aabbcc/state");
  ASSERT_TRUE(sub.WaitFor(
      [](const auto& msgs) {
        v1::DeviceState s;
        return !msgs.empty() && s.ParseFromString(msgs.back().payload) &&
               s.active_calls_size() == 1;
      },
      10s));
  v1::DeviceState s;
  ASSERT_TRUE(s.ParseFromString(sub.messages().back().payload));
  EXPECT_TRUE(s.dnd()) << "the restarted adapter forgot DND";
}

TEST_F(AdapterTest, JsonPayloadOnMqtt311) {
  auto settings = TestSettings(broker_, dir_.path());
  settings.mqtt.version = "3.1.1";
  settings.mqtt.payload_format = "json";
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/+/event/+", "3.1.1");
  Adapter adapter(settings);
  adapter.Start();
  ASSERT_EQ(
      HttpGet(adapter.endpoint().port(), kAt + "/snom/connected?mac=000413AABBCC&call_id=9").status,
      200);
  ASSERT_TRUE(sub.WaitForCount(1, 10s));
  const auto m = sub.messages().front();
  EXPECT_EQ(m.topic, "phonebus/v1/hq/device/000413aabbcc/event/call_established");
  EXPECT_NE(m.payload.find("\"kind\":\"EVENT_KIND_CALL_ESTABLISHED\""), std::string::npos)
      << m.payload;
}

TEST_F(AdapterTest, BadInputGetsClearStatusAndReason) {
  auto settings = TestSettings(broker_, dir_.path());
  settings.max_url_bytes = 512;
  settings.max_header_bytes = 1024;
  settings.request_timeout_ms = 300;
  Adapter adapter(settings);
  adapter.Start();
  const auto port = adapter.endpoint().port();

  auto r = HttpGet(port, kAt + "/nowhere?x=1");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("no such path"), std::string::npos);

  r = HttpGet(port, kAt + "/yealink/incoming_call?remote=%zz");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("percent"), std::string::npos) << r.body;

  r = HttpGet(port, kAt + "/yealink/incoming_call?remote=" + std::string(600, '1'));
  EXPECT_EQ(r.status, 414);
  r = HttpGet(port, kAt + "/yealink/incoming_call?remote=" + std::string(20000, '1'));
  EXPECT_EQ(r.status, 414);

  r = SendRaw(port,
              "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
  EXPECT_EQ(r.status, 431);

  r = SendRaw(port, "POST /yealink/dnd_on HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(r.status, 405);

  r = SendRaw(port, "NOT-HTTP\r\n\r\n");
  EXPECT_EQ(r.status, 400);

  // A client that starts a request and stalls gets 408 once the time is up.
  r = SendRaw(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(r.status, 408);

  // And after all that, the adapter still serves.
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  const auto metrics = HttpGet(port, "/metrics");
  EXPECT_NE(metrics.body.find("phonebus_rejects_total{reason=\"url_too_long\"} 2"),
            std::string::npos)
      << metrics.body;
}

TEST_F(AdapterTest, ThousandsOfIdleConnectionsDoNotStopService) {
  auto settings = TestSettings(broker_, dir_.path());
  settings.max_connections = 1500;
  settings.max_connections_per_source = 0;
  settings.idle_timeout_ms = 60000;  // longer than the test: room is made, not waited for
  Adapter adapter(settings);
  adapter.Start();
  const auto port = adapter.endpoint().port();
  net::io_context ioc;
  std::vector<tcp::socket> idle;
  for (int i = 0; i < 2000; ++i) {
    idle.emplace_back(ioc).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  }
  // Past the limit each new connection closes the oldest idle one, so a phone
  // gets through at once.
  const auto t0 = std::chrono::steady_clock::now();
  auto r = HttpGet(port, kAt + "/yealink/dnd_on?mac=001565aabbcc", 2s);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  timeval wait{2, 0};  // a server that kept it open must fail the test, not hang it
  setsockopt(idle.front().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  char byte;
  boost::system::error_code ec;
  idle.front().read_some(net::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, net::error::eof);  // the server closed the oldest
}

TEST_F(AdapterTest, StatusTopicIsRetainedOnlineAndOfflineOnStop) {
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/service/+/status");
  {
    Adapter adapter(TestSettings(broker_, dir_.path()));
    adapter.Start();
    ASSERT_TRUE(
        sub.WaitFor([](const auto& m) { return !m.empty() && m.back().payload == "online"; }, 10s));
    EXPECT_EQ(sub.messages().back().topic, "phonebus/v1/hq/service/adapter-test/status");
  }
  ASSERT_TRUE(
      sub.WaitFor([](const auto& m) { return !m.empty() && m.back().payload == "offline"; }, 10s));
  Subscriber late(broker_.uri(), "phonebus/v1/hq/service/+/status");
  ASSERT_TRUE(late.WaitForCount(1, 10s));
  EXPECT_TRUE(late.messages().front().retained);
  EXPECT_EQ(late.messages().front().payload, "offline");
}

TEST_F(AdapterTest, FullOutboxAnswers503AndKeepsWhatItAccepted) {
  broker_.Stop();  // nothing drains
  auto settings = TestSettings(broker_, dir_.path());
  settings.outbox_max_mb = 1;
  std::set<std::string> acked;
  int refused = 0;
  {
    Adapter adapter(settings);
    adapter.Start();
    const std::string pad(300, 'x');
    for (int i = 0; i < 5000 && refused == 0; ++i) {
      const auto r =
          HttpGet(adapter.endpoint().port(),
                  kAt + "/yealink/incoming_call?mac=001565000001&call_id=" + std::to_string(i) +
                      "&display_remote=" + pad);
      if (r.status == 200) acked.insert(AckedId(r));
      if (r.status == 503) ++refused;
    }
    ASSERT_EQ(refused, 1);
    ASSERT_GT(acked.size(), 100u);
    const auto metrics = HttpGet(adapter.endpoint().port(), "/metrics").body;
    EXPECT_NE(metrics.find("phonebus_rejects_total{reason=\"outbox_full\"} 1"), std::string::npos);
  }
  broker_.Start();
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/+/event/+");
  Adapter adapter(settings);
  adapter.Start();
  ExpectAllArrive(sub, acked);
}

// A full outbox under load refuses thousands of events a second: the log says
// so once, the metric counts each.
TEST_F(AdapterTest, AFullOutboxIsLoggedOnceAndCountedEachTime) {
  broker_.Stop();  // nothing drains
  auto settings = TestSettings(broker_, dir_.path());
  settings.outbox_max_mb = 1;
  Adapter adapter(settings);
  adapter.Start();
  const std::string pad(300, 'x');
  int i = 0;
  auto send = [&] {
    return HttpGet(adapter.endpoint().port(),
                   kAt + "/yealink/incoming_call?mac=001565000001&call_id=" + std::to_string(i++) +
                       "&display_remote=" + pad)
        .status;
  };
  ::testing::internal::CaptureStderr();
  while (i < 5000 && send() == 200) {
  }
  int refused = 1;
  for (int n = 0; n < 20; ++n) refused += send() == 503;
  const std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_LT(i, 5000) << "the outbox never filled";
  EXPECT_EQ(refused, 21);
  size_t lines = 0;
  for (size_t at = log.find("outbox full: refusing"); at != std::string::npos;
       at = log.find("outbox full: refusing", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 1u) << log;
  const auto metrics = HttpGet(adapter.endpoint().port(), "/metrics").body;
  EXPECT_NE(metrics.find("phonebus_rejects_total{reason=\"outbox_full\"} 21"), std::string::npos)
      << metrics;
}

// Sends Action URLs until `stop`, recording the id of every event answered 200.
class Load {
 public:
  explicit Load(std::function<unsigned short()> port) : port_(std::move(port)) {
    thread_ = std::thread([this] {
      for (int i = 0; !stop_; ++i) {
        const auto r = HttpGet(
            port_(),
            kAt + "/yealink/call_established?mac=001565000002&call_id=" + std::to_string(i), 1s);
        if (r.status == 200) {
          std::lock_guard lock(mu_);
          acked_.insert(AckedId(r));
        } else {
          ++failed_;
          if (r.status != 0) ++refused_;
          std::this_thread::sleep_for(5ms);
        }
      }
    });
  }
  std::set<std::string> Finish() {
    stop_ = true;
    thread_.join();
    std::lock_guard lock(mu_);
    return acked_;
  }
  size_t acked() {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  int failed() const { return failed_; }
  // Answered, but not with 200.
  int refused() const { return refused_; }

 private:
  std::function<unsigned short()> port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> failed_{0};
  std::atomic<int> refused_{0};
  std::mutex mu_;
  std::set<std::string> acked_;
  std::thread thread_;
};

TEST_F(AdapterTest, BrokerDownTenSecondsLosesNothingAcknowledged) {
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/+/event/+");
  Adapter adapter(TestSettings(broker_, dir_.path()));
  adapter.Start();
  const auto port = adapter.endpoint().port();
  Load load([port] { return port; });
  std::this_thread::sleep_for(1s);
  broker_.Stop();
  std::this_thread::sleep_for(10s);
  broker_.Start();
  std::this_thread::sleep_for(1s);
  const auto acked = load.Finish();
  ASSERT_GT(acked.size(), 100u);
  ExpectAllArrive(sub, acked);
}

// Under a backlog a device's states are latest-wins: only the newest is sent, every event is.
TEST_F(AdapterTest, BacklogPublishesEveryEventAndOnlyTheNewestStateOfADevice) {
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/+/#");
  Adapter adapter(TestSettings(broker_, dir_.path()));
  adapter.Start();
  const auto port = adapter.endpoint().port();
  ASSERT_TRUE(WaitConnected(port));
  broker_.Stop();
  std::set<std::string> acked;
  std::string last_id;
  constexpr int kEvents = 40;  // DND on and off in turn, ending on
  for (int i = 1; i <= kEvents; ++i) {
    const auto r =
        HttpGet(port, kAt + (i % 2 ? "/yealink/dnd_off" : "/yealink/dnd_on") + "?mac=001565aabbcc");
    ASSERT_EQ(r.status, 200) << r.body;
    last_id = AckedId(r);
    acked.insert(last_id);
  }
  broker_.Start();
  ExpectAllArrive(sub, acked);
  auto newest_state_arrived = [&](const auto& messages) {
    v1::DeviceState s;
    return !messages.empty() && messages.back().topic.ends_with("/state") &&
           s.ParseFromString(messages.back().payload) && s.last_event_id() == last_id;
  };
  ASSERT_TRUE(sub.WaitFor(newest_state_arrived, 10s));
  size_t states = 0;
  for (const auto& m : sub.messages()) states += m.topic.ends_with("/state");
  EXPECT_LT(states, static_cast<size_t>(kEvents)) << "older states were sent as well";
  const auto metrics = HttpGet(port, "/metrics").body;
  EXPECT_NE(metrics.find("\nphonebus_retained_coalesced_total "), std::string::npos);
  EXPECT_EQ(metrics.find("\nphonebus_retained_coalesced_total 0\n"), std::string::npos);
  // The broker retains the newest.
  Subscriber late(broker_.uri(), "phonebus/v1/hq/device/001565aabbcc/state");
  ASSERT_TRUE(late.WaitForCount(1, 10s));
  v1::DeviceState retained;
  ASSERT_TRUE(retained.ParseFromString(late.messages().front().payload));
  EXPECT_EQ(retained.last_event_id(), last_id);
  EXPECT_TRUE(retained.dnd());
}

class AdapterProcess {
 public:
  AdapterProcess(const Mosquitto& broker, const std::string& dir, unsigned short port,
                 const std::string& durability = "os", const std::vector<std::string>& extra = {})
      : args_{PHONEBUS_ADAPTER_BIN,
              "--durability=" + durability,
              "--listen=127.0.0.1:" + std::to_string(port),
              "--site=hq",
              "--instance=killme",
              "--mqtt-broker=" + broker.uri(),
              "--outbox-dir=" + dir + "/outbox",
              "--log-level=warn",
              std::string("--url-secret=") + kUrlSecret},
        port_(port) {
    args_.insert(args_.end(), extra.begin(), extra.end());
    Start();
  }
  ~AdapterProcess() { Kill(SIGKILL); }
  void Start() {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test (it would hold ctest)
      std::vector<char*> argv;
      for (auto& a : args_) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    for (int i = 0; i < 500 && HttpGet(port_, "/healthz", 200ms).status != 200; ++i) {
      std::this_thread::sleep_for(10ms);
    }
  }
  void Kill(int sig) {
    if (pid_ <= 0) return;
    kill(pid_, sig);
    int status;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }
  // The exit code once the process ended, or -1 (killed) after `timeout`.
  int Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        Kill(SIGKILL);
        return -1;
      }
      std::this_thread::sleep_for(10ms);
    }
    return -1;
  }

 private:
  std::vector<std::string> args_;
  unsigned short port_;
  pid_t pid_ = -1;
};

class SigkillTest : public AdapterTest, public ::testing::WithParamInterface<std::string> {};

TEST_P(SigkillTest, SigkilledAdapterLosesNothingAcknowledged) {
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/+/event/+");
  Subscriber status(broker_.uri(), "phonebus/v1/hq/service/adapter-killme/status");
  const auto port = testing::FreePort();
  AdapterProcess adapter(broker_, dir_.path(), port, GetParam());
  Load load([port] { return port; });
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(1500ms);
    adapter.Kill(SIGKILL);
    adapter.Start();
  }
  std::this_thread::sleep_for(1s);
  const auto acked = load.Finish();
  ASSERT_GT(acked.size(), 100u);
  ExpectAllArrive(sub, acked);
  // Each kill left the broker to publish the last will.
  const auto statuses = status.messages();
  EXPECT_GE(std::count_if(statuses.begin(), statuses.end(),
                          [](const auto& m) { return m.payload == "offline"; }),
            1);
}

INSTANTIATE_TEST_SUITE_P(Durability, SigkillTest, ::testing::Values("os", "fsync"));

// SIGTERM while phones keep firing (as Kubernetes stops a pod): readiness
// turns false first while the listener still answers, requests in flight get
// their answer, the process exits 0, and every event answered 200 reaches the
// bus: published before the exit while the broker is up; kept in the outbox
// and published by the next start on the same directory while it is down.
class SigtermTest : public AdapterTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SigtermTest, SigtermUnderLoadLosesNothingAcknowledged) {
  const bool broker_down = GetParam();
  Subscriber sub(broker_.uri(), "phonebus/v1/hq/device/+/event/+");
  const auto port = testing::FreePort();
  // fsync: a request waits for its group fsync with nothing pending on its
  // socket, the case where answers were once lost at shutdown.
  AdapterProcess adapter(broker_, dir_.path(), port, "fsync",
                         {"--shutdown-grace-ms=1500", "--drain-timeout=30"});
  std::vector<std::unique_ptr<Load>> loads;
  for (int i = 0; i < 4; ++i) loads.push_back(std::make_unique<Load>([port] { return port; }));
  auto acked = [&] {
    size_t n = 0;
    for (auto& l : loads) n += l->acked();
    return n;
  };
  auto wait_acked = [&](size_t n) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (acked() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(5ms);
    }
    return acked() >= n;
  };
  ASSERT_TRUE(wait_acked(200));
  if (broker_down) {
    broker_.Stop();  // from here on, what is answered can only wait in the outbox
    ASSERT_TRUE(wait_acked(acked() + 100));
  }

  adapter.Signal(SIGTERM);
  const auto signalled = std::chrono::steady_clock::now();
  bool not_ready = false;
  for (int i = 0; i < 500 && !not_ready; ++i) {
    not_ready = HttpGet(port, "/readyz", 500ms).status == 503;
  }
  ASSERT_TRUE(not_ready) << "/readyz never said 503";
  // Not ready, yet still answering: the phones' requests keep getting 200.
  EXPECT_TRUE(wait_acked(acked() + 20)) << "no request answered after readiness turned false";
  EXPECT_EQ(adapter.Wait(45s), 0);
  // Done once the requests in flight are answered (and, with the broker up,
  // the outbox is empty), not when the drain timeout runs out.
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, 15s);
  EXPECT_EQ(HttpGet(port, "/healthz", 200ms).status, 0);  // the listener is gone

  std::set<std::string> all;
  int refused = 0;
  for (auto& l : loads) {
    const auto ids = l->Finish();
    all.insert(ids.begin(), ids.end());
    refused += l->refused();
  }
  // A request either got its 200 or found the listener closed; none was cut
  // off with an error answer.
  EXPECT_EQ(refused, 0);
  if (broker_down) {
    EXPECT_LT(EventIdsOf(sub), all.size());  // not all could be published
    broker_.Start();
    adapter.Start();  // the same outbox directory
  }
  ExpectAllArrive(sub, all);
}

INSTANTIATE_TEST_SUITE_P(Broker, SigtermTest, ::testing::Bool(), [](const auto& info) {
  return info.param ? "BrokerDownKeepsOutbox" : "BrokerUpDrains";
});

}  // namespace
}  // namespace phonebus::adapter
