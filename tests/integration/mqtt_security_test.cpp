// The bus locked down as a production broker would be: mosquitto with a TLS
// listener (certificates from a throw-away CA made at test time), a password
// file and an ACL that allows each service only its own topics. The real
// adapter and commander work within it; a broker whose certificate does not
// chain to the configured CA gets no connection (and so no password, no
// data); a wrong password is named as such; and a topic outside a service's
// ACL is out of its reach.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <future>
#include <thread>

#include "adapter.h"
#include "commander.h"
#include "http_get.h"
#include "mosquitto.h"
#include "mqtt_client.h"
#include "pki.h"
#include "simulator.h"
#include "subscriber.h"
#include "temp_dir.h"
#include "topics.h"

namespace phonebus {
namespace {

using namespace std::chrono_literals;
using testing::Mosquitto;
using testing::Subscriber;

// The ACL README.md shows, for site "hq" and instances named "test".
constexpr char kAcl[] = R"(# phonebus-adapter: its site's events and states, its status
user adapter
topic write phonebus/v1/hq/device/+/event/#
topic readwrite phonebus/v1/hq/device/+/state
topic write phonebus/v1/hq/service/adapter-test/status

# phonebus-commander: reads its site's states and events, writes results and its status
user commander
topic read phonebus/v1/hq/device/+/state
topic read phonebus/v1/hq/device/+/event/#
topic write phonebus/v1/hq/device/+/command/result
topic write phonebus/v1/hq/service/commander-test/status

# the test's own eyes and hands
user admin
topic readwrite #
)";

bool Has(const std::vector<mqtt_client::Message>& messages, const std::string& topic) {
  return std::any_of(messages.begin(), messages.end(),
                     [&](const auto& m) { return m.topic == topic; });
}

class MqttSecurityTest : public ::testing::Test {
 protected:
  MqttSecurityTest()
      : broker_(Mosquitto::Security{.ca_file = pki_.ca_file(),
                                    .cert_file = pki_.server_cert(),
                                    .key_file = pki_.server_key(),
                                    .users = {{"adapter", "adapter-pw-1c9e"},
                                              {"commander", "commander-pw-77a0"},
                                              {"admin", "admin-pw-0b3d"}},
                                    .acl = kAcl}) {}

  settings::Mqtt Login(const std::string& user, const std::string& password,
                       const std::string& ca_file) const {
    settings::Mqtt mqtt;
    mqtt.brokers = {broker_.uri()};
    mqtt.username = user;
    mqtt.password = password;
    mqtt.ca_file = ca_file;
    mqtt.connect_timeout_s = 3;
    return mqtt;
  }
  settings::Mqtt Login(const std::string& user, const std::string& password) const {
    return Login(user, password, pki_.ca_file());
  }

  static mqtt_client::Options Client(settings::Mqtt mqtt, const std::string& id) {
    mqtt_client::Options o;
    o.mqtt = std::move(mqtt);
    o.client_id = id;
    return o;
  }

  testing::Pki pki_;
  Mosquitto broker_;
  const testing::TempDir dir_{"mqtt-sec"};
};

TEST_F(MqttSecurityTest, AdapterPublishesOverTlsWithItsLogin) {
  Subscriber admin(Login("admin", "admin-pw-0b3d"), "#");
  adapter::AdapterSettings s;
  s.listen = "127.0.0.1:0";
  s.site = "hq";
  s.instance = "test";
  s.mqtt = Login("adapter", "adapter-pw-1c9e");
  s.url_secret = "mqtt-security-url-secret-01";
  s.outbox_dir = dir_.path() + "/outbox";
  s.drain_timeout_s = 2;
  s.log_level = "error";
  adapter::Finish(s);
  adapter::Adapter adapter(s);
  adapter.Start();
  const auto r = testing::HttpGet(adapter.endpoint().port(),
                                  "/mqtt-security-url-secret-01/yealink/incoming_call"
                                  "?mac=00:15:65:AA:BB:01&ip=10.1.2.3"
                                  "&call_id=7&remote=%2B4930123456");
  ASSERT_EQ(r.status, 200) << r.body;
  const std::string event = "phonebus/v1/hq/device/001565aabb01/event/call_incoming";
  const std::string state = "phonebus/v1/hq/device/001565aabb01/state";
  EXPECT_TRUE(admin.WaitFor([&](const auto& m) { return Has(m, event) && Has(m, state); }, 15s));
  EXPECT_TRUE(Has(admin.messages(), "phonebus/v1/hq/service/adapter-test/status"));
}

TEST_F(MqttSecurityTest, CommanderLearnsAndPublishesResultsWithinItsAcl) {
  phonesim::Simulator sim;
  auto phone = sim.Add({.id = "001565aabb02", .family = phonesim::Family::kYealinkServlet});
  ASSERT_TRUE(phone.ok());
  std::ofstream(dir_.path() + "/inventory.json")
      << R"({"devices": [{"id": "001565aabb02", "vendor": "yealink", "address": "127.0.0.1:)"
      << phone->port() << "\"}]}";
  Subscriber admin(Login("admin", "admin-pw-0b3d"), "#");
  // A retained state as the adapter publishes it, with the adapter's login.
  mqtt_client::Client adapter(Client(Login("adapter", "adapter-pw-1c9e"), "acl-adapter"));
  ASSERT_TRUE(adapter.Connect().ok());
  v1::DeviceState learned;
  learned.mutable_device()->set_vendor(v1::VENDOR_YEALINK);
  learned.mutable_device()->set_ip("10.1.2.9");
  ASSERT_TRUE(
      adapter
          .Publish(
              {topics::State("hq", "001565aabb03"), learned.SerializeAsString(), 1, true, "", {}},
              1)
          .ok());

