// The whole loop: a gRPC Dial goes through the commander to a simulated
// phone, the phone fires the Action URLs it was provisioned with (exactly
// what `phonebus config` prints) at the adapter, and a subscriber on the
// broker sees the call's typed events; a Hangup ends the call the same way.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>

#include "adapter.h"
#include "commander.h"
#include "mosquitto.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "simulator.h"
#include "subscriber.h"
#include "temp_dir.h"

namespace phonebus {
namespace {

using namespace std::chrono_literals;

// The kinds of the PhoneEvents on the bus, in arrival order.
std::vector<std::pair<v1::EventKind, v1::PhoneEvent>> Events(
    const std::vector<mqtt_client::Message>& messages) {
  std::vector<std::pair<v1::EventKind, v1::PhoneEvent>> out;
  for (const auto& m : messages) {
    if (m.topic.find("/event/") == std::string::npos) continue;
    v1::PhoneEvent e;
    if (e.ParseFromString(m.payload)) out.emplace_back(e.kind(), e);
  }
  return out;
}

bool Has(const std::vector<mqtt_client::Message>& messages, v1::EventKind kind) {
  for (const auto& [k, e] : Events(messages)) {
    if (k == kind) return true;
  }
  return false;
}

class EndToEnd : public ::testing::TestWithParam<phonesim::Family> {};

TEST_P(EndToEnd, DialRingsThePhoneAndTheCallAppearsOnTheBus) {
  const testing::TempDir dir("e2e");
  testing::Mosquitto broker;
  testing::Subscriber sub(broker.uri(), "phonebus/v1/hq/#");

  adapter::AdapterSettings a;
  a.listen = "127.0.0.1:0";
  a.site = "hq";
  a.instance = "e2e";
  a.mqtt.brokers = {broker.uri()};
  a.outbox_dir = dir.path() + "/outbox";
  a.drain_timeout_s = 2;
  a.url_secrets = {"e2e-url-secret-0123456789"};
  adapter::Adapter adapter(a);
  adapter.Start();
  // With the URL secret, as `phonebus config` puts it into every Action URL.
  const std::string adapter_url = "http://127.0.0.1:" + std::to_string(adapter.endpoint().port()) +
                                  "/e2e-url-secret-0123456789";

  const bool yealink = GetParam() == phonesim::Family::kYealinkServlet;
  phonesim::Simulator sim;
  auto phone = sim.Add({.id = yealink ? "001565aabbcc" : "000413aabbcc",
                        .family = GetParam(),
                        .auth = phonesim::AuthScheme::kDigest,
                        .username = "admin",
                        .password = "secret-e2e",
                        .account = "1001@pbx.example",
                        .adapter_url = adapter_url});
  ASSERT_TRUE(phone.ok()) << phone.status();

  std::ofstream(dir.path() + "/inventory.json")
      << R"({"devices": [{"id": ")" << phone->id() << R"(", "vendor": ")"
      << (yealink ? "yealink" : "snom") << R"(", "address": "127.0.0.1:)" << phone->port()
      << R"(", "username": "admin", "password": "secret-e2e", "site": "hq"}]})";
  command::CommanderSettings c;
  c.listen = "127.0.0.1:0";
  // About commands, not callers: commander_security_test covers tokens.
  c.insecure_no_auth = true;
  c.metrics_listen = "127.0.0.1:0";
  c.site = "hq";
  c.inventory = dir.path() + "/inventory.json";
  c.mqtt.brokers = {broker.uri()};
  command::Commander commander(c);
  commander.Start();
  auto stub = v1::PhoneControl::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(commander.grpc_port()), grpc::InsecureChannelCredentials()));

  v1::DialRequest dial;
  dial.set_device(phone->id());
  dial.set_number("+4930123456");
  dial.set_request_id("e2e-dial");
  v1::DialResponse dialed;
  grpc::ClientContext ctx;
  const auto status = stub->Dial(&ctx, dial, &dialed);
  ASSERT_TRUE(status.ok()) << status.error_message();

  ASSERT_TRUE(
      sub.WaitFor([](const auto& m) { return Has(m, v1::EVENT_KIND_CALL_ESTABLISHED); }, 10s))
      << "the phone's Action URLs did not reach the bus";
  const auto events = Events(sub.messages());
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].first, v1::EVENT_KIND_CALL_OUTGOING);
  const v1::PhoneEvent& outgoing = events[0].second;
  EXPECT_EQ(outgoing.device().id(), phone->id());
  EXPECT_EQ(outgoing.call().remote().number(), "+4930123456");
  EXPECT_FALSE(outgoing.call().call_id().empty());

  v1::HangupRequest hangup;
  hangup.set_device("1001@pbx.example");  // the account the phone reported on the bus
  hangup.set_request_id("e2e-hangup");
  v1::HangupResponse hung_up;
  grpc::Status hangup_status;
  // The account is learned from the retained state the adapter publishes.
  for (int i = 0; i < 50; ++i) {
    grpc::ClientContext hctx;
    hangup_status = stub->Hangup(&hctx, hangup, &hung_up);
    if (hangup_status.error_code() != grpc::StatusCode::NOT_FOUND) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(hangup_status.ok()) << hangup_status.error_code() << " "
                                  << hangup_status.error_message();
  EXPECT_TRUE(
      sub.WaitFor([](const auto& m) { return Has(m, v1::EVENT_KIND_CALL_TERMINATED); }, 10s));
  commander.Shutdown();
  adapter.Shutdown();
  sim.Stop();
}

INSTANTIATE_TEST_SUITE_P(Families, EndToEnd,
                         ::testing::Values(phonesim::Family::kYealinkServlet,
                                           phonesim::Family::kSnom),
                         [](const auto& info) {
                           return info.param == phonesim::Family::kSnom ? "Snom" : "Yealink";
                         });

}  // namespace
}  // namespace phonebus
