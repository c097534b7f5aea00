// Yealink dialect: URLs exactly as phones send them, parsed the way the adapter does
// (SplitTarget, ParseQuery, Parse), compared field by field against the expected PhoneEvent.
#include "dialects/yealink.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "url.h"

namespace phonebus::adapter::yealink {
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
// Every event name maps to its kind (PROTOCOLS.md 1.1) and every table name is provisioned.

struct KindCase {
  std::string_view name;
  v1::EventKind kind;
  bool alias = false;  // accepted from older firmware, not provisioned
  // Failure messages name the case instead of dumping its bytes.
  friend void PrintTo(const KindCase& c, std::ostream* os) { *os << c.name; }
};

class YealinkKindTest : public testing::TestWithParam<KindCase> {};

TEST_P(YealinkKindTest, MapsToKindAndIsProvisioned) {
  const KindCase& c = GetParam();
  const url::Query query;
  const auto event = Parse(ActionUrl{c.name, query});
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind(), c.kind) << v1::EventKind_Name(event->kind());
  EXPECT_NE(event->kind(), v1::EVENT_KIND_OTHER);
  EXPECT_EQ(event->vendor_event(), c.name);
  EXPECT_EQ(event->device().vendor(), v1::VENDOR_YEALINK);

  const std::string line = "\naction_url." + std::string(c.name) + " = ";
  EXPECT_EQ(Provisioning("http://127.0.0.1:8080").find(line) != std::string::npos, !c.alias);
}