  command::CommanderSettings s;
  s.listen = "127.0.0.1:0";
  s.metrics_listen = "127.0.0.1:0";
  s.insecure_no_auth = true;
  s.site = "hq";
  s.learn_sites = "hq";  // a filter wider than the ACL's would be refused
  s.instance = "test";
  s.inventory = dir_.path() + "/inventory.json";
  s.mqtt = Login("commander", "commander-pw-77a0");
  s.log_level = "error";
  command::Finish(s);
  command::Commander commander(s);
  commander.Start();
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (commander.registry().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(commander.registry().size(), 2u) << "the commander did not learn the retained state";

  auto stub = v1::PhoneControl::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(commander.grpc_port()), grpc::InsecureChannelCredentials()));
  v1::DialRequest req;
  req.set_device("001565aabb02");
  req.set_number("2323");
  req.set_request_id("acl-1");
  v1::DialResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  ASSERT_TRUE(stub->Dial(&ctx, req, &resp).ok());
  EXPECT_TRUE(admin.WaitFor(
      [](const auto& m) { return Has(m, "phonebus/v1/hq/device/001565aabb02/command/result"); },
      10s));
  EXPECT_TRUE(Has(admin.messages(), "phonebus/v1/hq/service/commander-test/status"));
  adapter.Close();
  commander.Shutdown();
  sim.Stop();
}

// The handshake fails before MQTT's CONNECT: the broker never sees the
// client id, the user name or the password.
TEST_F(MqttSecurityTest, ABrokerTheCaDoesNotVouchForGetsNoConnection) {
  Subscriber admin(Login("admin", "admin-pw-0b3d"), "#");
  mqtt_client::Options o =
      Client(Login("adapter", "adapter-pw-1c9e", pki_.other_ca_file()), "wrong-ca-client-4d1f");
  o.status_topic = "phonebus/v1/hq/service/adapter-test/status";
  mqtt_client::Client client(o);
  const auto status = client.Connect();
  ASSERT_FALSE(status.ok());
  const std::string message(status.message());
  EXPECT_NE(message.find("TLS with the broker failed"), std::string::npos) << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
  EXPECT_NE(message.find("--mqtt-ca-file"), std::string::npos) << message;
  EXPECT_EQ(message.find("adapter-pw-1c9e"), std::string::npos) << message;
  EXPECT_FALSE(client.IsConnected());
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(broker_.Log().find("wrong-ca-client-4d1f"), std::string::npos) << broker_.Log();
  EXPECT_FALSE(Has(admin.messages(), "phonebus/v1/hq/service/adapter-test/status"));

  // The system store does not vouch for a private CA either.
  mqtt_client::Client system_store(Client(Login("adapter", "adapter-pw-1c9e", ""), "sys-ca"));
  EXPECT_FALSE(system_store.Connect().ok());
}

TEST_F(MqttSecurityTest, AWrongPasswordIsNamedAsSuch) {
  for (const std::string version : {"5", "3.1.1"}) {
    for (const auto& [user, password] : std::vector<std::pair<std::string, std::string>>{
             {"adapter", "not-the-password"}, {"nobody", "not-the-password"}, {"", ""}}) {
      auto login = Login(user, password);
      login.version = version;
      mqtt_client::Client client(Client(login, "wrong-pw"));
      const auto status = client.Connect();
      ASSERT_FALSE(status.ok()) << version << " " << user;
      // Not UNAVAILABLE: nothing gets better by trying again (`phonebus watch` exits 4, not 5).
      EXPECT_EQ(status.code(), absl::StatusCode::kUnauthenticated) << status;
      const std::string message(status.message());
      EXPECT_NE(message.find("wrong user name or password"), std::string::npos)
          << version << " " << user << ": " << message;
      EXPECT_EQ(message.find("not-the-password"), std::string::npos) << message;
    }
  }
}

