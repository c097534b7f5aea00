// A phone configured with exactly what `phonebus config` prints produces events
// the adapter understands: run the real CLI, load its output as a phone of that
// vendor loads its configuration and fill the variables as the phone would (both
// the phone simulator's, tests/phonesim), send each URL to a running adapter over
// HTTP and check what arrives on MQTT.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "adapter.h"
#include "http_get.h"
#include "mosquitto.h"
#include "phone_provisioning.h"
#include "subscriber.h"
#include "temp_dir.h"

namespace phonebus::adapter {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUrlSecret = "provisioning-secret-0123";

std::string RunCli(const std::string& args) {
  std::string out;
  FILE* pipe = popen((std::string(PHONEBUS_CLI_BIN) + " " + args).c_str(), "r");
  if (!pipe) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(pipe), 0) << args;
  return out;
}

// Sample values a phone would put in; raw, as phones do not encode ("+" and
// UTF-8 go as they are). Softphone's <$action> is filled per slot.
const std::map<std::string, std::string> kSamples = {
    {"mac", "00:15:65:AA:BB:CC"},
    {"ip", "10.0.0.7"},
    {"phone_ip", "10.0.0.7"},
    {"local_ip", "10.0.0.7"},
    {"model", "T46S"},
    {"firmware", "66.86.0.15"},
    {"active_url", "1001@pbx.example"},
    {"active_user", "1001"},
    {"active_host", "pbx.example"},
    {"local", "1001@pbx.example"},
    {"remote", "+4930123456"},
    {"display_local", "Agent\xC3\xBC"},
    {"display_remote", "J\xC3\xBCrgen"},
    {"call_id", "42"},
    {"call-id", "42"},
    {"callerID", "+4930123456"},
    {"calledNumber", "+4930123456"},
    {"csta_id", "7"},
    {"nr_ongoing_calls", "1"},
    {"cancel_reason", "busy"},
    {"call_direction", "inbound"},
    {"local_party", "1001@pbx.example"},
    {"local_alias", "Agent"},
    {"remote_party", "+4930123456"},
    {"remote_alias", "J\xC3\xBCrgen"},
    {"hold_state", "on_hold"},
    {"call_duration_seconds", "12"},
    {"call_created_time", "2019-03-25T10-34-22"},
    {"call_connected_time", "2019-03-25T10-34-27"},
    {"call_disconnected_time", "2019-03-25T10-34-34"},
    {"call_guid", "1399c8c8-cf9e-3ebe-764f-d12b1f7bea35"}};

// Every URL template the phone loads from the CLI's output, filled as that phone
// fills it, without scheme and host.
std::vector<std::string> Targets(phonesim::Vendor vendor, const std::string& output) {
  auto templates = phonesim::ParseProvisioning(vendor, output);
  EXPECT_TRUE(templates.ok()) << templates.status();
  std::vector<std::string> out;
  if (!templates.ok()) return out;
  for (const auto& t : *templates) {
    phonesim::Variables values(kSamples.begin(), kSamples.end());
    // The softphone says which of its five slots fired in <$action>.
    if (vendor == phonesim::Vendor::kSoftphone) values["action"] = t.event;
    const auto filled = phonesim::Fill(t.url, values);
    for (const auto& name : filled.unset) ADD_FAILURE() << "no sample for $" << name;
    auto url = phonesim::SplitHttpUrl(filled.url);
    EXPECT_TRUE(url.ok()) << url.status();
    if (url.ok()) out.push_back(url->target);
  }
  return out;
}

class ProvisioningRoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    AdapterSettings s;
    s.listen = "127.0.0.1:0";
    s.site = "prov";
    s.mqtt.brokers = {broker_.uri()};
    s.outbox_dir = dir_.path() + "/outbox";
    s.log_level = "warn";
    s.url_secrets = {kUrlSecret};
    std::ofstream(dir_.path() + "/url-secret") << kUrlSecret << "\n";
    adapter_ = std::make_unique<Adapter>(s);
    adapter_->Start();
  }
  void TearDown() override { adapter_.reset(); }

  // Sends every template of `family`, checks each is accepted, and returns the
  // events the subscriber received.
  std::vector<v1::PhoneEvent> SendAll(const std::string& family, const std::string& extra = {}) {
    testing::Subscriber sub(broker_.uri(), "phonebus/v1/prov/device/+/event/+");
    const auto output = RunCli("config " + family + " --adapter-url http://127.0.0.1:8080" +
                               " --url-secret-file " + dir_.path() + "/url-secret" + extra);
    EXPECT_NE(output.find("http://127.0.0.1:8080/" + std::string(kUrlSecret) + "/"),
              std::string::npos)
        << output;
    const auto vendor = family == "yealink" ? phonesim::Vendor::kYealink
                        : family == "snom"  ? phonesim::Vendor::kSnom
                                            : phonesim::Vendor::kSoftphone;
    const auto targets = Targets(vendor, output);
    EXPECT_GE(targets.size(), 5u) << output;
    for (const auto& target : targets) {
      EXPECT_EQ(target.rfind("/" + std::string(kUrlSecret) + "/", 0), 0u) << target;
      const auto r = testing::HttpGet(adapter_->endpoint().port(), target);
      EXPECT_EQ(r.status, 200) << target << " -> " << r.body;
    }
    EXPECT_TRUE(sub.WaitForCount(targets.size(), 20s));
    std::vector<v1::PhoneEvent> events;
    for (const auto& m : sub.messages()) {
      v1::PhoneEvent e;
      EXPECT_TRUE(e.ParseFromString(m.payload));
      // Only the path carries the secret: nothing of it reaches the bus.
      EXPECT_EQ(m.topic.find(kUrlSecret), std::string::npos);
      EXPECT_EQ(m.payload.find(kUrlSecret), std::string::npos) << m.topic;
      events.push_back(e);
    }
    return events;
  }

  const testing::TempDir dir_{"prov"};
  testing::Mosquitto broker_;
  std::unique_ptr<Adapter> adapter_;
};

TEST_F(ProvisioningRoundTrip, YealinkEveryEventIsUnderstood) {
  const auto events = SendAll("yealink");
  ASSERT_GE(events.size(), 40u);
  for (const auto& e : events) {
    EXPECT_NE(e.kind(), v1::EVENT_KIND_OTHER) << e.vendor_event();
    EXPECT_EQ(e.device().id(), "001565aabbcc");
    EXPECT_EQ(e.device().model(), "T46S");
    if (e.kind() == v1::EVENT_KIND_CALL_INCOMING) {
      EXPECT_EQ(e.call().remote().number(), "+4930123456");
      EXPECT_EQ(e.call().remote().display_name(), "J\xC3\xBCrgen");
      EXPECT_EQ(e.call().call_id(), "42");
    }
  }
}

TEST_F(ProvisioningRoundTrip, SnomEverySettingIsUnderstood) {
  const auto events = SendAll("snom");
  ASSERT_EQ(events.size(), 20u);
  for (const auto& e : events) {
    EXPECT_NE(e.kind(), v1::EVENT_KIND_OTHER) << e.vendor_event();
    EXPECT_EQ(e.device().vendor(), v1::VENDOR_SNOM);
  }
}

TEST_F(ProvisioningRoundTrip, SoftphoneAllFiveKindsAreUnderstood) {
  const auto events = SendAll("softphone", " --device agent17-soft");
  ASSERT_EQ(events.size(), 5u);
  std::set<v1::EventKind> kinds;
  for (const auto& e : events) {
    kinds.insert(e.kind());
    EXPECT_EQ(e.device().id(), "agent17-soft");
    EXPECT_EQ(e.call().call_guid(), "1399c8c8-cf9e-3ebe-764f-d12b1f7bea35");
  }
  EXPECT_EQ(kinds,
            (std::set<v1::EventKind>{v1::EVENT_KIND_CALL_INCOMING, v1::EVENT_KIND_CALL_OUTGOING,
                                     v1::EVENT_KIND_CALL_ESTABLISHED, v1::EVENT_KIND_CALL_HOLD,
                                     v1::EVENT_KIND_CALL_TERMINATED}));
}

}  // namespace
}  // namespace phonebus::adapter