INSTANTIATE_TEST_SUITE_P(
    AllEvents, YealinkKindTest,
    testing::Values(
        KindCase{"setup_completed", v1::EVENT_KIND_SETUP_COMPLETED},
        KindCase{"registered", v1::EVENT_KIND_REGISTERED},
        KindCase{"unregistered", v1::EVENT_KIND_UNREGISTERED},
        KindCase{"register_failed", v1::EVENT_KIND_REGISTER_FAILED},
        KindCase{"off_hook", v1::EVENT_KIND_OFF_HOOK}, KindCase{"on_hook", v1::EVENT_KIND_ON_HOOK},
        KindCase{"incoming_call", v1::EVENT_KIND_CALL_INCOMING},
        KindCase{"outgoing_call", v1::EVENT_KIND_CALL_OUTGOING},
        KindCase{"call_established", v1::EVENT_KIND_CALL_ESTABLISHED},
        KindCase{"call_terminated", v1::EVENT_KIND_CALL_TERMINATED},
        KindCase{"missed_call", v1::EVENT_KIND_CALL_MISSED},
        KindCase{"hold", v1::EVENT_KIND_CALL_HOLD}, KindCase{"unhold", v1::EVENT_KIND_CALL_UNHOLD},
        KindCase{"mute", v1::EVENT_KIND_MUTE}, KindCase{"unmute", v1::EVENT_KIND_UNMUTE},
        KindCase{"dnd_on", v1::EVENT_KIND_DND_ON}, KindCase{"dnd_off", v1::EVENT_KIND_DND_OFF},
        KindCase{"always_fwd_on", v1::EVENT_KIND_FORWARD_ON},
        KindCase{"always_fwd_off", v1::EVENT_KIND_FORWARD_OFF},
        KindCase{"busy_fwd_on", v1::EVENT_KIND_FORWARD_ON},
        KindCase{"busy_fwd_off", v1::EVENT_KIND_FORWARD_OFF},
        KindCase{"no_answer_fwd_on", v1::EVENT_KIND_FORWARD_ON},
        KindCase{"no_answer_fwd_off", v1::EVENT_KIND_FORWARD_OFF},
        KindCase{"transfer_call", v1::EVENT_KIND_TRANSFER},
        KindCase{"blind_transfer_call", v1::EVENT_KIND_BLIND_TRANSFER},
        KindCase{"attended_transfer_call", v1::EVENT_KIND_ATTENDED_TRANSFER},
        KindCase{"transfer_finished", v1::EVENT_KIND_TRANSFER_FINISHED},
        KindCase{"transfer_failed", v1::EVENT_KIND_TRANSFER_FAILED},
        KindCase{"idle_to_busy", v1::EVENT_KIND_IDLE_TO_BUSY},
        KindCase{"busy_to_idle", v1::EVENT_KIND_BUSY_TO_IDLE},
        KindCase{"reject_incoming_call", v1::EVENT_KIND_CALL_REJECTED},
        KindCase{"answer_new_incoming_call", v1::EVENT_KIND_CALL_ANSWERED_WAITING},
        KindCase{"forward_incoming_call", v1::EVENT_KIND_CALL_FORWARDED},
        KindCase{"cancel_callout", v1::EVENT_KIND_CALL_CANCELLED},
        KindCase{"remote_busy", v1::EVENT_KIND_CALL_REMOTE_BUSY},
        KindCase{"call_remote_canceled", v1::EVENT_KIND_CALL_REMOTE_CANCELLED},
        KindCase{"call_waiting_on", v1::EVENT_KIND_CALL_WAITING_ON},
        KindCase{"call_waiting_off", v1::EVENT_KIND_CALL_WAITING_OFF},
        KindCase{"headset", v1::EVENT_KIND_HEADSET}, KindCase{"handfree", v1::EVENT_KIND_HANDSFREE},
        KindCase{"ip_change", v1::EVENT_KIND_IP_CHANGED},
        KindCase{"setup_autop_finish", v1::EVENT_KIND_PROVISIONING_FINISHED},
        KindCase{"peripheral_information", v1::EVENT_KIND_PERIPHERAL_CHANGED},
        KindCase{"vpn_ip", v1::EVENT_KIND_VPN_IP_CHANGED},
        // The seed's (web UI / older firmware) names.
        KindCase{"log_on", v1::EVENT_KIND_REGISTERED, true},
        KindCase{"log_off", v1::EVENT_KIND_UNREGISTERED, true},
        KindCase{"registration_failed", v1::EVENT_KIND_REGISTER_FAILED, true},
        KindCase{"open_dnd", v1::EVENT_KIND_DND_ON, true},
        KindCase{"close_dnd", v1::EVENT_KIND_DND_OFF, true},
        KindCase{"open_always_fwd", v1::EVENT_KIND_FORWARD_ON, true},
        KindCase{"close_always_fwd", v1::EVENT_KIND_FORWARD_OFF, true},
        KindCase{"open_busy_fwd", v1::EVENT_KIND_FORWARD_ON, true},
        KindCase{"close_busy_fwd", v1::EVENT_KIND_FORWARD_OFF, true},
        KindCase{"open_no_answer_fwd", v1::EVENT_KIND_FORWARD_ON, true},
        KindCase{"close_no_answer_fwd", v1::EVENT_KIND_FORWARD_OFF, true}),
    [](const testing::TestParamInfo<KindCase>& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// Whole URLs as phones send them -> the whole PhoneEvent.

struct ParseCase {
  std::string_view title;
  std::string_view target;
  std::string_view expected;  // PhoneEvent in text format
  // Failure messages name the case instead of dumping its bytes.
  friend void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.title; }
};

class YealinkParseTest : public testing::TestWithParam<ParseCase> {};

TEST_P(YealinkParseTest, ProducesEvent) {
  const ParseCase& c = GetParam();
  v1::PhoneEvent expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(c.expected), &expected))
      << c.expected;
  const auto event = ParseTarget(c.target);
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(Diff(expected, *event), "") << "target: " << c.target << "\ngot:\n"
                                        << event->DebugString();
}

constexpr std::string_view kFullIncoming =
    "/yealink/incoming_call?mac=00:15:65:AA:BB:CC&ip=10.0.0.7&model=SIP-T46S&firmware=66.86.0.15"
    "&active_url=sip:1001@pbx.example&active_user=1001&active_host=pbx.example"
    "&local=1001@pbx.example&remote=%2B4930123456&display_local=Agent%20One"
    "&display_remote=M%C3%BCller&call_id=42&callerID=%2B4930123456&calledNumber=";

