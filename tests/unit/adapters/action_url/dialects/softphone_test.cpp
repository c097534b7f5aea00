// Softphone dialect: URLs exactly as the softphone sends them, parsed the way the adapter does
// (SplitTarget, ParseQuery, Parse), compared field by field against the expected PhoneEvent.
#include "dialects/softphone.h"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "url.h"

namespace phonebus::adapter::softphone {
namespace {

// What the adapter does with a request target: /softphone?action=... or /softphone/{event}?...
absl::StatusOr<v1::PhoneEvent> ParseTarget(std::string_view target,
                                           const ParamNames& names = ParamNames{}) {
  const auto [path, query] = url::SplitTarget(target);
  std::string_view event = path;
  event.remove_prefix(std::min(event.size(), kPath.size() + 1));
  if (event.starts_with('/')) event.remove_prefix(1);
  auto parsed = url::ParseQuery(query);
  if (!parsed.ok()) return parsed.status();
  return Parse(ActionUrl{event, *parsed}, names);
}

// Empty when equal; otherwise what differs, for a readable failure.
std::string Diff(const v1::PhoneEvent& expected, const v1::PhoneEvent& actual) {
  std::string diff;
  google::protobuf::util::MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&diff);
  return differencer.Compare(expected, actual) ? "" : diff;
}

ParamNames RenamedParams() {
  ParamNames names;
  names.action = "ereignis";
  names.call_direction = "richtung";
  names.local_party = "eigene";
  names.local_alias = "eigener_name";
  names.remote_party = "nummer";
  names.remote_alias = "name";
  names.hold_state = "halten";
  names.call_duration = "dauer";
  names.created_time = "beginn";
  names.connected_time = "verbunden";
  names.disconnected_time = "ende";
  names.call_guid = "guid";
  return names;
}

struct ParseCase {
  std::string_view title;
  std::string_view target;
  std::string_view expected;  // PhoneEvent in text format
  bool renamed = false;       // parse with RenamedParams()
  // Failure messages name the case instead of dumping its bytes.
  friend void PrintTo(const ParseCase& c, std::ostream* os) { *os << c.title; }
};

class SoftphoneParseTest : public testing::TestWithParam<ParseCase> {};

TEST_P(SoftphoneParseTest, ProducesEvent) {
  const ParseCase& c = GetParam();
  v1::PhoneEvent expected;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(c.expected), &expected))
      << c.expected;
  const auto event = ParseTarget(c.target, c.renamed ? RenamedParams() : ParamNames{});
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(Diff(expected, *event), "") << "target: " << c.target << "\ngot:\n"
                                        << event->DebugString();
}

