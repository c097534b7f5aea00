// The encoders: every command on every family and Yealink generation, compared against the exact
// request target; the PROTOCOLS.md 2.x pitfalls; and the injection corpus on every form. Exact
// targets are the guarantee that no ';', '&' or '=' reaches a phone unless the encoder put it
// there.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "command.h"
#include "command_forms.h"
#include "encoders/encoder.h"
#include "encoders/snom.h"
#include "encoders/yealink.h"
#include "gtest/gtest.h"
#include "url.h"
#include "validate.h"

namespace phonebus::command {
namespace {

using namespace std::string_literals;

Target MakeTarget(std::string_view form, std::string account = "",
                  std::optional<bool> dnd = std::nullopt) {
  auto named = CommandForms::Named(form);
  EXPECT_TRUE(named.ok()) << named.status();
  Target target;
  if (named.ok()) target.form = *named;
  target.account = std::move(account);
  target.dnd = dnd;
  return target;
}

struct Case {
  std::string name;
  std::string form;
  Command command;
  std::string expected;  // the exact target when code is kOk
  absl::StatusCode code = absl::StatusCode::kOk;
  std::string message;       // exact message when code is not kOk
  std::string account = "";  // the device's own account (Target.account)
  std::optional<bool> dnd = std::nullopt;
  friend void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }
};

Case Ok(std::string name, std::string form, Command command, std::string expected,
        std::string account = "", std::optional<bool> dnd = std::nullopt) {
  return Case{std::move(name),       std::move(form),
              std::move(command),    std::move(expected),
              absl::StatusCode::kOk, "",
              std::move(account),    dnd};
}

Case Refused(std::string name, std::string form, Command command, absl::StatusCode code,
             std::string message, std::string account = "",
             std::optional<bool> dnd = std::nullopt) {
  return Case{std::move(name),
              std::move(form),
              std::move(command),
              "",
              code,
              std::move(message),
              std::move(account),
              dnd};
}

class EncodeTest : public testing::TestWithParam<Case> {};

TEST_P(EncodeTest, GivesTheExactRequest) {
  const Case& c = GetParam();
  const auto request = Encode(c.command, MakeTarget(c.form, c.account, c.dnd));
  if (c.code == absl::StatusCode::kOk) {
    ASSERT_TRUE(request.ok()) << request.status();
    EXPECT_EQ(request->target, c.expected);
  } else {
    ASSERT_FALSE(request.ok()) << request->target;
    EXPECT_EQ(request.status().code(), c.code) << request.status();
    EXPECT_EQ(std::string(request.status().message()), c.message);
  }
}

constexpr auto kFailed = absl::StatusCode::kFailedPrecondition;
constexpr auto kInvalid = absl::StatusCode::kInvalidArgument;

const std::string kPlusKeyed =
    " by key presses and a Yealink keypad cannot type '+'; give the number with its "
    "international dialing prefix (e.g. 00 instead of +)";

std::string CannotChooseAccount(std::string_view form, std::string_view own) {
  return "account: command form \"" + std::string(form) +
         "\" cannot choose the account to dial from; leave account empty to dial from the "
         "phone's default account" +
         (own.empty() ? "" : " (\"" + std::string(own) + "\")");
}

// ---------------------------------------------------------------------------------------------
// Yealink, current firmware: /servlet.

INSTANTIATE_TEST_SUITE_P(
    YealinkServlet, EncodeTest,
    testing::Values(
        Ok("Dial", "yealink-servlet", Dial{"2323", ""}, "/servlet?key=number=2323"),
        Ok("DialFromAccount", "yealink-servlet", Dial{"2323", "1001@pbx.example"},
           "/servlet?key=number=2323&outgoing_uri=1001@pbx.example"),
        Ok("DialFromDeviceAccount", "yealink-servlet", Dial{"2323", ""},
           "/servlet?key=number=2323&outgoing_uri=1001@pbx.example", "1001@pbx.example"),
        Ok("DialAccountOverridesDevice", "yealink-servlet", Dial{"2323", "1002@pbx.example"},
           "/servlet?key=number=2323&outgoing_uri=1002@pbx.example", "1001@pbx.example"),
        Ok("DialAccountWithPort", "yealink-servlet", Dial{"2323", "1001@pbx.example:5062"},
           "/servlet?key=number=2323&outgoing_uri=1001@pbx.example:5062"),
        Ok("DialAccountPlusIsEncoded", "yealink-servlet", Dial{"2323", "+4930123@pbx"},
           "/servlet?key=number=2323&outgoing_uri=%2B4930123@pbx"),
        Ok("DialPoundIsPercent23", "yealink-servlet", Dial{"12#34", ""},
           "/servlet?key=number=12%2334"),
        Ok("DialPlusIsPercent2B", "yealink-servlet", Dial{"+4930123456", ""},
           "/servlet?key=number=%2B4930123456"),
        Ok("DialStarStays", "yealink-servlet", Dial{"*31#2323", ""},
           "/servlet?key=number=*31%232323"),
        Ok("Answer", "yealink-servlet", Answer{}, "/servlet?key=OK"),
        Ok("Hangup", "yealink-servlet", Hangup{}, "/servlet?key=X"),
        Ok("Hold", "yealink-servlet", Hold{}, "/servlet?key=F_HOLD"),
        Ok("Resume", "yealink-servlet", Resume{}, "/servlet?key=F_HOLD"),
        Ok("Transfer", "yealink-servlet", Transfer{"2323"},
           "/servlet?key=F_TRANSFER;2323;F_TRANSFER"),
        Ok("TransferPoundIsDollar", "yealink-servlet", Transfer{"12#34"},
           "/servlet?key=F_TRANSFER;12$34;F_TRANSFER"),
        Ok("TransferStar", "yealink-servlet", Transfer{"*8"},
           "/servlet?key=F_TRANSFER;*8;F_TRANSFER"),
        Refused("TransferPlus", "yealink-servlet", Transfer{"+4930"}, kFailed,
                "number: command form \"yealink-servlet\" transfers" + kPlusKeyed),
        Ok("DndOn", "yealink-servlet", SetDnd{true}, "/servlet?key=DNDOn"),
        Ok("DndOff", "yealink-servlet", SetDnd{false}, "/servlet?key=DNDOff"),
        Ok("Keys", "yealink-servlet", SendKeys{{"1", "#", "*", "OK", "CANCEL"}},
           "/servlet?key=1;POUND;*;OK;X"),
        Ok("KeysLinesAndDss", "yealink-servlet", SendKeys{{"LINE1", "LINE6", "DSS1", "DSS10"}},
           "/servlet?key=L1;L6;D1;D10"),
        Refused("KeysDnd", "yealink-servlet", SendKeys{{"OK", "DND"}}, kFailed,
                "keys[1]: the yealink family has no \"DND\" key; use SetDnd, which sends DNDOn "
                "or DNDOff")),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// Old T2x on V70: number= on ConfigManApp.com, keys there too.
INSTANTIATE_TEST_SUITE_P(
    YealinkConfigManApp, EncodeTest,
    testing::Values(
        Ok("Dial", "yealink-configmanapp", Dial{"2323", ""},
           "/cgi-bin/ConfigManApp.com?number=2323"),
        Ok("DialFromDeviceAccount", "yealink-configmanapp", Dial{"2323", ""},
           "/cgi-bin/ConfigManApp.com?number=2323", "1001@pbx.example"),
        Ok("DialNamingDeviceAccount", "yealink-configmanapp", Dial{"2323", "1001@pbx.example"},
           "/cgi-bin/ConfigManApp.com?number=2323", "1001@pbx.example"),
        Refused("DialOtherAccount", "yealink-configmanapp", Dial{"2323", "1002@pbx.example"},
                kFailed, CannotChooseAccount("yealink-configmanapp", "1001@pbx.example"),
                "1001@pbx.example"),
        Refused("DialAccountNoDeviceAccount", "yealink-configmanapp",
                Dial{"2323", "1002@pbx.example"}, kFailed,
                CannotChooseAccount("yealink-configmanapp", "")),
        Ok("DialPound", "yealink-configmanapp", Dial{"12#34", ""},
           "/cgi-bin/ConfigManApp.com?number=12%2334"),
        Ok("DialPlus", "yealink-configmanapp", Dial{"+4930", ""},
           "/cgi-bin/ConfigManApp.com?number=%2B4930"),
        Ok("Answer", "yealink-configmanapp", Answer{}, "/cgi-bin/ConfigManApp.com?key=OK"),
        Ok("Hangup", "yealink-configmanapp", Hangup{}, "/cgi-bin/ConfigManApp.com?key=X"),
        Ok("Hold", "yealink-configmanapp", Hold{}, "/cgi-bin/ConfigManApp.com?key=F_HOLD"),
        Ok("Resume", "yealink-configmanapp", Resume{}, "/cgi-bin/ConfigManApp.com?key=F_HOLD"),
        Ok("Transfer", "yealink-configmanapp", Transfer{"12#34"},
           "/cgi-bin/ConfigManApp.com?key=F_TRANSFER;12$34;F_TRANSFER"),
        Refused("TransferPlus", "yealink-configmanapp", Transfer{"+4930"}, kFailed,
                "number: command form \"yealink-configmanapp\" transfers" + kPlusKeyed),
        Ok("DndOn", "yealink-configmanapp", SetDnd{true}, "/cgi-bin/ConfigManApp.com?key=DNDOn"),
        Ok("DndOff", "yealink-configmanapp", SetDnd{false}, "/cgi-bin/ConfigManApp.com?key=DNDOff"),
        Ok("Keys", "yealink-configmanapp", SendKeys{{"9", "#"}},
           "/cgi-bin/ConfigManApp.com?key=9;POUND")),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// T38G, T32G: cgiServer.exx dials with outgoing_uri; keys on ConfigManApp.com.
INSTANTIATE_TEST_SUITE_P(
    YealinkCgiServer, EncodeTest,
    testing::Values(
        Ok("Dial", "yealink-cgiserver", Dial{"2323", ""}, "/cgi-bin/cgiServer.exx?number=2323"),
        Ok("DialFromAccount", "yealink-cgiserver", Dial{"2323", "1001@pbx.example"},
           "/cgi-bin/cgiServer.exx?number=2323&outgoing_uri=1001@pbx.example"),
        Ok("DialFromDeviceAccount", "yealink-cgiserver", Dial{"2323", ""},
           "/cgi-bin/cgiServer.exx?number=2323&outgoing_uri=1001", "1001"),
        Ok("DialPoundAndPlus", "yealink-cgiserver", Dial{"+49#1", ""},
           "/cgi-bin/cgiServer.exx?number=%2B49%231"),
        Ok("Answer", "yealink-cgiserver", Answer{}, "/cgi-bin/ConfigManApp.com?key=OK"),
        Ok("Hangup", "yealink-cgiserver", Hangup{}, "/cgi-bin/ConfigManApp.com?key=X"),
        Ok("Hold", "yealink-cgiserver", Hold{}, "/cgi-bin/ConfigManApp.com?key=F_HOLD"),
        Ok("Resume", "yealink-cgiserver", Resume{}, "/cgi-bin/ConfigManApp.com?key=F_HOLD"),
        Ok("Transfer", "yealink-cgiserver", Transfer{"2323"},
           "/cgi-bin/ConfigManApp.com?key=F_TRANSFER;2323;F_TRANSFER"),
        Ok("DndOn", "yealink-cgiserver", SetDnd{true}, "/cgi-bin/ConfigManApp.com?key=DNDOn"),
        Ok("DndOff", "yealink-cgiserver", SetDnd{false}, "/cgi-bin/ConfigManApp.com?key=DNDOff"),
        Ok("Keys", "yealink-cgiserver", SendKeys{{"MESSAGES"}},
           "/cgi-bin/ConfigManApp.com?key=MSG")),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// Key-sequence dialing: the number is one key token, '#' typed as '$'.
INSTANTIATE_TEST_SUITE_P(
    YealinkKeys, EncodeTest,
    testing::Values(
        Ok("Dial", "yealink-keys", Dial{"2323", ""}, "/servlet?key=F_HANDFREE;2323;ENTER"),
        Ok("DialPoundIsDollar", "yealink-keys", Dial{"12#34", ""},
           "/servlet?key=F_HANDFREE;12$34;ENTER"),
        Ok("DialStar", "yealink-keys", Dial{"*31#2323", ""},
           "/servlet?key=F_HANDFREE;*31$2323;ENTER"),
        Refused("DialPlus", "yealink-keys", Dial{"+4930", ""}, kFailed,
                "number: command form \"yealink-keys\" dials" + kPlusKeyed),
        Ok("DialFromDeviceAccount", "yealink-keys", Dial{"2323", ""},
           "/servlet?key=F_HANDFREE;2323;ENTER", "1001@pbx.example"),
        Refused("DialOtherAccount", "yealink-keys", Dial{"2323", "1002@pbx.example"}, kFailed,
                CannotChooseAccount("yealink-keys", "1001@pbx.example"), "1001@pbx.example"),
        Ok("Answer", "yealink-keys", Answer{}, "/servlet?key=OK"),
        Ok("Hangup", "yealink-keys", Hangup{}, "/servlet?key=X"),
        Ok("Hold", "yealink-keys", Hold{}, "/servlet?key=F_HOLD"),
        Ok("Resume", "yealink-keys", Resume{}, "/servlet?key=F_HOLD"),
        Ok("Transfer", "yealink-keys", Transfer{"2323"}, "/servlet?key=F_TRANSFER;2323;F_TRANSFER"),
        Ok("DndOn", "yealink-keys", SetDnd{true}, "/servlet?key=DNDOn"),
        Ok("DndOff", "yealink-keys", SetDnd{false}, "/servlet?key=DNDOff"),
        Ok("Keys", "yealink-keys", SendKeys{{"HOLD", "TRANSFER", "CONFERENCE"}},
           "/servlet?key=F_HOLD;F_TRANSFER;F_CONFERENCE")),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(
    YealinkKeysLegacy, EncodeTest,
    testing::Values(
        Ok("Dial", "yealink-keys-legacy", Dial{"2323", ""},
           "/cgi-bin/ConfigManApp.com?key=F_HANDFREE;2323;ENTER"),
        Ok("DialPoundIsDollar", "yealink-keys-legacy", Dial{"12#34", ""},
           "/cgi-bin/ConfigManApp.com?key=F_HANDFREE;12$34;ENTER"),
        Refused("DialPlus", "yealink-keys-legacy", Dial{"+4930", ""}, kFailed,
                "number: command form \"yealink-keys-legacy\" dials" + kPlusKeyed),
        Ok("Answer", "yealink-keys-legacy", Answer{}, "/cgi-bin/ConfigManApp.com?key=OK"),
        Ok("Hangup", "yealink-keys-legacy", Hangup{}, "/cgi-bin/ConfigManApp.com?key=X"),
        Ok("Hold", "yealink-keys-legacy", Hold{}, "/cgi-bin/ConfigManApp.com?key=F_HOLD"),
        Ok("Resume", "yealink-keys-legacy", Resume{}, "/cgi-bin/ConfigManApp.com?key=F_HOLD"),
        Ok("Transfer", "yealink-keys-legacy", Transfer{"2323"},
           "/cgi-bin/ConfigManApp.com?key=F_TRANSFER;2323;F_TRANSFER"),
        Ok("DndOn", "yealink-keys-legacy", SetDnd{true}, "/cgi-bin/ConfigManApp.com?key=DNDOn"),
        Ok("DndOff", "yealink-keys-legacy", SetDnd{false}, "/cgi-bin/ConfigManApp.com?key=DNDOff"),
        Ok("Keys", "yealink-keys-legacy", SendKeys{{"UP", "OK"}},
           "/cgi-bin/ConfigManApp.com?key=UP;OK")),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// SNOM.

const std::string kSnomDndUnknown =
    "SNOM can only toggle DND, and this phone's DND state is unknown until it reports dnd_on or "
    "dnd_off (its DND Action URLs must be provisioned); set DND once on the phone, or press DND "
    "with SendKeys and watch the reported state";

INSTANTIATE_TEST_SUITE_P(
    Snom, EncodeTest,
    testing::Values(
        Ok("Dial", "snom", Dial{"2323", ""}, "/command.htm?number=2323"),
        Ok("DialFromAccount", "snom", Dial{"2323", "1001@pbx.example"},
           "/command.htm?number=2323&outgoing_uri=1001@pbx.example"),
        Ok("DialFromDeviceAccount", "snom", Dial{"2323", ""},
           "/command.htm?number=2323&outgoing_uri=1001@pbx.example", "1001@pbx.example"),
        Ok("DialPoundAndPlus", "snom", Dial{"+49#1*2", ""}, "/command.htm?number=%2B49%231*2"),
        Ok("Answer", "snom", Answer{}, "/command.htm?key=ENTER"),
        Ok("Hangup", "snom", Hangup{}, "/command.htm?key=CANCEL"),
        Ok("Hold", "snom", Hold{}, "/command.htm?key=F_HOLD"),
        Ok("Resume", "snom", Resume{}, "/command.htm?key=F_HOLD"),
        Ok("Transfer", "snom", Transfer{"2323"}, "/command.htm?key=TRANSFER;2;3;2;3;ENTER"),
        Ok("TransferPoundAndStar", "snom", Transfer{"1#*"},
           "/command.htm?key=TRANSFER;1;%23;*;ENTER"),
        Refused("TransferPlus", "snom", Transfer{"+4930"}, kFailed,
                "number: command form \"snom\" transfers by key presses and a SNOM keypad cannot "
                "type '+'; give the number with its international dialing prefix (e.g. 00 "
                "instead of +)"),
        Refused("DndOnUnknown", "snom", SetDnd{true}, kFailed, kSnomDndUnknown),
        Refused("DndOffUnknown", "snom", SetDnd{false}, kFailed, kSnomDndUnknown),
        Ok("DndOnFromOff", "snom", SetDnd{true}, "/command.htm?key=DND", "", false),
        Ok("DndOffFromOn", "snom", SetDnd{false}, "/command.htm?key=DND", "", true),
        Ok("DndOnAlreadyOn", "snom", SetDnd{true}, "", "", true),
        Ok("DndOffAlreadyOff", "snom", SetDnd{false}, "", "", false),
        Ok("Keys", "snom", SendKeys{{"1", "#", "*", "OK", "CANCEL", "DND"}},
           "/command.htm?key=1;%23;*;ENTER;CANCEL;DND"),
        Ok("KeysDss", "snom", SendKeys{{"DSS1", "DSS10"}}, "/command.htm?key=P1;P10"),
        Refused("KeysLine", "snom", SendKeys{{"1", "LINE2"}}, kFailed,
                "keys[1]: the snom family has no \"LINE2\" key; SNOM's line keys are P keys: use "
                "DSSn"),
        Refused("KeysMute", "snom", SendKeys{{"MUTE"}}, kFailed,
                "keys[0]: the snom family has no \"MUTE\" key")),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Softphone: Dial only.

std::string DialOnly(std::string_view command) {
  return "the softphone accepts only Dial over HTTP; " + std::string(command) +
         " has to be done in the softphone itself";
}

INSTANTIATE_TEST_SUITE_P(
    Softphone, EncodeTest,
    testing::Values(
        Ok("Dial", "softphone", Dial{"2323", ""}, "/?action=make_call&target=2323"),
        Ok("DialPoundAndPlus", "softphone", Dial{"+4930#1*", ""},
           "/?action=make_call&target=%2B4930%231*"),
        Ok("DialFromDeviceAccount", "softphone", Dial{"2323", "1001"},
           "/?action=make_call&target=2323", "1001"),
        Refused("DialOtherAccount", "softphone", Dial{"2323", "1002"}, kFailed,
                CannotChooseAccount("softphone", "1001"), "1001"),
        Refused("Answer", "softphone", Answer{}, kFailed, DialOnly("Answer")),
        Refused("Hangup", "softphone", Hangup{}, kFailed, DialOnly("Hangup")),
        Refused("Hold", "softphone", Hold{}, kFailed, DialOnly("Hold")),
        Refused("Resume", "softphone", Resume{}, kFailed, DialOnly("Resume")),
        Refused("Transfer", "softphone", Transfer{"2323"}, kFailed, DialOnly("Transfer")),
        Refused("SetDnd", "softphone", SetDnd{true}, kFailed, DialOnly("SetDnd")),
        Refused("SendKeys", "softphone", SendKeys{{"OK"}}, kFailed, DialOnly("SendKeys")),
        // A malformed field is INVALID_ARGUMENT before the family says no.
        Refused("TransferBadNumber", "softphone", Transfer{"1;2"}, kInvalid,
                "number: character ';' at position 1 is not allowed; a number is digits, '*', "
                "'#' and an optional leading '+'"),
        Refused("SendKeysBadKey", "softphone", SendKeys{{"ok"}}, kInvalid,
                "keys[0]: \"ok\" is not a key (names are upper case: \"OK\")")),
    [](const testing::TestParamInfo<Case>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Every vocabulary name on each family: mapped to this exact key, or refused.

struct KeyMapping {
  std::string_view neutral;
  std::string_view yealink;  // empty: refused
  std::string_view snom;     // empty: refused
};

constexpr KeyMapping kKeyMappings[] = {
    {"0", "0", "0"},
    {"1", "1", "1"},
    {"2", "2", "2"},
    {"3", "3", "3"},
    {"4", "4", "4"},
    {"5", "5", "5"},
    {"6", "6", "6"},
    {"7", "7", "7"},
    {"8", "8", "8"},
    {"9", "9", "9"},
    {"*", "*", "*"},
    {"#", "POUND", "%23"},
    {"OK", "OK", "ENTER"},
    {"CANCEL", "X", "CANCEL"},
    {"SPEAKER", "SPEAKER", "SPEAKER"},
    {"HEADSET", "HEADSET", "HEADSET"},
    {"MUTE", "MUTE", ""},
    {"HOLD", "F_HOLD", "F_HOLD"},
    {"TRANSFER", "F_TRANSFER", "TRANSFER"},
    {"CONFERENCE", "F_CONFERENCE", ""},
    {"REDIAL", "RD", "REDIAL"},
    {"MESSAGES", "MSG", ""},
    {"DND", "", "DND"},
    {"VOLUME_UP", "VOLUME_UP", "VOLUME_UP"},
    {"VOLUME_DOWN", "VOLUME_DOWN", "VOLUME_DOWN"},
    {"UP", "UP", "UP"},
    {"DOWN", "DOWN", "DOWN"},
    {"LEFT", "LEFT", "LEFT"},
    {"RIGHT", "RIGHT", "RIGHT"},
    {"F1", "F1", "F1"},
    {"F2", "F2", "F2"},
    {"F3", "F3", "F3"},
    {"F4", "F4", "F4"},
    {"LINE1", "L1", ""},
    {"LINE2", "L2", ""},
    {"LINE3", "L3", ""},
    {"LINE4", "L4", ""},
    {"LINE5", "L5", ""},
    {"LINE6", "L6", ""},
    {"DSS1", "D1", "P1"},
    {"DSS2", "D2", "P2"},
    {"DSS3", "D3", "P3"},
    {"DSS4", "D4", "P4"},
    {"DSS5", "D5", "P5"},
    {"DSS6", "D6", "P6"},
    {"DSS7", "D7", "P7"},
    {"DSS8", "D8", "P8"},
    {"DSS9", "D9", "P9"},
    {"DSS10", "D10", "P10"},
};

TEST(KeyMappingTest, CoversTheWholeVocabulary) {
  const auto names = KeyNames();
  ASSERT_EQ(std::size(kKeyMappings), names.size());
  for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(kKeyMappings[i].neutral, names[i]);
}

TEST(KeyMappingTest, YealinkPressesTheMappedKeyOrRefuses) {
  for (const KeyMapping& m : kKeyMappings) {
    const auto request = Encode(SendKeys{{std::string(m.neutral)}}, MakeTarget("yealink-servlet"));
    if (m.yealink.empty()) {
      ASSERT_FALSE(request.ok()) << m.neutral << " -> " << request->target;
      EXPECT_EQ(request.status().code(), kFailed) << m.neutral;
      EXPECT_FALSE(yealink::KeyName(m.neutral).has_value()) << m.neutral;
    } else {
      ASSERT_TRUE(request.ok()) << m.neutral << ": " << request.status();
      EXPECT_EQ(request->target, "/servlet?key=" + std::string(m.yealink));
      EXPECT_EQ(yealink::KeyName(m.neutral), m.yealink);
    }
  }
}

TEST(KeyMappingTest, SnomPressesTheMappedKeyOrRefuses) {
  for (const KeyMapping& m : kKeyMappings) {
    const auto request = Encode(SendKeys{{std::string(m.neutral)}}, MakeTarget("snom"));
    if (m.snom.empty()) {
      ASSERT_FALSE(request.ok()) << m.neutral << " -> " << request->target;
      EXPECT_EQ(request.status().code(), kFailed) << m.neutral;
      EXPECT_FALSE(snom::KeyName(m.neutral).has_value()) << m.neutral;
    } else {
      ASSERT_TRUE(request.ok()) << m.neutral << ": " << request.status();
      EXPECT_EQ(request->target, "/command.htm?key=" + std::string(m.snom));
      EXPECT_EQ(snom::KeyName(m.neutral), m.snom);
    }
  }
}

TEST(KeyMappingTest, SixtyFourKeysInOneRequest) {
  std::vector<std::string> keys(64, "1");
  keys.back() = "#";
  const auto request = Encode(SendKeys{keys}, MakeTarget("yealink-servlet"));
  ASSERT_TRUE(request.ok()) << request.status();
  std::string expected = "/servlet?key=";
  for (int i = 0; i < 63; ++i) expected += "1;";
  expected += "POUND";
  EXPECT_EQ(request->target, expected);
}

// ---------------------------------------------------------------------------------------------
// The injection corpus on every form: always INVALID_ARGUMENT naming the field, before any
// family-specific refusal.

const char* const kForms[] = {"yealink-servlet", "yealink-configmanapp", "yealink-cgiserver",
                              "yealink-keys",    "yealink-keys-legacy",  "snom",
                              "softphone"};

const std::vector<std::string>& BadNumbers() {
  static const std::vector<std::string> numbers = {";",
                                                   "2323;ENTER",
                                                   "12&outgoing_uri=900",
                                                   "12=3",
                                                   "2323@1",
                                                   "%",
                                                   "12%3B",
                                                   "12%23",
                                                   "12 34",
                                                   " 2323",
                                                   "2323\r\n",
                                                   "12\r\nHost: evil",
                                                   "12\0"s
                                                   "3",
                                                   "12\t3",
                                                   "\uFF11\uFF12\uFF13",
                                                   "12\uFF1B3",
                                                   "1\xff",
                                                   std::string(33, '1'),
                                                   "",
                                                   "+",
                                                   "1+2",
                                                   "12#;OK",
                                                   "$",
                                                   "12$34",
                                                   "sip:2323@pbx",
                                                   "2323?key=OK",
                                                   "2323/../x",
                                                   "2323#frag;x"};
  return numbers;
}

const std::vector<std::string>& BadAccounts() {
  static const std::vector<std::string> accounts = {";",
                                                    "1001;x",
                                                    "1001@pbx;transport=tcp",
                                                    "1001&number=900",
                                                    "a=b",
                                                    "1001@pbx@evil",
                                                    "1001%3B",
                                                    "1001 @pbx",
                                                    "1001@pbx\r\n",
                                                    "1001\0"s
                                                    "@pbx",
                                                    "1001\t",
                                                    "\uFF11001",
                                                    "1001@pbx\uFF1B",
                                                    "sip:1001@pbx",
                                                    "@pbx",
                                                    "1001@",
                                                    "1001@pbx:0",
                                                    "1001@pbx:99999",
                                                    std::string(129, 'a'),
                                                    "1001@pbx?x=1",
                                                    "1001@pbx#x",
                                                    "1001@pbx/x"};
  return accounts;
}

const std::vector<std::vector<std::string>>& BadKeys() {
  static const std::vector<std::vector<std::string>> keys = {{},
                                                             {"1;2"},
                                                             {"OK", "OK&number=900"},
                                                             {"key=OK"},
                                                             {"1@1"},
                                                             {"%3B"},
                                                             {"%23"},
                                                             {"POUND"},
                                                             {"ok"},
                                                             {""},
                                                             {"# "},
                                                             {"OK\r\n"},
                                                             {"1\0"s
                                                              "2"},
                                                             {"\t"},
                                                             {"\uFF11"},
                                                             {"\uFF1B"},
                                                             std::vector<std::string>(65, "1"),
                                                             {"LINE7"},
                                                             {"DSS11"},
                                                             {"F5"}};
  return keys;
}

TEST(InjectionTest, BadNumbersAreRefusedOnEveryFormForDialAndTransfer) {
  for (const char* form : kForms) {
    for (const std::string& number : BadNumbers()) {
      for (const Command& command : {Command{Dial{number, ""}}, Command{Transfer{number}}}) {
        const auto request = Encode(command, MakeTarget(form, "1001@pbx.example"));
        ASSERT_FALSE(request.ok()) << form << " " << CommandName(command) << " " << Quote(number)
                                   << " -> " << request->target;
        EXPECT_EQ(request.status().code(), kInvalid) << form << " " << request.status();
        EXPECT_TRUE(std::string(request.status().message()).starts_with("number: "))
            << form << " " << request.status();
      }
    }
  }
}

TEST(InjectionTest, BadAccountsAreRefusedOnEveryFormWhereverTheyComeFrom) {
  for (const char* form : kForms) {
    for (const std::string& account : BadAccounts()) {
      // From the request, and from the device (inventory or learned state).
      for (const auto& [dial, own] : {std::pair{Dial{"2323", account}, std::string()},
                                      std::pair{Dial{"2323", ""}, account}}) {
        const auto request = Encode(dial, MakeTarget(form, own));
        ASSERT_FALSE(request.ok()) << form << " " << Quote(account) << " -> " << request->target;
        EXPECT_EQ(request.status().code(), kInvalid) << form << " " << request.status();
        EXPECT_TRUE(std::string(request.status().message()).starts_with("account: "))
            << form << " " << request.status();
      }
    }
  }
}

TEST(InjectionTest, BadKeysAreRefusedOnEveryForm) {
  for (const char* form : kForms) {
    for (const auto& keys : BadKeys()) {
      const auto request = Encode(SendKeys{keys}, MakeTarget(form));
      ASSERT_FALSE(request.ok()) << form << " -> " << request->target;
      EXPECT_EQ(request.status().code(), kInvalid) << form << " " << request.status();
      EXPECT_TRUE(std::string(request.status().message()).starts_with("keys"))
          << form << " " << request.status();
    }
  }
}

// Round trip: whatever valid number goes in, the phone's own query parsing gives back exactly
// the parameters the form defines, with the number unchanged (or, typed as keys, exactly three
// key tokens). A smuggled ';', '&' or '=' would add a parameter or a token.
TEST(InjectionTest, ValidNumbersDecodeBackToThemselves) {
  const std::vector<std::string> numbers = {"2323", "12#34",      "*31#2323", "#",
                                            "*",    "0049301234", "+4930123", "+*31#"};
  struct Expect {
    const char* form;
    const char* path;
    std::vector<std::string> names;  // query parameter names, in order
  };
  const Expect expects[] = {
      {"yealink-servlet", "/servlet", {"key", "outgoing_uri"}},
      {"yealink-cgiserver", "/cgi-bin/cgiServer.exx", {"number", "outgoing_uri"}},
      {"yealink-configmanapp", "/cgi-bin/ConfigManApp.com", {"number"}},
      {"snom", "/command.htm", {"number", "outgoing_uri"}},
      {"softphone", "/", {"action", "target"}},
  };
  for (const Expect& e : expects) {
    for (const std::string& number : numbers) {
      const auto request = Encode(Dial{number, ""}, MakeTarget(e.form, "1001@pbx.example"));
      ASSERT_TRUE(request.ok()) << e.form << " " << number << ": " << request.status();
      const auto [path, query] = url::SplitTarget(request->target);
      EXPECT_EQ(path, e.path);
      const auto params = url::ParseQuery(query);
      ASSERT_TRUE(params.ok()) << params.status();
      ASSERT_EQ(params->size(), e.names.size()) << request->target;
      for (size_t i = 0; i < e.names.size(); ++i) EXPECT_EQ((*params)[i].name, e.names[i]);
      // The servlet's number rides inside key= as "number=N".
      const std::string& value = (*params)[e.names[0] == "action" ? 1 : 0].value;
      EXPECT_EQ(value, e.names[0] == "key" ? "number=" + number : number) << request->target;
      if (e.names.back() == "outgoing_uri") {
        EXPECT_EQ(params->back().value, "1001@pbx.example");
      }
      EXPECT_EQ(request->target.find(';'), std::string::npos) << request->target;
    }
  }
  for (const char* form : {"yealink-keys", "yealink-keys-legacy"}) {
    for (const std::string& number : numbers) {
      if (number.starts_with("+")) continue;  // refused: a keypad has no '+'
      const auto request = Encode(Dial{number, ""}, MakeTarget(form));
      ASSERT_TRUE(request.ok()) << form << " " << number << ": " << request.status();
      const auto params = url::ParseQuery(url::SplitTarget(request->target).second);
      ASSERT_TRUE(params.ok()) << params.status();
      ASSERT_EQ(params->size(), 1u) << request->target;
      std::string keyed = number;
      for (char& c : keyed) {
        if (c == '#') c = '$';
      }
      EXPECT_EQ((*params)[0].value, "F_HANDFREE;" + keyed + ";ENTER");
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The dispatcher and the vocabulary helpers.

TEST(DispatchTest, FamilyDecidesNotFormName) {
  Target target = MakeTarget("snom");
  target.form.name = "yealink-servlet";  // a label only: the family picks the encoder
  const auto request = Encode(Answer{}, target);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->target, "/command.htm?key=ENTER");
}

TEST(DispatchTest, UnknownFamilyIsFailedPrecondition) {
  Target target = MakeTarget("snom");
  target.form.family = static_cast<Family>(42);
  target.form.name = "odd";
  const auto request = Encode(Answer{}, target);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(request.status().code(), kFailed);
  EXPECT_EQ(std::string(request.status().message()),
            "command form \"odd\" names no known phone family");
}

TEST(DispatchTest, YealinkKeysOnlyGoToKnownPaths) {
  Target target = MakeTarget("yealink-servlet");
  target.form.keys_path = "/servlet?key=OK&x=";
  const auto request = Encode(Answer{}, target);
  ASSERT_FALSE(request.ok()) << request->target;
  EXPECT_EQ(request.status().code(), kFailed);
  EXPECT_EQ(std::string(request.status().message()),
            "command form \"yealink-servlet\" has keys_path \"/servlet?key=OK&x=\"; Yealink takes "
            "keys on /servlet or /cgi-bin/ConfigManApp.com");
}

TEST(DispatchTest, MaxNumberLengthComesFromTheTarget) {
  Target target = MakeTarget("snom");
  target.max_number_length = 4;
  EXPECT_TRUE(Encode(Dial{"1234", ""}, target).ok());
  const auto request = Encode(Dial{"12345", ""}, target);
  ASSERT_FALSE(request.ok());
  EXPECT_EQ(std::string(request.status().message()),
            "number: is 5 characters long; at most 4 are allowed");
}

TEST(CommandNameTest, IsTheRpcName) {
  EXPECT_STREQ(CommandName(Dial{}), "Dial");
  EXPECT_STREQ(CommandName(Answer{}), "Answer");
  EXPECT_STREQ(CommandName(Hangup{}), "Hangup");
  EXPECT_STREQ(CommandName(Hold{}), "Hold");
  EXPECT_STREQ(CommandName(Resume{}), "Resume");
  EXPECT_STREQ(CommandName(Transfer{}), "Transfer");
  EXPECT_STREQ(CommandName(SetDnd{}), "SetDnd");
  EXPECT_STREQ(CommandName(SendKeys{}), "SendKeys");
}

TEST(FamilyNameTest, IsLowerCase) {
  EXPECT_STREQ(FamilyName(Family::kYealink), "yealink");
  EXPECT_STREQ(FamilyName(Family::kSnom), "snom");
  EXPECT_STREQ(FamilyName(Family::kSoftphone), "softphone");
}

TEST(CarriedOutTest, TwoHundredsAndOnlySnomsOwnRedirect) {
  for (const Family f : {Family::kYealink, Family::kSnom, Family::kSoftphone}) {
    EXPECT_TRUE(CarriedOut(f, 200)) << FamilyName(f);
    EXPECT_TRUE(CarriedOut(f, 204)) << FamilyName(f);
    EXPECT_FALSE(CarriedOut(f, 301)) << FamilyName(f);  // e.g. to HTTPS: nothing was done
    EXPECT_FALSE(CarriedOut(f, 401)) << FamilyName(f);
  }
  EXPECT_TRUE(CarriedOut(Family::kSnom, 302));  // command.htm's answer
  EXPECT_FALSE(CarriedOut(Family::kYealink, 302));
  EXPECT_FALSE(CarriedOut(Family::kSoftphone, 302));
}

TEST(QueryHelpersTest, EncodeWhatAQueryWouldMisread) {
  EXPECT_EQ(QueryNumber("+49*1#"), "%2B49*1%23");
  // Defensive: even unvalidated input cannot add a parameter or a key.
  EXPECT_EQ(QueryNumber("1;2&x=3"), "1%3B2%26x%3D3");
  EXPECT_EQ(QueryAccount("+49.a_b-c@pbx.example:5060"), "%2B49.a_b-c@pbx.example:5060");
  EXPECT_EQ(QueryAccount("a;b&c=d"), "a%3Bb%26c%3Dd");
}

}  // namespace
}  // namespace phonebus::command