INSTANTIATE_TEST_SUITE_P(
    Urls, YealinkParseTest,
    testing::Values(
        // The seed: template .../incoming.xml?call_id=$call_id arrives as ?call_id=1234.
        ParseCase{"seed_example", "/yealink/incoming_call?call_id=1234",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming_call"
                       device { vendor: VENDOR_YEALINK }
                       call { call_id: "1234" direction: DIRECTION_INBOUND })pb"},
        ParseCase{"full_incoming", kFullIncoming,
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming_call"
                       device {
                         vendor: VENDOR_YEALINK
                         mac: "001565aabbcc"
                         ip: "10.0.0.7"
                         model: "SIP-T46S"
                         firmware: "66.86.0.15"
                       }
                       call {
                         call_id: "42"
                         direction: DIRECTION_INBOUND
                         account: "1001@pbx.example"
                         local { number: "1001" uri: "1001@pbx.example" display_name: "Agent One" }
                         remote { number: "+4930123456" display_name: "Müller" }
                       })pb"},
        ParseCase{"raw_plus_kept", "/yealink/outgoing_call?remote=+4930123456",
                  R"pb(kind: EVENT_KIND_CALL_OUTGOING
                       vendor_event: "outgoing_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_OUTBOUND
                         remote { number: "+4930123456" }
                       })pb"},
        ParseCase{"encoded_plus_kept", "/yealink/outgoing_call?remote=%2B4930123456",
                  R"pb(kind: EVENT_KIND_CALL_OUTGOING
                       vendor_event: "outgoing_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_OUTBOUND
                         remote { number: "+4930123456" }
                       })pb"},
        ParseCase{"display_raw_utf8", "/yealink/call_established?display_remote=Jürgen Müller",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "call_established"
                       device { vendor: VENDOR_YEALINK }
                       call { remote { display_name: "Jürgen Müller" } })pb"},
        ParseCase{"display_encoded_utf8",
                  "/yealink/call_established?display_remote=J%C3%BCrgen%20M%C3%BCller",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "call_established"
                       device { vendor: VENDOR_YEALINK }
                       call { remote { display_name: "Jürgen Müller" } })pb"},
        ParseCase{"display_encoded_latin1",
                  "/yealink/call_established?display_remote=J%FCrgen%20M%FCller",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "call_established"
                       device { vendor: VENDOR_YEALINK }
                       call { remote { display_name: "Jürgen Müller" } })pb"},
        ParseCase{"display_raw_latin1",
                  "/yealink/call_established?display_remote=J\xFCrgen M\xFCller",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "call_established"
                       device { vendor: VENDOR_YEALINK }
                       call { remote { display_name: "Jürgen Müller" } })pb"},
        ParseCase{"unsubstituted_absent",
                  "/yealink/incoming_call?mac=$mac&ip=$ip&remote=$remote&display_remote="
                  "$display_remote&call_id=$call_id&active_url=$active_url&callerID=$callerID",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming_call"
                       device { vendor: VENDOR_YEALINK }
                       call { direction: DIRECTION_INBOUND })pb"},
        ParseCase{"empty_absent", "/yealink/call_terminated?mac=&remote=&call_id=&local=",
                  R"pb(kind: EVENT_KIND_CALL_TERMINATED
                       vendor_event: "call_terminated"
                       device { vendor: VENDOR_YEALINK }
                       call {})pb"},
        ParseCase{"first_of_repeats", "/yealink/call_terminated?call_id=1&call_id=2",
                  R"pb(kind: EVENT_KIND_CALL_TERMINATED
                       vendor_event: "call_terminated"
                       device { vendor: VENDOR_YEALINK }
                       call { call_id: "1" })pb"},
        ParseCase{"mac_dashes_lower", "/yealink/setup_completed?mac=00-15-65-aa-bb-cc",
                  R"pb(kind: EVENT_KIND_SETUP_COMPLETED
                       vendor_event: "setup_completed"
                       device { vendor: VENDOR_YEALINK mac: "001565aabbcc" })pb"},
        ParseCase{"mac_bare_upper", "/yealink/setup_completed?mac=001565AABBCC",
                  R"pb(kind: EVENT_KIND_SETUP_COMPLETED
                       vendor_event: "setup_completed"
                       device { vendor: VENDOR_YEALINK mac: "001565aabbcc" })pb"},
        ParseCase{"mac_garbage_dropped", "/yealink/setup_completed?mac=not-a-mac",
                  R"pb(kind: EVENT_KIND_SETUP_COMPLETED
                       vendor_event: "setup_completed"
                       device { vendor: VENDOR_YEALINK })pb"},
        ParseCase{"unknown_event", "/yealink/held?mac=001565aabbcc&call_id=7",
                  R"pb(kind: EVENT_KIND_OTHER
                       vendor_event: "held"
                       device { vendor: VENDOR_YEALINK mac: "001565aabbcc" }
                       call { call_id: "7" })pb"},
        ParseCase{"unknown_event_device_only", "/yealink/firmware_upgrade?ip=10.0.0.7",
                  R"pb(kind: EVENT_KIND_OTHER
                       vendor_event: "firmware_upgrade"
                       device { vendor: VENDOR_YEALINK ip: "10.0.0.7" })pb"},
        ParseCase{"event_name_case", "/yealink/Incoming_Call?call_id=5",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "Incoming_Call"
                       device { vendor: VENDOR_YEALINK }
                       call { call_id: "5" direction: DIRECTION_INBOUND })pb"},
        ParseCase{"sip_uri_user_phone",
                  "/yealink/incoming_call?remote=sip:%2B4930123456@pbx.example;user=phone",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_INBOUND
                         remote { number: "+4930123456" uri: "+4930123456@pbx.example" }
                       })pb"},
        ParseCase{"sip_uri_name_addr",
                  "/yealink/incoming_call?remote=%22Bob%22%20%3Csip:1002@pbx.example%3E",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_INBOUND
                         remote { number: "1002" uri: "1002@pbx.example" }
                       })pb"},
        ParseCase{"sips_uri_raw", "/yealink/outgoing_call?remote=sips:1003@pbx.example:5061",
                  R"pb(kind: EVENT_KIND_CALL_OUTGOING
                       vendor_event: "outgoing_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_OUTBOUND
                         remote { number: "1003" uri: "1003@pbx.example:5061" }
                       })pb"},
        ParseCase{"caller_id_fallback_incoming", "/yealink/incoming_call?callerID=%2B4930111",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_INBOUND
                         remote { number: "+4930111" }
                       })pb"},
        ParseCase{"called_number_fallback_outgoing",
                  "/yealink/outgoing_call?calledNumber=2323&callerID=1001",
                  R"pb(kind: EVENT_KIND_CALL_OUTGOING
                       vendor_event: "outgoing_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_OUTBOUND
                         remote { number: "2323" }
                       })pb"},
        ParseCase{"remote_wins_over_caller_id",
                  "/yealink/incoming_call?remote=%2B4930222&callerID=%2B4930111",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_INBOUND
                         remote { number: "+4930222" }
                       })pb"},
        ParseCase{"no_fallback_without_direction", "/yealink/call_established?callerID=%2B4930111",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "call_established"
                       device { vendor: VENDOR_YEALINK }
                       call {})pb"},
        ParseCase{"account_from_user_and_host",
                  "/yealink/call_established?active_url=1001&active_user=1001&active_host=pbx",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "call_established"
                       device { vendor: VENDOR_YEALINK }
                       call { account: "1001@pbx" })pb"},
        ParseCase{"account_user_only", "/yealink/call_established?active_user=1001",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "call_established"
                       device { vendor: VENDOR_YEALINK }
                       call { account: "1001" })pb"},
        ParseCase{"registered",
                  "/yealink/registered?mac=001565aabbcc&active_url=sip:1001@pbx.example",
                  R"pb(kind: EVENT_KIND_REGISTERED
                       vendor_event: "registered"
                       device { vendor: VENDOR_YEALINK mac: "001565aabbcc" }
                       registration {
                         account: "1001@pbx.example"
                         status: REGISTRATION_STATUS_REGISTERED
                       })pb"},
        ParseCase{"log_off_alias", "/yealink/log_off?active_user=1001&active_host=pbx.example",
                  R"pb(kind: EVENT_KIND_UNREGISTERED
                       vendor_event: "log_off"
                       device { vendor: VENDOR_YEALINK }
                       registration {
                         account: "1001@pbx.example"
                         status: REGISTRATION_STATUS_UNREGISTERED
                       })pb"},
        ParseCase{"register_failed", "/yealink/register_failed?active_user=1001",
                  R"pb(kind: EVENT_KIND_REGISTER_FAILED
                       vendor_event: "register_failed"
                       device { vendor: VENDOR_YEALINK }
                       registration { account: "1001" status: REGISTRATION_STATUS_FAILED })pb"},
        ParseCase{"dnd_on", "/yealink/dnd_on?mac=001565aabbcc",
                  R"pb(kind: EVENT_KIND_DND_ON
                       vendor_event: "dnd_on"
                       device { vendor: VENDOR_YEALINK mac: "001565aabbcc" }
                       dnd: true)pb"},
        ParseCase{"close_dnd_alias", "/yealink/close_dnd",
                  R"pb(kind: EVENT_KIND_DND_OFF
                       vendor_event: "close_dnd"
                       device { vendor: VENDOR_YEALINK }
                       dnd: false)pb"},
        ParseCase{"always_fwd_on", "/yealink/always_fwd_on",
                  R"pb(kind: EVENT_KIND_FORWARD_ON
                       vendor_event: "always_fwd_on"
                       device { vendor: VENDOR_YEALINK }
                       forwarding { type: FORWARD_TYPE_ALWAYS enabled: true })pb"},
        ParseCase{"busy_fwd_off", "/yealink/busy_fwd_off",
                  R"pb(kind: EVENT_KIND_FORWARD_OFF
                       vendor_event: "busy_fwd_off"
                       device { vendor: VENDOR_YEALINK }
                       forwarding { type: FORWARD_TYPE_BUSY enabled: false })pb"},
        ParseCase{"no_answer_fwd_on", "/yealink/no_answer_fwd_on",
                  R"pb(kind: EVENT_KIND_FORWARD_ON
                       vendor_event: "no_answer_fwd_on"
                       device { vendor: VENDOR_YEALINK }
                       forwarding { type: FORWARD_TYPE_NO_ANSWER enabled: true })pb"},
        ParseCase{"hold", "/yealink/hold?call_id=9",
                  R"pb(kind: EVENT_KIND_CALL_HOLD
                       vendor_event: "hold"
                       device { vendor: VENDOR_YEALINK }
                       call { call_id: "9" hold: HOLD_STATE_ON_HOLD })pb"},
        ParseCase{"unhold", "/yealink/unhold?call_id=9",
                  R"pb(kind: EVENT_KIND_CALL_UNHOLD
                       vendor_event: "unhold"
                       device { vendor: VENDOR_YEALINK }
                       call { call_id: "9" hold: HOLD_STATE_OFF_HOLD })pb"},
        ParseCase{"missed_call_is_inbound", "/yealink/missed_call?remote=%2B4930123456",
                  R"pb(kind: EVENT_KIND_CALL_MISSED
                       vendor_event: "missed_call"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_INBOUND
                         remote { number: "+4930123456" }
                       })pb"},
        ParseCase{"cancel_callout_is_outbound", "/yealink/cancel_callout?calledNumber=2323",
                  R"pb(kind: EVENT_KIND_CALL_CANCELLED
                       vendor_event: "cancel_callout"
                       device { vendor: VENDOR_YEALINK }
                       call {
                         direction: DIRECTION_OUTBOUND
                         remote { number: "2323" }
                       })pb"},
        ParseCase{"device_event_no_call", "/yealink/ip_change?mac=001565aabbcc&ip=10.0.0.9",
                  R"pb(kind: EVENT_KIND_IP_CHANGED
                       vendor_event: "ip_change"
                       device { vendor: VENDOR_YEALINK mac: "001565aabbcc" ip: "10.0.0.9" })pb"}),
    [](const testing::TestParamInfo<ParseCase>& info) { return std::string(info.param.title); });

