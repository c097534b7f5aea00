// SNOM dialect: URLs exactly as phones send them, parsed the way the adapter does
// (SplitTarget, ParseQuery, Parse), compared field by field against the expected PhoneEvent.
#include "dialects/snom.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "url.h"

namespace phonebus::adapter::snom {
namespace {

// What the adapter does with a request target before the dialect sees it.
absl::StatusOr<v1::PhoneEvent> ParseTarget(std::string_view target) {
  const auto [path, query] = url::SplitTarget(target);
  const std::string prefix = "/" + std::string(kPath) + "/";
  std::string_view event = path;
  if (event.starts_with(prefix)) event.remove_prefix(prefix.size());
  auto parsed = url::ParseQuery(query);
  if (!parsed.ok()) return parsed.status();
  return Parse(ActionUrl{event, *parsed});
}

// Empty when equal; otherwise what differs, for a readable failure.
std::string Diff(const v1::PhoneEvent& expected, const v1::PhoneEvent& actual) {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  return differencer.Compare(expected, actual) ? "" : diff;
}

// ---------------------------------------------------------------------------------------------
// Every setting of PROTOCOLS.md 1.2: its event name maps to its kind, and it is provisioned.

struct SettingCase {
  std::string_view setting;
  std::string_view event;
  v1::EventKind kind;
  // Failure messages name the case instead of dumping its bytes.
  friend void PrintTo(const SettingCase& c, std::ostream* os) { *os << c.setting; }
};

class SnomSettingTest : public testing::TestWithParam<SettingCase> {};

TEST_P(SnomSettingTest, MapsToKindAndIsProvisioned) {
  const SettingCase& c = GetParam();
  const auto event = ParseTarget("/snom/" + std::string(c.event) + "?mac=000413AABBCC");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind(), c.kind) << v1::EventKind_Name(event->kind());
  EXPECT_EQ(event->vendor_event(), c.event);
  EXPECT_EQ(event->device().vendor(), v1::VENDOR_SNOM);
  EXPECT_EQ(event->device().mac(), "000413aabbcc");

  const std::string element = "  <" + std::string(c.setting) +
                              " perm=\"\">http://127.0.0.1:8080/snom/" + std::string(c.event) + "?";
  EXPECT_NE(Provisioning("http://127.0.0.1:8080").find(element), std::string::npos) << element;
}

INSTANTIATE_TEST_SUITE_P(
    AllSettings, SnomSettingTest,
    testing::Values(
        SettingCase{"action_setup_url", "setup", v1::EVENT_KIND_SETUP_COMPLETED},
        SettingCase{"action_log_on_url", "log_on", v1::EVENT_KIND_REGISTERED},
        SettingCase{"action_log_off_url", "log_off", v1::EVENT_KIND_UNREGISTERED},
        SettingCase{"action_reg_failed", "reg_failed", v1::EVENT_KIND_REGISTER_FAILED},
        SettingCase{"action_offhook_url", "offhook", v1::EVENT_KIND_OFF_HOOK},
        SettingCase{"action_onhook_url", "onhook", v1::EVENT_KIND_ON_HOOK},
        SettingCase{"action_incoming_url", "incoming", v1::EVENT_KIND_CALL_INCOMING},
        SettingCase{"action_outgoing_url", "outgoing", v1::EVENT_KIND_CALL_OUTGOING},
        SettingCase{"action_connected_url", "connected", v1::EVENT_KIND_CALL_ESTABLISHED},
        SettingCase{"action_disconnected_url", "disconnected", v1::EVENT_KIND_CALL_TERMINATED},
        SettingCase{"action_missed_url", "missed", v1::EVENT_KIND_CALL_MISSED},
        SettingCase{"action_hold", "hold", v1::EVENT_KIND_CALL_HOLD},
        SettingCase{"action_unhold", "unhold", v1::EVENT_KIND_CALL_UNHOLD},
        SettingCase{"action_transfer", "transfer", v1::EVENT_KIND_TRANSFER},
        SettingCase{"action_blind_transfer", "blind_transfer", v1::EVENT_KIND_BLIND_TRANSFER},
        SettingCase{"action_attended_transfer", "attended_transfer",
                    v1::EVENT_KIND_ATTENDED_TRANSFER},
        SettingCase{"action_dnd_on_url", "dnd_on", v1::EVENT_KIND_DND_ON},
        SettingCase{"action_dnd_off_url", "dnd_off", v1::EVENT_KIND_DND_OFF},
        SettingCase{"action_redirection_on_url", "redirection_on", v1::EVENT_KIND_FORWARD_ON},
        SettingCase{"action_redirection_off_url", "redirection_off", v1::EVENT_KIND_FORWARD_OFF}),
    [](const testing::TestParamInfo<SettingCase>& info) { return std::string(info.param.event); });

// ---------------------------------------------------------------------------------------------
// Whole URLs as phones send them -> the whole PhoneEvent.

struct ParseCase {
  std::string_view title;
  std::string_view target;
  std::string_view expected;  // PhoneEvent in text format
  // Failure messages name the case instead of dumping its bytes.
  friend void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.title; }
};