// Publishes once with `login` and waits for the broker's verdict: whether it
// acknowledged. (On MQTT 5 mosquitto answers a denied publish with PUBACK
// "not authorized", and paho then drops the connection: each attempt gets a
// connection of its own.)
bool PublishAs(const settings::Mqtt& login, const std::string& topic, const std::string& payload) {
  static std::atomic<int> n{0};
  mqtt_client::Options o;
  o.mqtt = login;
  o.client_id = "acl-publisher-" + std::to_string(++n);
  mqtt_client::Client client(o);
  std::promise<bool> verdict;
  std::atomic<bool> told{false};
  const auto tell = [&](bool ok) {
    if (!told.exchange(true)) verdict.set_value(ok);
  };
  client.OnDelivered([&](uint64_t, bool ok) { tell(ok); });
  client.OnConnectionLost([&](const std::string&) { tell(false); });
  if (!client.Connect().ok()) return false;
  if (!client.Publish({topic, payload, 1, false, "", {}}, 1).ok()) return false;
  auto future = verdict.get_future();
  const bool ok = future.wait_for(10s) == std::future_status::ready && future.get();
  client.Close();
  return ok;
}

TEST_F(MqttSecurityTest, ATopicOutsideAServicesAclIsOutOfItsReach) {
  Subscriber admin(Login("admin", "admin-pw-0b3d"), "#");
  const auto adapter = Login("adapter", "adapter-pw-1c9e");
  const auto commander_login = Login("commander", "commander-pw-77a0");
  // The commander's subscriptions: another site's states never reach it.
  mqtt_client::Client commander(Client(commander_login, "acl-commander"));
  ASSERT_TRUE(commander.Connect().ok());
  std::mutex mu;
  std::vector<std::string> commander_got;
  commander.OnMessage([&](mqtt_client::Message m) {
    std::lock_guard lock(mu);
    commander_got.push_back(m.topic);
  });
  (void)commander.Subscribe("phonebus/v1/branch/device/+/state", 1);  // refused or silent
  ASSERT_TRUE(commander.Subscribe("phonebus/v1/hq/device/+/state", 1).ok());

  const std::vector<std::pair<settings::Mqtt, std::string>> forbidden = {
      {adapter, "phonebus/v1/branch/device/001565aabb04/event/call_incoming"},  // other site
      {adapter, "phonebus/v1/hq/device/001565aabb04/command/result"},           // commander's
      {adapter, "phonebus/v1/hq/service/commander-test/status"},
      {adapter, "elsewhere/entirely"},
      {commander_login, "phonebus/v1/hq/device/001565aabb05/state"},  // a forged state
      {commander_login, "phonebus/v1/hq/device/001565aabb04/event/call_incoming"},
  };
  std::vector<std::future<bool>> verdicts;
  for (const auto& [login, topic] : forbidden) {
    verdicts.push_back(std::async(
        std::launch::async, [&login, &topic] { return PublishAs(login, topic, "forbidden"); }));
  }
  for (size_t i = 0; i < forbidden.size(); ++i) {
    EXPECT_FALSE(verdicts[i].get()) << "the broker acknowledged " << forbidden[i].second;
  }
  ASSERT_TRUE(PublishAs(Login("admin", "admin-pw-0b3d"),
                        "phonebus/v1/branch/device/001565aabb04/state", "branch"));
  // What is allowed arrives, after everything forbidden was sent.
  const std::string allowed = "phonebus/v1/hq/device/001565aabb04/state";
  ASSERT_TRUE(PublishAs(adapter, allowed, "allowed"));
  ASSERT_TRUE(admin.WaitFor([&](const auto& m) { return Has(m, allowed); }, 10s)) << broker_.Log();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard lock(mu);
      if (!commander_got.empty()) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::this_thread::sleep_for(200ms);
  for (const auto& m : admin.messages()) {
    EXPECT_NE(m.payload, "forbidden") << m.topic;
  }
  EXPECT_TRUE(Has(admin.messages(), "phonebus/v1/branch/device/001565aabb04/state"));
  std::lock_guard lock(mu);
  EXPECT_EQ(commander_got, std::vector<std::string>{allowed});
  commander.Close();
}

