// Broker failover on a real three-node MQTT cluster (nats-server): two
// adapters and two commanders, each adapter and commander pair pointed at a
// different first node. Action URLs stream into both adapters while the node
// each adapter is connected to is killed (one at a time: the cluster keeps a
// quorum); a subscriber on the node that stays up must see every event an
// adapter answered 200 for. The commanders fail over too: they keep the
// devices they learned, learn new states from the node they moved to, and
// still dial a simulated phone they know only from the bus.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "adapter.h"
#include "commander.h"
#include "http_get.h"
#include "nats_cluster.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "simulator.h"
#include "subscriber.h"
#include "temp_dir.h"

namespace phonebus {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr char kUrlSecret[] = "cluster-url-secret-0123456789";

// The one place this test spells an Action URL (path and query), the way a
// Yealink fires it.
std::string ActionUrl(const std::string& event, const std::string& mac, const std::string& params) {
  return "/" + std::string(kUrlSecret) + "/yealink/" + event + "?mac=" + mac +
         (params.empty() ? "" : "&" + params);
}

// The event id from the adapter's "ok <event_id>" answer.
std::string AckedId(const testing::HttpResult& r) {
  return r.status == 200 && r.body.rfind("ok ", 0) == 0 ? r.body.substr(3, 36) : std::string{};
}

// Sends one phone's call events to an adapter until stopped, about 50 a
// second (a busy call center, and what three JetStream replicas on a shared
// 2-core machine keep up with), recording the id of every event answered 200.
class Stream {
 public:
  Stream(unsigned short port, std::string mac) : port_(port), mac_(std::move(mac)) {
    thread_ = std::thread([this] {
      for (int i = 0; !stop_; ++i) {
        if (paused_) {
          std::this_thread::sleep_for(10ms);
          continue;
        }
        const auto r = testing::HttpGet(
            port_, ActionUrl("call_established", mac_, "call_id=" + std::to_string(i)), 2s);
        if (r.status == 200) {
          std::lock_guard lock(mu_);
          acked_.insert(AckedId(r));
        } else {
          ++failed_;
        }
        std::this_thread::sleep_for(20ms);  // pacing, not synchronisation
      }
    });
  }
  ~Stream() {
    if (thread_.joinable()) Finish();
  }
  size_t acked() {
    std::lock_guard lock(mu_);
    return acked_.size();
  }
  // Waits until `more` events beyond those answered so far were answered 200.
  bool WaitMore(size_t more, std::chrono::milliseconds timeout) {
    const size_t target = acked() + more;
    const auto deadline = Clock::now() + timeout;
    while (acked() < target) {
      if (Clock::now() >= deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }
  std::set<std::string> Finish() {
    stop_ = true;
    thread_.join();
    std::lock_guard lock(mu_);
    return acked_;
  }
  int failed() const { return failed_; }
  void Pause(bool paused) { paused_ = paused; }

 private:
  unsigned short port_;
  std::string mac_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<int> failed_{0};
  std::mutex mu_;
  std::set<std::string> acked_;
  std::thread thread_;
};

// How often each event id arrived.
std::map<std::string, int> Arrivals(const std::vector<mqtt_client::Message>& messages) {
  std::map<std::string, int> out;
  for (const auto& m : messages) {
    if (m.topic.find("/event/") == std::string::npos) continue;
    v1::PhoneEvent e;
    if (e.ParseFromString(m.payload)) ++out[e.event_id()];
  }
  return out;
}

template <typename Predicate>
bool WaitUntil(Predicate done, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

adapter::AdapterSettings AdapterAt(const testing::NatsCluster& cluster, int first,
                                   const std::string& instance, const std::string& dir) {
  adapter::AdapterSettings s;
  s.listen = "127.0.0.1:0";
  s.site = "hq";
  s.instance = instance;
  s.url_secrets = {kUrlSecret};
  s.mqtt.brokers = cluster.uris(first);
  s.mqtt.version = "3.1.1";
  s.mqtt.connect_timeout_s = 3;
  s.outbox_dir = dir + "/outbox-" + instance;
  s.drain_timeout_s = 5;
  s.log_level = "warn";
  return s;
}

command::CommanderSettings CommanderAt(const testing::NatsCluster& cluster, int first,
                                       const std::string& instance, const std::string& inventory) {
  command::CommanderSettings s;
  s.listen = "127.0.0.1:0";
  s.metrics_listen = "127.0.0.1:0";
  s.site = "hq";
  s.instance = instance;
  s.inventory = inventory;
  s.mqtt.brokers = cluster.uris(first);
  s.mqtt.version = "3.1.1";
  s.mqtt.connect_timeout_s = 3;
  s.log_level = "warn";
  s.insecure_no_auth = true;  // failover, not callers, is under test (loopback only)
  command::Finish(s);
  return s;
}

class Control {
 public:
  explicit Control(const command::Commander& commander)
      : stub_(v1::PhoneControl::NewStub(
            grpc::CreateChannel("127.0.0.1:" + std::to_string(commander.grpc_port()),
                                grpc::InsecureChannelCredentials()))) {}
  bool Knows(const std::string& device) {
    v1::GetDeviceRequest req;
    req.set_device(device);
    v1::DeviceInfo info;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 2s);
    return stub_->GetDevice(&ctx, req, &info).ok();
  }
  grpc::Status Dial(const std::string& device, const std::string& number,
                    const std::string& request_id) {
    v1::DialRequest req;
    req.set_device(device);
    req.set_number(number);
    req.set_request_id(request_id);
    v1::DialResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    return stub_->Dial(&ctx, req, &resp);
  }

 private:
  std::unique_ptr<v1::PhoneControl::Stub> stub_;
};

TEST(ClusterFailover, NothingAnsweredIsLostAndCommandersKeepDialing) {
  const auto started = Clock::now();
  const testing::TempDir dir("cluster");
  testing::NatsCluster cluster(3);
  // Nodes 0 and 1 are killed in turn; node 2 stays up and hosts the reader.
  testing::Subscriber sub(cluster.uri(2), "phonebus/v1/hq/device/+/event/+", "3.1.1");

  phonesim::Simulator sim;
  auto phone = sim.Add({.id = "001565aabbcc",
                        .family = phonesim::Family::kYealinkServlet,
                        .auth = phonesim::AuthScheme::kDigest,
                        .username = "admin",
                        .password = "secret-cluster",
                        .account = "1001@pbx.example"});
  ASSERT_TRUE(phone.ok()) << phone.status();
  // No device listed: the commanders learn the phone from the retained state
  // the adapters publish; the defaults say how to reach a Yealink.
  std::ofstream(dir.path() + "/inventory.json")
      << R"({"defaults": [{"vendor": "yealink", "port": )" << phone->port()
      << R"(, "username": "admin", "password": "secret-cluster"}]})";

  adapter::Adapter adapter_a(AdapterAt(cluster, 0, "a", dir.path()));
  adapter::Adapter adapter_b(AdapterAt(cluster, 1, "b", dir.path()));
  adapter_a.Start();
  adapter_b.Start();
  command::Commander commander_a(CommanderAt(cluster, 0, "a", dir.path() + "/inventory.json"));
  command::Commander commander_b(CommanderAt(cluster, 1, "b", dir.path() + "/inventory.json"));
  commander_a.Start();
  commander_b.Start();
  Control control_a(commander_a);
  Control control_b(commander_b);

  // Each service is on the first node of its list.
  ASSERT_TRUE(WaitUntil([&] { return cluster.NodeOf("phonebus-adapter-a-") == 0; }, 20s));
  ASSERT_TRUE(WaitUntil([&] { return cluster.NodeOf("phonebus-adapter-b-") == 1; }, 20s));
  ASSERT_TRUE(WaitUntil([&] { return cluster.NodeOf("phonebus-commander-a-") == 0; }, 20s));
  ASSERT_TRUE(WaitUntil([&] { return cluster.NodeOf("phonebus-commander-b-") == 1; }, 20s));

  // The phone registers through adapter A; both commanders learn it.
  ASSERT_EQ(testing::HttpGet(adapter_a.endpoint().port(),
                             ActionUrl("registered", phone->id(),
                                       "ip=127.0.0.1&model=T46S&active_url=1001@pbx.example"))
                .status,
            200);
  ASSERT_TRUE(WaitUntil([&] { return control_a.Knows("1001@pbx.example"); }, 20s));
  ASSERT_TRUE(WaitUntil([&] { return control_b.Knows("1001@pbx.example"); }, 20s));

  Stream stream_a(adapter_a.endpoint().port(), "001565000a0a");
  Stream stream_b(adapter_b.endpoint().port(), "001565000b0b");
  ASSERT_TRUE(stream_a.WaitMore(50, 20s));
  ASSERT_TRUE(stream_b.WaitMore(50, 20s));

  // Kill adapter A's node mid-stream: A and commander A move on; the phones
  // keep getting answers throughout.
  cluster.Kill(0);
  ASSERT_TRUE(WaitUntil([&] { return cluster.NodeOf("phonebus-adapter-a-") > 0; }, 30s))
      << "adapter A did not fail over";
  ASSERT_TRUE(WaitUntil([&] { return cluster.NodeOf("phonebus-commander-a-") > 0; }, 30s))
      << "commander A did not fail over";
  ASSERT_TRUE(stream_a.WaitMore(50, 20s));

  // Bring it back and let it catch up (the streams keep their quorum only
  // one node down at a time; phones pause meanwhile so that the restarted
  // node can be seen to hold everything), then kill adapter B's node.
  stream_a.Pause(true);
  stream_b.Pause(true);
  cluster.Start(0);
  cluster.WaitReady();
  stream_a.Pause(false);
  stream_b.Pause(false);
  ASSERT_TRUE(stream_b.WaitMore(50, 20s));
  // Wherever B is now: under load it may have moved while node 0 restarted.
  const int node_b = cluster.NodeOf("phonebus-adapter-b-");
  ASSERT_GE(node_b, 0);
  cluster.Kill(node_b);
  ASSERT_TRUE(WaitUntil(
      [&] {
        const int now = cluster.NodeOf("phonebus-adapter-b-");
        return now >= 0 && now != node_b;
      },
      30s))
      << "adapter B did not fail over";
  ASSERT_TRUE(WaitUntil(
      [&] {
        const int now = cluster.NodeOf("phonebus-commander-b-");
        return now >= 0 && now != node_b;
      },
      30s))
      << "commander B did not fail over";
  ASSERT_TRUE(stream_b.WaitMore(50, 20s));
  ASSERT_TRUE(stream_a.WaitMore(50, 20s));

  const auto acked_a = stream_a.Finish();
  const auto acked_b = stream_b.Finish();
  std::set<std::string> acked = acked_a;
  acked.insert(acked_b.begin(), acked_b.end());

  // Every event answered 200 arrives at the reader on the surviving node.
  auto all_there = [&](const auto& messages) {
    const auto arrived = Arrivals(messages);
    return std::all_of(acked.begin(), acked.end(),
                       [&](const auto& id) { return arrived.count(id) > 0; });
  };
  EXPECT_TRUE(sub.WaitFor(all_there, 30s));
  const auto arrived = Arrivals(sub.messages());
  size_t missing = 0;
  size_t duplicates = 0;
  for (const auto& id : acked) {
    const auto it = arrived.find(id);
    if (it == arrived.end()) {
      ++missing;
    } else {
      duplicates += static_cast<size_t>(it->second - 1);
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << acked.size() << " answered 200";
  std::cout << "[ cluster  ] answered 200: " << acked_a.size() << " via A, " << acked_b.size()
            << " via B; missing " << missing << ", duplicates " << duplicates
            << "; not answered: " << stream_a.failed() + stream_b.failed() << "\n";
  RecordProperty("answered", static_cast<int>(acked.size()));
  RecordProperty("duplicates", static_cast<int>(duplicates));

  // Both commanders kept what they learned before the failover...
  EXPECT_TRUE(control_a.Knows("1001@pbx.example"));
  EXPECT_TRUE(control_b.Knows("1001@pbx.example"));
  // ...and read new retained states on the node they moved to: the phone
  // registers a second account through adapter B.
  ASSERT_EQ(testing::HttpGet(adapter_b.endpoint().port(),
                             ActionUrl("registered", phone->id(),
                                       "ip=127.0.0.1&model=T46S&active_url=1002@pbx.example"))
                .status,
            200);
  EXPECT_TRUE(WaitUntil([&] { return control_a.Knows("1002@pbx.example"); }, 20s));
  EXPECT_TRUE(WaitUntil([&] { return control_b.Knows("1002@pbx.example"); }, 20s));

  // And they still dial the phone they know only from the bus.
  auto dialed = control_a.Dial("1001@pbx.example", "+4930111", "cluster-dial-a");
  EXPECT_TRUE(dialed.ok()) << dialed.error_code() << " " << dialed.error_message();
  dialed = control_b.Dial("1002@pbx.example", "+4930222", "cluster-dial-b");
  EXPECT_TRUE(dialed.ok()) << dialed.error_code() << " " << dialed.error_message();
  std::vector<std::string> numbers;
  for (const auto& r : phone->Requests()) {
    if (r.command) numbers.push_back(r.command->number);
  }
  EXPECT_EQ(numbers, (std::vector<std::string>{"+4930111", "+4930222"}));

  commander_a.Shutdown();
  commander_b.Shutdown();
  adapter_a.Shutdown();
  adapter_b.Shutdown();
  sim.Stop();
  std::cout << "[ cluster  ] took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count()
            << " ms\n";
}

}  // namespace
}  // namespace phonebus