class SnomParseTest : public testing::TestWithParam<ParseCase> {};

TEST_P(SnomParseTest, ProducesEvent) {
  const ParseCase& c = GetParam();
  v1::PhoneEvent expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(c.expected), &expected))
      << c.expected;
  const auto event = ParseTarget(c.target);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(Diff(expected, *event), "") << "target: " << c.target << "\ngot:\n"
                                        << event->DebugString();
}

INSTANTIATE_TEST_SUITE_P(
    Urls, SnomParseTest,
    testing::Values(
        ParseCase{"full_incoming",
                  "/snom/incoming?mac=000413AABBCC&phone_ip=10.0.0.8&local_ip=192.168.1.8"
                  "&active_url=sip:1001@pbx.example&active_user=1001&active_host=pbx.example"
                  "&local=sip:1001@pbx.example&remote=sip:%2B4930123456@pbx.example"
                  "&display_local=Agent%20One&display_remote=J%C3%BCrgen%20M%C3%BCller"
                  "&call_id=3c2a7f@10.0.0.8&csta_id=7&nr_ongoing_calls=2&cancel_reason=",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming"
                       device { vendor: VENDOR_SNOM mac: "000413aabbcc" ip: "10.0.0.8" }
                       call {
                         call_id: "3c2a7f@10.0.0.8"
                         direction: DIRECTION_INBOUND
                         account: "1001@pbx.example"
                         csta_id: "7"
                         ongoing_calls: 2
                         local { number: "1001" uri: "1001@pbx.example" display_name: "Agent One" }
                         remote {
                           number: "+4930123456"
                           uri: "+4930123456@pbx.example"
                           display_name: "Jürgen Müller"
                         }
                       })pb"},
        ParseCase{"local_ip_fallback", "/snom/setup?phone_ip=$phone_ip&local_ip=192.168.1.8",
                  R"pb(kind: EVENT_KIND_SETUP_COMPLETED
                       vendor_event: "setup"
                       device { vendor: VENDOR_SNOM ip: "192.168.1.8" })pb"},
        ParseCase{"unsubstituted_call_id", "/snom/connected?call_id=$call-id&remote=$remote",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "connected"
                       device { vendor: VENDOR_SNOM }
                       call {})pb"},
        ParseCase{"raw_plus_and_raw_utf8",
                  "/snom/outgoing?remote=+4930123456&display_remote=Jürgen Müller",
                  R"pb(kind: EVENT_KIND_CALL_OUTGOING
                       vendor_event: "outgoing"
                       device { vendor: VENDOR_SNOM }
                       call {
                         direction: DIRECTION_OUTBOUND
                         remote { number: "+4930123456" display_name: "Jürgen Müller" }
                       })pb"},
        ParseCase{"latin1_display", "/snom/missed?remote=2323&display_remote=M%FCller",
                  R"pb(kind: EVENT_KIND_CALL_MISSED
                       vendor_event: "missed"
                       device { vendor: VENDOR_SNOM }
                       call {
                         direction: DIRECTION_INBOUND
                         remote { number: "2323" display_name: "Müller" }
                       })pb"},
        ParseCase{"disconnected_with_reason",
                  "/snom/disconnected?call_id=abc&cancel_reason=486%20Busy%20Here"
                  "&nr_ongoing_calls=0",
                  R"pb(kind: EVENT_KIND_CALL_TERMINATED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SNOM }
                       call { call_id: "abc" cancel_reason: "486 Busy Here" })pb"},
        ParseCase{"garbled_ongoing_calls_dropped", "/snom/connected?nr_ongoing_calls=two",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "connected"
                       device { vendor: VENDOR_SNOM }
                       call {})pb"},
        ParseCase{"log_on", "/snom/log_on?active_user=1001&active_host=pbx.example",
                  R"pb(kind: EVENT_KIND_REGISTERED
                       vendor_event: "log_on"
                       device { vendor: VENDOR_SNOM }
                       registration {
                         account: "1001@pbx.example"
                         status: REGISTRATION_STATUS_REGISTERED
                       })pb"},
        ParseCase{"reg_failed", "/snom/reg_failed?active_url=sip:1001@pbx.example",
                  R"pb(kind: EVENT_KIND_REGISTER_FAILED
                       vendor_event: "reg_failed"
                       device { vendor: VENDOR_SNOM }
                       registration {
                         account: "1001@pbx.example"
                         status: REGISTRATION_STATUS_FAILED
                       })pb"},
        ParseCase{"dnd_off", "/snom/dnd_off",
                  R"pb(kind: EVENT_KIND_DND_OFF
                       vendor_event: "dnd_off"
                       device { vendor: VENDOR_SNOM }
                       dnd: false)pb"},
        ParseCase{"redirection_on", "/snom/redirection_on",
                  R"pb(kind: EVENT_KIND_FORWARD_ON
                       vendor_event: "redirection_on"
                       device { vendor: VENDOR_SNOM }
                       forwarding { type: FORWARD_TYPE_UNSPECIFIED enabled: true })pb"},
        ParseCase{"redirection_off", "/snom/redirection_off",
                  R"pb(kind: EVENT_KIND_FORWARD_OFF
                       vendor_event: "redirection_off"
                       device { vendor: VENDOR_SNOM }
                       forwarding {})pb"},
        ParseCase{"hold", "/snom/hold?call_id=abc",
                  R"pb(kind: EVENT_KIND_CALL_HOLD
                       vendor_event: "hold"
                       device { vendor: VENDOR_SNOM }
                       call { call_id: "abc" hold: HOLD_STATE_ON_HOLD })pb"},
        ParseCase{"unknown_event", "/snom/presence_change?mac=00:04:13:aa:bb:cc&csta_id=3",
                  R"pb(kind: EVENT_KIND_OTHER
                       vendor_event: "presence_change"
                       device { vendor: VENDOR_SNOM mac: "000413aabbcc" }
                       call { csta_id: "3" })pb"},
        ParseCase{"setting_name_is_not_event", "/snom/action_incoming_url",
                  R"pb(kind: EVENT_KIND_OTHER
                       vendor_event: "action_incoming_url"
                       device { vendor: VENDOR_SNOM })pb"}),
    [](const testing::TestParamInfo<ParseCase>& info) { return std::string(info.param.title); });

TEST(SnomParseErrorTest, MissingEventNameIsInvalidArgument) {
  const auto event = ParseTarget("/snom/?mac=000413AABBCC");
  ASSERT_FALSE(event.ok());
  EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(std::string(event.status().message()).starts_with("missing event name"))
      << event.status();
}

// Found by tests/fuzz/fuzz_snom: a non-UTF-8 byte in the event name (the path is not decoded)
// went into vendor_event as is, and a PhoneEvent with an invalid proto3 string cannot be decoded.
TEST(SnomParseTest, NonUtf8EventNameIsReadAsLatin1) {
  const auto event = ParseTarget("/snom/caf\xE9?mac=000413AABBCC");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind(), v1::EVENT_KIND_OTHER);
  EXPECT_EQ(event->vendor_event(), "caf\u00e9");
  v1::PhoneEvent decoded;
  EXPECT_TRUE(decoded.ParseFromString(event->SerializeAsString()));
}

TEST(SnomProvisioningTest, SettingsXml) {
  const std::string out = Provisioning("http://127.0.0.1:8080/");
  EXPECT_EQ(out, Provisioning("http://127.0.0.1:8080"));
  EXPECT_TRUE(
      out.starts_with("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<settings>\n"
                      "<phone-settings>\n  <action_"))
      << out;
  EXPECT_TRUE(out.ends_with("</phone-settings>\n</settings>\n")) << out;
  // Every '&' inside the XML is an entity; SNOM rejects the file otherwise.
  for (size_t at = out.find('&'); at != std::string::npos; at = out.find('&', at + 1)) {
    EXPECT_EQ(out.compare(at, 5, "&amp;"), 0) << out.substr(at, 20);
  }
  EXPECT_NE(out.find("&amp;call_id=$call-id&amp;"), std::string::npos);
}

}  // namespace
}  // namespace phonebus::adapter::snom