TEST(YealinkParseErrorTest, MissingEventNameIsInvalidArgument) {
  for (const std::string_view target : {"/yealink/?call_id=1", "/yealink/", ""}) {
    const auto event = ParseTarget(target);
    ASSERT_FALSE(event.ok()) << target;
    EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(std::string(event.status().message()).starts_with("missing event name"))
        << event.status();
  }
}

// Found by tests/fuzz/fuzz_yealink: a non-UTF-8 byte in the event name (the path is not decoded)
// went into vendor_event as is, and a PhoneEvent with an invalid proto3 string cannot be decoded.
TEST(YealinkParseTest, NonUtf8EventNameIsReadAsLatin1) {
  const auto event = ParseTarget("/yealink/caf\xE9?mac=001565aabbcc");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind(), v1::EVENT_KIND_OTHER);
  EXPECT_EQ(event->vendor_event(), "caf\u00e9");
  v1::PhoneEvent decoded;
  EXPECT_TRUE(decoded.ParseFromString(event->SerializeAsString()));
}

TEST(YealinkProvisioningTest, HeaderAndTrailingSlash) {
  const std::string out = Provisioning("http://127.0.0.1:8080/");
  EXPECT_TRUE(out.starts_with("# phonebus Action URLs for Yealink")) << out;
  EXPECT_EQ(out, Provisioning("http://127.0.0.1:8080"));
  EXPECT_NE(out.find("action_url.incoming_call = http://127.0.0.1:8080/yealink/incoming_call?"),
            std::string::npos);
  EXPECT_EQ(out.find("//yealink"), std::string::npos);
}

}  // namespace
}  // namespace phonebus::adapter::yealink
