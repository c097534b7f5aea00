// The CLI's pure parts, table-driven: watch lines, the devices table, what
// people type turned into what the contract wants, and the exit code table.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include "args.h"
#include "devices_format.h"
#include "exit_codes.h"
#include "watch_format.h"

namespace phonebus::cli {
namespace {

using google::protobuf::util::TimeUtil;

const FormatOptions kUtc{true};
const Clock::time_point kArrived = Clock::from_time_t(1714564865);  // 2024-05-01T12:01:05Z

google::protobuf::Timestamp At(const std::string& rfc3339) {
  google::protobuf::Timestamp t;
  EXPECT_TRUE(TimeUtil::FromString(rfc3339, &t)) << rfc3339;
  return t;
}

v1::PhoneEvent IncomingCall() {
  v1::PhoneEvent e;
  e.set_event_id("0190a1b2-0000-7000-8000-000000000001");
  *e.mutable_received_at() = At("2024-05-01T12:01:05.123Z");
  e.set_site("default");
  e.mutable_device()->set_id("001565aabbcc");
  e.set_kind(v1::EVENT_KIND_CALL_INCOMING);
  e.set_vendor_event("incoming_call");
  auto* call = e.mutable_call();
  call->set_call_id("42");
  call->set_direction(v1::DIRECTION_INBOUND);
  call->mutable_remote()->set_number("+4930123456");
  call->mutable_remote()->set_display_name("J\xC3\xBCrgen");
  call->set_account("1001@pbx.example");
  return e;
}

TEST(WatchFormat, IncomingCallIsOneReadableLine) {
  EXPECT_EQ(FormatEvent(IncomingCall(), kArrived, kUtc),
            "12:01:05.123 default 001565aabbcc call_incoming    +4930123456 \"J\xC3\xBCrgen\" -> "
            "1001@pbx.example  call 42");
}

TEST(WatchFormat, CallLinesFollowTheDirection) {
  struct Case {
    v1::EventKind kind;
    v1::Direction direction;
    std::string details;
  };
  for (const auto& c : std::vector<Case>{
           {v1::EVENT_KIND_CALL_OUTGOING, v1::DIRECTION_OUTBOUND,
            "1001@pbx.example -> +4930123456 \"J\xC3\xBCrgen\"  call 42"},
           // No direction sent: the kind says it.
           {v1::EVENT_KIND_CALL_OUTGOING, v1::DIRECTION_UNSPECIFIED,
            "1001@pbx.example -> +4930123456 \"J\xC3\xBCrgen\"  call 42"},
           {v1::EVENT_KIND_CALL_MISSED, v1::DIRECTION_UNSPECIFIED,
            "+4930123456 \"J\xC3\xBCrgen\" -> 1001@pbx.example  call 42"},
           // Neither does: both sides, no arrow direction.
           {v1::EVENT_KIND_CALL_ESTABLISHED, v1::DIRECTION_UNSPECIFIED,
            "1001@pbx.example <-> +4930123456 \"J\xC3\xBCrgen\"  call 42"},
       }) {
    auto e = IncomingCall();
    e.set_kind(c.kind);
    e.mutable_call()->set_direction(c.direction);
    const auto line = FormatEvent(e, kArrived, kUtc);
    EXPECT_TRUE(line.ends_with(c.details)) << line;
  }
}

TEST(WatchFormat, CallDetails) {
  auto e = IncomingCall();
  e.set_kind(v1::EVENT_KIND_CALL_TERMINATED);
  e.mutable_call()->mutable_duration()->set_seconds(83);
  EXPECT_TRUE(FormatEvent(e, kArrived, kUtc).ends_with("call 42  talked 1:23"));
  e.mutable_call()->mutable_duration()->set_seconds(3723);
  EXPECT_TRUE(FormatEvent(e, kArrived, kUtc).ends_with("talked 1:02:03"));

  // Only a GUID, only a SIP URI, a display name equal to the number.
  v1::PhoneEvent g;
  g.set_kind(v1::EVENT_KIND_CALL_INCOMING);
  g.mutable_call()->set_call_guid("{abc}");
  g.mutable_call()->mutable_remote()->set_uri("2000@pbx.example");
  g.mutable_call()->mutable_local()->set_number("1001");
  g.mutable_call()->mutable_local()->set_display_name("Anna");
  EXPECT_EQ(FormatEvent(g, kArrived, kUtc),
            "12:01:05.000 - -            call_incoming    2000@pbx.example -> 1001  call {abc}");
  g.mutable_call()->mutable_remote()->set_number("2000");
  g.mutable_call()->mutable_remote()->set_display_name("2000");
  EXPECT_TRUE(FormatEvent(g, kArrived, kUtc).ends_with("   2000 -> 1001  call {abc}"));
  g.mutable_call()->set_cancel_reason("busy");
  EXPECT_TRUE(FormatEvent(g, kArrived, kUtc).ends_with("call {abc}  reason busy"));
}

TEST(WatchFormat, DeviceEvents) {
  auto base = [](v1::EventKind kind) {
    v1::PhoneEvent e;
    *e.mutable_received_at() = At("2024-05-01T23:59:59.999Z");
    e.set_site("hq");
    e.mutable_device()->set_id("000413aabbcc");
    e.set_kind(kind);
    return e;
  };
  auto dnd = base(v1::EVENT_KIND_DND_ON);
  dnd.set_dnd(true);
  EXPECT_EQ(FormatEvent(dnd, kArrived, kUtc), "23:59:59.999 hq 000413aabbcc dnd_on");

  auto reg = base(v1::EVENT_KIND_REGISTER_FAILED);
  reg.mutable_registration()->set_account("1001@pbx.example");
  reg.mutable_registration()->set_status(v1::REGISTRATION_STATUS_FAILED);
  EXPECT_EQ(FormatEvent(reg, kArrived, kUtc),
            "23:59:59.999 hq 000413aabbcc register_failed  1001@pbx.example");

  auto fwd = base(v1::EVENT_KIND_FORWARD_ON);
  fwd.mutable_forwarding()->set_type(v1::FORWARD_TYPE_NO_ANSWER);
  fwd.mutable_forwarding()->set_enabled(true);
  EXPECT_TRUE(FormatEvent(fwd, kArrived, kUtc).ends_with("forward_on       no_answer"));

  auto ip = base(v1::EVENT_KIND_IP_CHANGED);
  ip.mutable_device()->set_ip("10.1.2.3");
  EXPECT_TRUE(FormatEvent(ip, kArrived, kUtc).ends_with("ip_changed       ip 10.1.2.3"));

  auto boot = base(v1::EVENT_KIND_SETUP_COMPLETED);
  boot.mutable_device()->set_vendor(v1::VENDOR_SNOM);
  boot.mutable_device()->set_model("D785");
  boot.mutable_device()->set_firmware("10.1.46.16");
  boot.mutable_device()->set_ip("10.1.2.4");
  EXPECT_TRUE(FormatEvent(boot, kArrived, kUtc)
                  .ends_with("setup_completed  snom D785 10.1.46.16 10.1.2.4"));

  auto other = base(v1::EVENT_KIND_OTHER);
  other.set_vendor_event("log_on");
  EXPECT_TRUE(FormatEvent(other, kArrived, kUtc).ends_with("other            log_on"));
  // A kind from a newer adapter reads as "other" with its vendor name.
  other.set_kind(static_cast<v1::EventKind>(999));
  EXPECT_TRUE(FormatEvent(other, kArrived, kUtc).ends_with("other            log_on"));
}

TEST(WatchFormat, WireTextCannotDriveTheTerminal) {
  EXPECT_EQ(Sanitize("J\xC3\xBCrgen"), "J\xC3\xBCrgen");
  EXPECT_EQ(Sanitize("a\x1b[2Jb"), "a\\x1b[2Jb");
  EXPECT_EQ(Sanitize("line\nbreak\r"), "line\\x0abreak\\x0d");
  EXPECT_EQ(Sanitize("\xC2\x9B"
                     "31m"),
            "\\xc2\\x9b31m");  // C1 CSI
  EXPECT_EQ(Sanitize("\xE2\x80\xAE"
                     "evil"),
            "\\xe2\\x80\\xaeevil");  // RIGHT-TO-LEFT OVERRIDE
  EXPECT_EQ(Sanitize("bad\xFF\xC3"), "bad\\xff\\xc3");
  EXPECT_EQ(Sanitize("\xC0\xAF"), "\\xc0\\xaf");  // overlong '/'

  auto e = IncomingCall();
  e.mutable_call()->mutable_remote()->set_display_name("Evil\" \x1b]0;pwned\x07");
  e.mutable_device()->set_id("dev\nice");
  const auto line = FormatEvent(e, kArrived, kUtc);
  EXPECT_EQ(line.find('\x1b'), std::string::npos);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("\"Evil\\\" \\x1b]0;pwned\\x07\""), std::string::npos) << line;
}

v1::CommandResult Dialled() {
  v1::CommandResult r;
  r.set_request_id("0190a1b2-0000-7000-8000-0000000000aa");
  r.set_site("hq");
  r.set_device_id("001565aabbcc");
  r.set_command("Dial");
  r.set_phone_status(200);
  *r.mutable_requested_at() = At("2024-05-01T12:01:05.038Z");
  r.mutable_latency()->set_nanos(85000000);
  r.set_instance("commander-1");
  return r;
}

TEST(WatchFormat, CommandResults) {
  auto r = Dialled();
  EXPECT_EQ(ResultSummary(r),
            "Dial OK  phone 200  85ms  request 0190a1b2-0000-7000-8000-0000000000aa");
  // Stamped when the phone answered: requested_at + latency.
  EXPECT_EQ(FormatResult(r, kArrived, kUtc),
            "12:01:05.123 hq 001565aabbcc command_result   Dial OK  phone 200  85ms  request "
            "0190a1b2-0000-7000-8000-0000000000aa");
  r.mutable_latency()->set_nanos(420000);  // a LAN phone answers in well under 1 ms
  EXPECT_TRUE(ResultSummary(r).starts_with("Dial OK  phone 200  0.4ms  request "))
      << ResultSummary(r);
  r.set_replayed(true);
  r.mutable_latency()->set_seconds(1);
  r.mutable_latency()->set_nanos(250000000);
  EXPECT_TRUE(
      ResultSummary(r).ends_with("1.25s  request 0190a1b2-0000-7000-8000-0000000000aa  replayed"));

  v1::CommandResult failed;
  failed.set_command("Answer");
  failed.set_code(14);
  failed.set_message("phone 10.1.2.3 unreachable");
  EXPECT_EQ(ResultSummary(failed), "Answer UNAVAILABLE: phone 10.1.2.3 unreachable");
  EXPECT_EQ(FormatResult(failed, kArrived, kUtc),
            "12:01:05.000 - -            command_result   Answer UNAVAILABLE: phone 10.1.2.3 "
            "unreachable");
}

v1::DeviceState State() {
  v1::DeviceState s;
  s.set_site("hq");
  s.mutable_device()->set_id("001565aabbcc");
  s.mutable_device()->set_ip("10.1.2.3");
  s.mutable_device()->set_firmware("66.86.0.15");
  auto* a = s.add_accounts();
  a->set_account("1001@pbx.example");
  a->set_status(v1::REGISTRATION_STATUS_REGISTERED);
  *s.mutable_last_seen() = At("2024-05-01T12:01:09.870Z");
  return s;
}

TEST(WatchFormat, StateLinesSayWhatChanged) {
  const auto before = State();
  // First sight: the whole state (forwarding only when on).
  EXPECT_EQ(StateChanges(nullptr, before),
            "dnd off  idle  1001@pbx.example registered  ip 10.1.2.3");
  // Activity alone (last_seen) is no change.
  auto after = before;
  *after.mutable_last_seen() = At("2024-05-01T12:02:09Z");
  EXPECT_EQ(StateChanges(&before, after), "");
  EXPECT_FALSE(FormatState(&before, after, kArrived, kUtc).has_value());

  after.set_dnd(true);
  auto* call = after.add_active_calls();
  call->set_call_id("42");
  EXPECT_EQ(*FormatState(&before, after, kArrived, kUtc),
            "12:02:09.000 hq 001565aabbcc state            dnd on  1 call 42");

  auto held = after;
  held.mutable_active_calls(0)->set_hold(v1::HOLD_STATE_ON_HOLD);
  held.add_active_calls()->set_call_guid("g-2");
  held.add_forwarding(v1::FORWARD_TYPE_ALWAYS);
  held.add_forwarding(v1::FORWARD_TYPE_BUSY);
  held.mutable_accounts(0)->set_status(v1::REGISTRATION_STATUS_FAILED);
  held.add_accounts()->set_account("1002@pbx.example");
  held.mutable_device()->set_firmware("66.86.0.20");
  EXPECT_EQ(StateChanges(&after, held),
            "2 calls 42 held, g-2  forward always,busy  1001@pbx.example failed  1002@pbx.example "
            "unknown  firmware 66.86.0.20");
  EXPECT_EQ(StateChanges(&held, before),
            "dnd off  idle  forward off  1001@pbx.example registered  firmware 66.86.0.15");
}

TEST(WatchFormat, TopicsAreRecognised) {
  auto t = ParseTopic("phonebus/v1/hq/device/001565aabbcc/event/call_incoming");
  EXPECT_EQ(t.kind, TopicInfo::Kind::kEvent);
  EXPECT_EQ(t.site, "hq");
  EXPECT_EQ(t.device, "001565aabbcc");
  EXPECT_EQ(t.event_kind, "call_incoming");
  EXPECT_EQ(ParseTopic("phonebus/v1/hq/device/x/state").kind, TopicInfo::Kind::kState);
  EXPECT_EQ(ParseTopic("phonebus/v1/hq/device/x/command/result").kind, TopicInfo::Kind::kResult);
  for (const char* other : {"phonebus/v1/hq/service/adapter/status", "phonebus/v1/hq/device/x",
                            "phonebus/v2/hq/device/x/state", "phonebus/v1/hq/device/x/event",
                            "phonebus/v1/hq/device/x/state/more", ""}) {
    EXPECT_EQ(ParseTopic(other).kind, TopicInfo::Kind::kOther) << other;
  }
}

TEST(WatchFormat, DecodesEveryPayloadFormat) {
  const auto event = IncomingCall();
  const std::string binary = event.SerializeAsString();
  const std::string json = JsonLine(event);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  EXPECT_NE(json.find("\"event_id\":\"0190a1b2-0000-7000-8000-000000000001\""), std::string::npos)
      << json;
  for (const auto& [payload, content_type] :
       std::vector<std::pair<std::string, std::string>>{{binary, "application/x-protobuf"},
                                                        {json, "application/json"},
                                                        {binary, ""},  // MQTT 3.1.1
                                                        {json, ""}}) {
    v1::PhoneEvent decoded;
    ASSERT_TRUE(Decode(payload, content_type, &decoded)) << content_type;
    EXPECT_EQ(decoded.SerializeAsString(), binary) << content_type;
  }
  // Fields from a newer publisher are skipped, not fatal.
  v1::PhoneEvent newer;
  ASSERT_TRUE(
      Decode(R"({"event_id":"x","kind":"EVENT_KIND_DND_ON","shiny_new_field":1})", "", &newer));
  EXPECT_EQ(newer.kind(), v1::EVENT_KIND_DND_ON);
  v1::PhoneEvent bad;
  EXPECT_FALSE(Decode("{not json", "", &bad));
  EXPECT_FALSE(Decode("\xff\xff\xff", "application/x-protobuf", &bad));
  EXPECT_FALSE(Decode(binary, "application/json", &bad));
}

TEST(DevicesFormat, TableIsAlignedWithDashesForTheUnknown) {
  const auto now = Clock::from_time_t(1714564865);
  v1::DeviceInfo a;
  a.set_site("hq");
  a.set_id("001565aabbcc");
  a.set_vendor(v1::VENDOR_YEALINK);
  a.set_brand("yealink");
  a.set_model("T46S");
  a.set_firmware("66.86.0.15");
  a.set_address("10.1.2.3:80");
  a.add_accounts("1001@pbx.example");
  a.set_source(v1::DEVICE_SOURCE_BOTH);
  a.mutable_last_seen()->set_seconds(1714564865 - 12);
  v1::DeviceInfo b;
  b.set_site("hq");
  b.set_id("0c383e000001");
  b.set_vendor(v1::VENDOR_YEALINK);
  b.set_brand("Fanvil");
  b.set_address("10.1.2.4:443");
  b.set_https(true);
  b.add_accounts("1002@pbx.example");
  b.add_accounts("1003");
  b.set_source(v1::DEVICE_SOURCE_INVENTORY);
  EXPECT_EQ(DevicesTable({a, b}, now),
            "SITE  ID            VENDOR            MODEL  FIRMWARE    ADDRESS               "
            "ACCOUNTS               SOURCE     LAST SEEN\n"
            "hq    001565aabbcc  yealink           T46S   66.86.0.15  10.1.2.3:80           "
            "1001@pbx.example       both       12s ago\n"
            "hq    0c383e000001  fanvil (yealink)  -      -           https://10.1.2.4:443  "
            "1002@pbx.example,1003  inventory  never\n");
}

TEST(DevicesFormat, AgeIsCoarse) {
  const auto now = Clock::from_time_t(1000000);
  google::protobuf::Timestamp t;
  EXPECT_EQ(Age(t, now), "never");
  for (const auto& [ago, text] :
       std::vector<std::pair<int, std::string>>{{0, "now"},
                                                {-5, "now"},
                                                {59, "59s ago"},
                                                {60, "1m ago"},
                                                {3599, "59m ago"},
                                                {3600, "1h ago"},
                                                {86399, "23h ago"},
                                                {86400 * 12, "12d ago"}}) {
    t.set_seconds(1000000 - ago);
    EXPECT_EQ(Age(t, now), text) << ago;
  }
}

// The CLI no longer rewrites a DEVICE for the commander (whose registry knows
// every spelling); only a watch filter needs the topic's id, and takes it from
// the same function the topics are built with.
TEST(Args, WatchDeviceFilterUsesTheTopicsDeviceId) {
  for (const auto& [in, level] :
       std::vector<std::pair<std::string, std::string>>{{"00:15:65:AA:BB:CC", "001565aabbcc"},
                                                        {"00-15-65-aa-bb-cc", "001565aabbcc"},
                                                        {"0015.65aa.bbcc", "001565aabbcc"},
                                                        {"001565AABBCC", "001565aabbcc"},
                                                        {"001565aabbcc", "001565aabbcc"},
                                                        {"agent17-soft", "agent17-soft"},
                                                        {"1001@pbx.example", "1001@pbx.example"},
                                                        {"00:15:65:AA:BB", "00:15:65:AA:BB"},
                                                        {"a/b+#", "a_b__"}}) {
    WatchFilter f;
    f.site = "hq";
    f.devices = {in};
    f.events = false;
    EXPECT_EQ(Subscriptions(f),
              std::vector<std::string>{"phonebus/v1/hq/device/" + level + "/command/result"})
        << in;
  }
}

TEST(Args, NumbersAndKeys) {
  EXPECT_EQ(NormalizeNumber("+49 (30) 123-456/7.8"), "+493012345678");
  EXPECT_EQ(NormalizeNumber("*21#"), "*21#");
  EXPECT_EQ(NormalizeNumber("sip:1001@pbx"), "sip:1001@pbx");  // for the commander to refuse
  EXPECT_EQ(ExpandKeys({"0301234", "ok", "f1", "7", "#", "dss10", "*21#"}),
            (std::vector<std::string>{"0", "3", "0", "1", "2", "3", "4", "OK", "F1", "7", "#",
                                      "DSS10", "*", "2", "1", "#"}));
}

TEST(Args, KindNamesAreTheTopicSegments) {
  const auto kinds = KindNames();
  EXPECT_TRUE(IsKnownKind("call_incoming"));
  EXPECT_TRUE(IsKnownKind("other"));
  EXPECT_FALSE(IsKnownKind("unspecified"));
  EXPECT_FALSE(IsKnownKind("CALL_INCOMING"));
  EXPECT_FALSE(IsKnownKind("call_incomin"));
  EXPECT_TRUE(std::is_sorted(kinds.begin(), kinds.end()));
}

TEST(Args, WatchSubscriptions) {
  EXPECT_EQ(Subscriptions({}), (std::vector<std::string>{"phonebus/v1/+/device/+/command/result",
                                                         "phonebus/v1/+/device/+/event/+"}));
  WatchFilter f;
  f.site = "hq";
  f.devices = {"001565aabbcc", "a/b"};
  f.kinds = {"call_incoming", "dnd_on"};
  f.states = true;
  f.results = false;
  EXPECT_EQ(Subscriptions(f), (std::vector<std::string>{
                                  "phonebus/v1/hq/device/001565aabbcc/event/call_incoming",
                                  "phonebus/v1/hq/device/001565aabbcc/event/dnd_on",
                                  "phonebus/v1/hq/device/001565aabbcc/state",
                                  "phonebus/v1/hq/device/a_b/event/call_incoming",
                                  "phonebus/v1/hq/device/a_b/event/dnd_on",
                                  "phonebus/v1/hq/device/a_b/state",
                              }));
}

TEST(ExitCodes, EveryGrpcCodeHasOne) {
  const std::vector<std::pair<std::string, int>> expected = {{"OK", 0},
                                                             {"CANCELLED", 1},
                                                             {"UNKNOWN", 1},
                                                             {"INVALID_ARGUMENT", 2},
                                                             {"DEADLINE_EXCEEDED", 5},
                                                             {"NOT_FOUND", 3},
                                                             {"ALREADY_EXISTS", 1},
                                                             {"PERMISSION_DENIED", 4},
                                                             {"RESOURCE_EXHAUSTED", 1},
                                                             {"FAILED_PRECONDITION", 6},
                                                             {"ABORTED", 1},
                                                             {"OUT_OF_RANGE", 1},
                                                             {"UNIMPLEMENTED", 1},
                                                             {"INTERNAL", 1},
                                                             {"UNAVAILABLE", 5},
                                                             {"DATA_LOSS", 1},
                                                             {"UNAUTHENTICATED", 4}};
  for (int code = 0; code < static_cast<int>(expected.size()); ++code) {
    EXPECT_EQ(CodeName(code), expected[code].first);
    EXPECT_EQ(ExitCodeFor(code), expected[code].second) << expected[code].first;
  }
  EXPECT_EQ(CodeName(42), "CODE_42");
  EXPECT_EQ(ExitCodeFor(42), kExitRefused);
  EXPECT_EQ(ErrorLine("dial", 5, "no device\nhere "), "phonebus dial: NOT_FOUND: no device here");
}

}  // namespace
}  // namespace phonebus::cli