INSTANTIATE_TEST_SUITE_P(
    Urls, SoftphoneParseTest,
    testing::Values(
        ParseCase{"incoming",
                  "/softphone?action=incoming&call_direction=inbound"
                  "&local_party=1001@pbx.example&local_alias=Agent%20One"
                  "&remote_party=%2B4930123456&remote_alias=J%C3%BCrgen%20M%C3%BCller"
                  "&hold_state=off_hold&call_duration_seconds=0"
                  "&call_created_time=2019-03-25T10-34-22&call_connected_time="
                  "&call_disconnected_time=&call_guid=1399c8c8-cf9e-3ebe-764f-d12b1f7bea35",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         call_guid: "1399c8c8-cf9e-3ebe-764f-d12b1f7bea35"
                         direction: DIRECTION_INBOUND
                         account: "1001@pbx.example"
                         hold: HOLD_STATE_OFF_HOLD
                         local { number: "1001" uri: "1001@pbx.example" display_name: "Agent One" }
                         remote { number: "+4930123456" display_name: "Jürgen Müller" }
                         created_at { seconds: 1553510062 }
                         duration {}
                       })pb"},
        ParseCase{"outgoing_numeric_direction",
                  "/softphone?action=outgoing&call_direction=1&remote_party=+4930123456",
                  R"pb(kind: EVENT_KIND_CALL_OUTGOING
                       vendor_event: "outgoing"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         direction: DIRECTION_OUTBOUND
                         remote { number: "+4930123456" }
                       })pb"},
        ParseCase{"incoming_direction_from_kind", "/softphone?action=incoming",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming"
                       device { vendor: VENDOR_SOFTPHONE }
                       call { direction: DIRECTION_INBOUND })pb"},
        ParseCase{"connected",
                  "/softphone?action=connected&call_direction=0"
                  "&call_connected_time=2019-03-25T10-34-27&hold_state=off_hold",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "connected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         direction: DIRECTION_INBOUND
                         hold: HOLD_STATE_OFF_HOLD
                         connected_at { seconds: 1553510067 }
                       })pb"},
        ParseCase{"hold_on", "/softphone?action=hold&hold_state=on_hold",
                  R"pb(kind: EVENT_KIND_CALL_HOLD
                       vendor_event: "hold"
                       device { vendor: VENDOR_SOFTPHONE }
                       call { hold: HOLD_STATE_ON_HOLD })pb"},
        ParseCase{"hold_off", "/softphone?action=hold&hold_state=off_hold",
                  R"pb(kind: EVENT_KIND_CALL_UNHOLD
                       vendor_event: "hold"
                       device { vendor: VENDOR_SOFTPHONE }
                       call { hold: HOLD_STATE_OFF_HOLD })pb"},
        ParseCase{"hold_without_state_is_other", "/softphone?action=hold&hold_state=<$hold_state>",
                  R"pb(kind: EVENT_KIND_OTHER
                       vendor_event: "hold"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {})pb"},
        ParseCase{"disconnected_after_talk",
                  "/softphone?action=disconnected&call_direction=inbound"
                  "&call_duration_seconds=7&call_created_time=2019-03-25T10-34-22"
                  "&call_connected_time=2019-03-25T10-34-27"
                  "&call_disconnected_time=2019-03-25T10-34-34",
                  R"pb(kind: EVENT_KIND_CALL_TERMINATED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         direction: DIRECTION_INBOUND
                         created_at { seconds: 1553510062 }
                         connected_at { seconds: 1553510067 }
                         disconnected_at { seconds: 1553510074 }
                         duration { seconds: 7 }
                       })pb"},
        ParseCase{"missed_inbound_never_connected",
                  "/softphone?action=disconnected&call_direction=inbound"
                  "&call_connected_time=&call_duration_seconds=0&remote_party=%2B4930123456",
                  R"pb(kind: EVENT_KIND_CALL_MISSED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         direction: DIRECTION_INBOUND
                         remote { number: "+4930123456" }
                         duration {}
                       })pb"},
        ParseCase{"missed_with_unsubstituted_connected_time",
                  "/softphone?action=disconnected&call_direction=0"
                  "&call_connected_time=<$call_connected_time>",
                  R"pb(kind: EVENT_KIND_CALL_MISSED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call { direction: DIRECTION_INBOUND })pb"},
        ParseCase{"talk_time_means_connected",
                  "/softphone?action=disconnected&call_direction=inbound&call_duration_seconds=12",
                  R"pb(kind: EVENT_KIND_CALL_TERMINATED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         direction: DIRECTION_INBOUND
                         duration { seconds: 12 }
                       })pb"},
        ParseCase{"outbound_never_connected_not_missed",
                  "/softphone?action=disconnected&call_direction=outbound",
                  R"pb(kind: EVENT_KIND_CALL_TERMINATED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call { direction: DIRECTION_OUTBOUND })pb"},
        ParseCase{"unknown_direction_not_missed", "/softphone?action=disconnected",
                  R"pb(kind: EVENT_KIND_CALL_TERMINATED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {})pb"},
        ParseCase{"unsubstituted_absent",
                  "/softphone?action=incoming&remote_party=<$remote_party>"
                  "&remote_alias=%3C%24remote_alias%3E&call_guid=<$call_guid>",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming"
                       device { vendor: VENDOR_SOFTPHONE }
                       call { direction: DIRECTION_INBOUND })pb"},
        ParseCase{"latin1_alias", "/softphone?action=incoming&remote_alias=J%FCrgen%20M%FCller",
                  R"pb(kind: EVENT_KIND_CALL_INCOMING
                       vendor_event: "incoming"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         direction: DIRECTION_INBOUND
                         remote { display_name: "Jürgen Müller" }
                       })pb"},
        ParseCase{"sip_uri_parties",
                  "/softphone?action=connected&local_party=sip:1001@pbx.example"
                  "&remote_party=sip:%2B4930123456@carrier.example;user=phone",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "connected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         account: "1001@pbx.example"
                         local { number: "1001" uri: "1001@pbx.example" }
                         remote { number: "+4930123456" uri: "+4930123456@carrier.example" }
                       })pb"},
        ParseCase{"event_from_path_wins", "/softphone/connected?action=incoming",
                  R"pb(kind: EVENT_KIND_CALL_ESTABLISHED
                       vendor_event: "connected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {})pb"},
        ParseCase{"unknown_action", "/softphone?action=ringing&call_guid=g-1",
                  R"pb(kind: EVENT_KIND_OTHER
                       vendor_event: "ringing"
                       device { vendor: VENDOR_SOFTPHONE }
                       call { call_guid: "g-1" })pb"},
        ParseCase{"custom_names",
                  "/softphone?ereignis=disconnected&richtung=inbound&eigene=1001@pbx.example"
                  "&eigener_name=Agent&nummer=%2B4930123456&name=M%C3%BCller&halten=off_hold"
                  "&dauer=7&beginn=2019-03-25T10-34-22&verbunden=2019-03-25T10-34-27"
                  "&ende=2019-03-25T10-34-34&guid=g-2&action=incoming&remote_party=999",
                  R"pb(kind: EVENT_KIND_CALL_TERMINATED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call {
                         call_guid: "g-2"
                         direction: DIRECTION_INBOUND
                         account: "1001@pbx.example"
                         hold: HOLD_STATE_OFF_HOLD
                         local { number: "1001" uri: "1001@pbx.example" display_name: "Agent" }
                         remote { number: "+4930123456" display_name: "Müller" }
                         created_at { seconds: 1553510062 }
                         connected_at { seconds: 1553510067 }
                         disconnected_at { seconds: 1553510074 }
                         duration { seconds: 7 }
                       })pb",
                  true},
        ParseCase{"custom_names_missed", "/softphone?ereignis=disconnected&richtung=0",
                  R"pb(kind: EVENT_KIND_CALL_MISSED
                       vendor_event: "disconnected"
                       device { vendor: VENDOR_SOFTPHONE }
                       call { direction: DIRECTION_INBOUND })pb",
                  true}),
    [](const testing::TestParamInfo<ParseCase>& info) { return std::string(info.param.title); });