TEST(MqttClientCertificates, ABrokerRequiringThemAcceptsOnlyCertificatesFromItsCa) {
  testing::Pki pki;
  const std::string adapter_cert = pki.Client("adapter");
  const std::string stranger = pki.ForeignClient("stranger");
  Mosquitto broker(Mosquitto::Security{.ca_file = pki.ca_file(),
                                       .cert_file = pki.server_cert(),
                                       .key_file = pki.server_key(),
                                       .require_certificate = true});
  const auto connect = [&](const std::string& cert, const std::string& key = "",
                           const std::string& key_password = "") {
    mqtt_client::Options o;
    o.mqtt.brokers = {broker.uri()};
    o.mqtt.ca_file = pki.ca_file();
    o.mqtt.connect_timeout_s = 3;
    if (!cert.empty()) {
      o.mqtt.cert_file = cert;
      o.mqtt.key_file = key.empty() ? testing::Pki::KeyOf(cert) : key;
      o.mqtt.key_password = key_password;
    }
    o.client_id = "cert-client";
    mqtt_client::Client client(o);
    const auto status = client.Connect();
    client.Close();
    return status;
  };
  EXPECT_TRUE(connect(adapter_cert).ok()) << connect(adapter_cert);
  EXPECT_FALSE(connect("").ok());
  EXPECT_FALSE(connect(stranger).ok());
  // An encrypted key opens with its password (--mqtt-key-password-file), not without.
  const std::string encrypted = pki.dir() + "/adapter-encrypted.key";
  ASSERT_EQ(std::system(("openssl pkey -in " + testing::Pki::KeyOf(adapter_cert) +
                         " -aes256 -passout pass:Key-Pass-5e1c -out " + encrypted)
                            .c_str()),
            0);
  EXPECT_TRUE(connect(adapter_cert, encrypted, "Key-Pass-5e1c").ok());
  EXPECT_FALSE(connect(adapter_cert, encrypted, "not-the-key-password").ok());
}

// While a TLS broker stays unreachable, each reconnect attempt costs no more
// than paho's own try: the probe that explains the first failure (up to 2 s a
// broker) is not repeated until a connect succeeds. The "broker" here takes
// each TCP connection and closes it at once, counting them: paho's attempt is
// one, a probe another.
TEST(MqttTlsProbe, AnUnreachableBrokerIsProbedOncePerOutage) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  std::atomic<int> accepted{0};
  std::atomic<bool> stop{false};
  std::thread broker([&] {
    while (!stop) {
      pollfd ready{listener, POLLIN, 0};
      if (poll(&ready, 1, 20) <= 0) continue;
      if (const int fd = accept(listener, nullptr, nullptr); fd >= 0) {
        ++accepted;
        close(fd);
      }
    }
  });
  mqtt_client::Options o;
  o.mqtt.brokers = {"ssl://127.0.0.1:" + std::to_string(ntohs(address.sin_port))};
  o.mqtt.connect_timeout_s = 1;
  o.client_id = "probe-once";
  mqtt_client::Client client(o);
  // Connections accepted by one failed Connect, and its message.
  const auto attempt = [&] {
    const int before = accepted;
    const auto status = client.Connect();
    EXPECT_FALSE(status.ok());
    std::this_thread::sleep_for(300ms);  // the last connection reaches accept()
    return std::pair(accepted - before, std::string(status.message()));
  };
  const auto [first, first_message] = attempt();
  EXPECT_NE(first_message.find("TLS with the broker failed"), std::string::npos) << first_message;
  for (int i = 0; i < 2; ++i) {
    const auto [later, later_message] = attempt();
    EXPECT_EQ(later, first - 1) << "a reconnect attempt probed the broker again";
    EXPECT_EQ(later_message, first_message);
  }
  stop = true;
  broker.join();
  close(listener);
}

// Settings that would silently leave the link unprotected stop start-up.
TEST(MqttSettings, TlsSettingsWithoutTlsOrMixedBrokersAreRefused) {
  const auto finish = [](settings::Mqtt m) -> std::string {
    try {
      settings::Finish(m);
    } catch (const CLI::ValidationError& e) {
      return e.what();
    }
    return "";
  };
  settings::Mqtt plain;
  plain.ca_file = "/etc/hostname";
  EXPECT_NE(finish(plain).find("--mqtt-ca-file: given, but no --mqtt-broker uses ssl://"),
            std::string::npos)
      << finish(plain);
  settings::Mqtt mixed;
  mixed.brokers = {"ssl://a:8883", "tcp://b:1883"};
  EXPECT_NE(finish(mixed).find("every broker must use TLS"), std::string::npos) << finish(mixed);
  settings::Mqtt half;
  half.brokers = {"mqtts://a:8883"};
  half.cert_file = "/etc/hostname";
  EXPECT_NE(finish(half).find("go together"), std::string::npos) << finish(half);
  settings::Mqtt missing;
  missing.brokers = {"ssl://a:8883"};
  missing.ca_file = "/nonexistent/ca.pem";
  EXPECT_NE(finish(missing).find("cannot read '/nonexistent/ca.pem'"), std::string::npos);
}

}  // namespace
}  // namespace phonebus
