// What the simulated phones fire is what the adapter understands: a phone of each vendor places a
// call, its Action URLs go to a real adapter in-process, and a real MQTT subscriber sees the
// outgoing, established and terminated events with the number, call id and device the phone used.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>

#include "adapter.h"
#include "http_get.h"
#include "mosquitto.h"
#include "simulator.h"
#include "subscriber.h"
#include "temp_dir.h"

namespace phonebus::phonesim {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUrlSecret = "phonesim-url-secret-42";

class PhonesimToAdapter : public ::testing::Test {
 protected:
  void SetUp() override {
    adapter::AdapterSettings s;
    s.listen = "127.0.0.1:0";
    s.site = "sim";
    s.mqtt.brokers = {broker_.uri()};
    s.outbox_dir = dir_.path() + "/outbox";
    s.log_level = "warn";
    s.url_secrets = {kUrlSecret};
    adapter_ = std::make_unique<adapter::Adapter>(s);
    adapter_->Start();
  }
  void TearDown() override { adapter_.reset(); }
  // With the URL secret, as `phonebus config` puts it into every Action URL.
  std::string adapter_url() const {
    return "http://127.0.0.1:" + std::to_string(adapter_->endpoint().port()) + "/" + kUrlSecret;
  }

  const testing::TempDir dir_{"phonesim-adapter"};
  testing::Mosquitto broker_;
  std::unique_ptr<adapter::Adapter> adapter_;
};

TEST_F(PhonesimToAdapter, EachVendorsCallArrivesAsEvents) {
  testing::Subscriber sub(broker_.uri(), "phonebus/v1/sim/device/+/event/+");
  Simulator sim;
  struct Case {
    PhoneConfig config;
    std::string dial;  // the vendor's dial request
    std::string device_id;
  };
  std::vector<Case> cases(3);
  cases[0].config.id = "001565aabbcc";
  cases[0].config.family = Family::kYealinkServlet;
  cases[0].dial = "/servlet?key=number=%2B4930123456&outgoing_uri=1001@pbx.example";
  cases[0].device_id = "001565aabbcc";
  cases[1].config.id = "000413aabbcc";
  cases[1].config.family = Family::kSnom;
  cases[1].dial = "/command.htm?number=%2B4930123456&outgoing_uri=1001@pbx.example";
  cases[1].device_id = "000413aabbcc";
  cases[2].config.id = "agent17-soft";
  cases[2].config.family = Family::kSoftphone;
  cases[2].dial = "/?action=make_call&target=%2B4930123456";
  cases[2].device_id = "agent17-soft";

  std::map<std::string, PhoneHandle> phones;
  for (auto& c : cases) {
    c.config.account = "1001@pbx.example";
    c.config.adapter_url = adapter_url();
    c.config.timing.answer_delay = 10ms;
    c.config.timing.talk_time = 30ms;
    auto phone = sim.Add(c.config);
    ASSERT_TRUE(phone.ok()) << phone.status();
    const auto reply = testing::HttpGet(phone->port(), c.dial);
    EXPECT_TRUE(reply.status == 200 || reply.status == 302) << c.dial << " -> " << reply.status;
    phones[c.device_id] = *phone;
  }
  ASSERT_TRUE(sub.WaitForCount(9, 20s)) << sub.messages().size();

  std::map<std::string, std::vector<v1::PhoneEvent>> by_device;
  for (const auto& m : sub.messages()) {
    v1::PhoneEvent e;
    ASSERT_TRUE(e.ParseFromString(m.payload));
    by_device[e.device().id()].push_back(e);
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.device_id);
    const auto& events = by_device[c.device_id];
    ASSERT_EQ(events.size(), 3u);
    const auto calls = phones[c.device_id].Calls();
    ASSERT_EQ(calls.size(), 1u);
    const v1::EventKind kinds[] = {v1::EVENT_KIND_CALL_OUTGOING, v1::EVENT_KIND_CALL_ESTABLISHED,
                                   v1::EVENT_KIND_CALL_TERMINATED};
    for (size_t i = 0; i < 3; ++i) {
      const auto& e = events[i];
      EXPECT_EQ(e.kind(), kinds[i]) << e.vendor_event();
      EXPECT_EQ(e.call().remote().number(), "+4930123456");
      EXPECT_EQ(e.call().account(), "1001@pbx.example");
      if (c.config.family == Family::kSoftphone) {
        EXPECT_EQ(e.call().call_guid(), calls[0].id);
      } else {
        EXPECT_EQ(e.call().call_id(), calls[0].id);
      }
    }
    EXPECT_EQ(events[0].call().direction(), v1::DIRECTION_OUTBOUND);
  }
}

}  // namespace
}  // namespace phonebus::phonesim