// ---------------------------------------------------------------------------------------------
// Times: the softphone's own form and the forms other builds use; anything else is left unset.

struct TimeCase {
  std::string_view title;
  std::string_view value;  // as it appears in the query (percent-encoded where needed)
  std::optional<int64_t> seconds;
  // Failure messages name the case instead of dumping its bytes.
  friend void PrintTo(const TimeCase& c, std::ostream* os) { *os << c.title; }
};

class SoftphoneTimeTest : public testing::TestWithParam<TimeCase> {};

TEST_P(SoftphoneTimeTest, ParsesCreatedTime) {
  const TimeCase& c = GetParam();
  const auto event =
      ParseTarget("/softphone?action=incoming&call_created_time=" + std::string(c.value));
  ASSERT_TRUE(event.ok()) << event.status();
  ASSERT_EQ(event->call().has_created_at(), c.seconds.has_value()) << event->DebugString();
  if (c.seconds) {
    EXPECT_EQ(event->call().created_at().seconds(), *c.seconds);
  }
  EXPECT_EQ(event->call().created_at().nanos(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Times, SoftphoneTimeTest,
    testing::Values(TimeCase{"dashes", "2019-03-25T10-34-22", 1553510062},
                    TimeCase{"colons", "2019-03-25T10:34:22", 1553510062},
                    TimeCase{"space_encoded", "2019-03-25%2010:34:22", 1553510062},
                    TimeCase{"space_raw", "2019-03-25 10-34-22", 1553510062},
                    TimeCase{"leap_day", "2024-02-29T23-59-59", 1709251199},
                    TimeCase{"epoch", "1970-01-01T00-00-00", 0},
                    TimeCase{"first_timestamp", "0001-01-01T00-00-00", -62135596800},
                    TimeCase{"year_0_beyond_timestamp", "0000-01-01T00-00-00", std::nullopt},
                    TimeCase{"not_a_leap_day", "2019-02-29T10-34-22", std::nullopt},
                    TimeCase{"month_13", "2019-13-01T10-34-22", std::nullopt},
                    TimeCase{"hour_24", "2019-03-25T24-00-00", std::nullopt},
                    TimeCase{"minute_60", "2019-03-25T10-60-00", std::nullopt},
                    TimeCase{"mixed_separators", "2019-03-25T10-34:22", std::nullopt},
                    TimeCase{"date_only", "2019-03-25", std::nullopt},
                    TimeCase{"with_zone", "2019-03-25T10-34-22Z", std::nullopt},
                    TimeCase{"signed_field", "2019-03-25T-1-34-22", std::nullopt},
                    TimeCase{"letters", "2019-03-25Tab-cd-ef", std::nullopt},
                    TimeCase{"unsubstituted", "<$call_created_time>", std::nullopt}),
    [](const testing::TestParamInfo<TimeCase>& info) { return std::string(info.param.title); });

TEST(SoftphoneParseTest, TheLongestDurationProtobufTakesIsKept) {
  const auto event = ParseTarget("/softphone?action=connected&call_duration_seconds=315576000000");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->call().duration().seconds(), 315576000000);
}

TEST(SoftphoneParseTest, MalformedDurationIsIgnored) {
  // The last is past protobuf's Duration range, which its JSON printer refuses.
  for (const std::string_view value : {"abc", "-5", "7s", "1e3", "315576000001"}) {
    const auto event =
        ParseTarget("/softphone?action=connected&call_duration_seconds=" + std::string(value));
    ASSERT_TRUE(event.ok()) << event.status();
    EXPECT_FALSE(event->call().has_duration()) << value;
  }
}

TEST(SoftphoneParseErrorTest, MissingEventNameIsInvalidArgument) {
  for (const std::string_view target :
       {"/softphone", "/softphone?action=", "/softphone?action=<$action>", "/softphone?x=1"}) {
    const auto event = ParseTarget(target);
    ASSERT_FALSE(event.ok()) << target;
    EXPECT_EQ(event.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(std::string(event.status().message()).starts_with("missing event name"))
        << event.status();
  }
  // The renamed action parameter is the one that counts.
  const auto event = ParseTarget("/softphone?action=incoming", RenamedParams());
  ASSERT_FALSE(event.ok());
  EXPECT_NE(std::string(event.status().message()).find("ereignis"), std::string::npos)
      << event.status();
}

// Found by tests/fuzz/fuzz_softphone: a non-UTF-8 byte in an event name from the path went into
// vendor_event as is, and a PhoneEvent with an invalid proto3 string cannot be decoded.
TEST(SoftphoneParseTest, NonUtf8EventNameIsReadAsLatin1) {
  const auto event = ParseTarget("/softphone/caf\xE9");
  ASSERT_TRUE(event.ok()) << event.status();
  EXPECT_EQ(event->kind(), v1::EVENT_KIND_OTHER);
  EXPECT_EQ(event->vendor_event(), "caf\u00e9");
  v1::PhoneEvent decoded;
  EXPECT_TRUE(decoded.ParseFromString(event->SerializeAsString()));
}

TEST(SoftphoneProvisioningTest, FiveTemplatesWithPlaceholders) {
  const std::string out = Provisioning("http://127.0.0.1:8080/", ParamNames{});
  EXPECT_EQ(out, Provisioning("http://127.0.0.1:8080", ParamNames{}));
  EXPECT_TRUE(out.starts_with("# ")) << out;
  const std::string url =
      "http://127.0.0.1:8080/softphone?action=<$action>&call_direction=<$call_direction>"
      "&local_party=<$local_party>&local_alias=<$local_alias>&remote_party=<$remote_party>"
      "&remote_alias=<$remote_alias>&hold_state=<$hold_state>"
      "&call_duration_seconds=<$call_duration_seconds>&call_created_time=<$call_created_time>"
      "&call_connected_time=<$call_connected_time>"
      "&call_disconnected_time=<$call_disconnected_time>&call_guid=<$call_guid>\n";
  size_t count = 0;
  for (size_t at = out.find(url); at != std::string::npos; at = out.find(url, at + 1)) ++count;
  EXPECT_EQ(count, 5u) << out;
  EXPECT_EQ(out.find("device="), std::string::npos);
}

TEST(SoftphoneProvisioningTest, RenamedParamsAndDeviceId) {
  const std::string out = Provisioning("https://pb.example", RenamedParams(), "agent-7");
  EXPECT_NE(out.find("https://pb.example/softphone?ereignis=<$action>&richtung=<$call_direction>"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("&dauer=<$call_duration_seconds>"), std::string::npos) << out;
  EXPECT_NE(out.find("&guid=<$call_guid>&device=agent-7\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace phonebus::adapter::softphone
