// Field validation: what a number, an account and a key list may contain, and the exact message
// when they contain anything else. Hostile input must be refused, named by field, and shown
// escaped, never echoed raw.
#include "validate.h"

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace phonebus::command {
namespace {

using namespace std::string_literals;

constexpr std::string_view kNumberRule =
    "; a number is digits, '*', '#' and an optional leading '+'";

// No control bytes and nothing outside printable ASCII, whatever the input was.
bool IsPrintable(std::string_view s) {
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c >= 0x7F) return false;
  }
  return true;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// ---------------------------------------------------------------------------------------------
// Numbers.

TEST(ValidateNumberTest, AcceptsDialableNumbers) {
  for (const std::string_view number : {"2323", "+4930123456", "*31#2323", "#", "*", "12#34", "0",
                                        "+1", "+*31#", "12345678901234567890123456789012"}) {
    EXPECT_TRUE(ValidateNumber("number", number, 32).ok()) << number;
  }
}

struct RefusedCase {
  std::string name;
  std::string input;
  std::string message;  // exact
  friend void PrintTo(const RefusedCase& c, std::ostream* os) { *os << c.name; }
};

class NumberRefusedTest : public testing::TestWithParam<RefusedCase> {};

TEST_P(NumberRefusedTest, IsInvalidArgumentNamingTheField) {
  const RefusedCase& c = GetParam();
  const absl::Status status = ValidateNumber("number", c.input, 32);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), c.message);
  EXPECT_TRUE(IsPrintable(Message(status))) << Message(status);
}

std::string Bad(std::string_view what) {
  return "number: " + std::string(what) + " is not allowed" + std::string(kNumberRule);
}

INSTANTIATE_TEST_SUITE_P(
    Injection, NumberRefusedTest,
    testing::Values(
        RefusedCase{"Semicolon", "2323;ENTER", Bad("character ';' at position 4")},
        RefusedCase{"SemicolonAlone", ";", Bad("character ';' at position 0")},
        RefusedCase{"Ampersand", "12&outgoing_uri=x", Bad("character '&' at position 2")},
        RefusedCase{"Equals", "12=3", Bad("character '=' at position 2")},
        RefusedCase{"At", "2323@1", Bad("character '@' at position 4")},
        RefusedCase{"Percent", "%", Bad("character '%' at position 0")},
        RefusedCase{"PercentEncodedSemicolon", "12%3B", Bad("character '%' at position 2")},
        RefusedCase{"Space", "12 34", Bad("character ' ' (space) at position 2")},
        RefusedCase{"CrLf", "12\r\nX", Bad("character \\x0d at position 2")},
        RefusedCase{"Nul",
                    "12\0"s
                    "3",
                    Bad("character \\x00 at position 2")},
        RefusedCase{"Tab", "12\t3", Bad("character \\x09 at position 2")},
        RefusedCase{"Del", "12\x7f", Bad("character \\x7f at position 2")},
        RefusedCase{"Letters", "12ab", Bad("character 'a' at position 2")},
        RefusedCase{"Dollar", "12$34", Bad("character '$' at position 2")},
        RefusedCase{"SipUri", "sip:2323", Bad("character 's' at position 0")},
        RefusedCase{"FullwidthDigits", "\uFF11\uFF12", Bad("character U+FF11 at position 0")},
        RefusedCase{"FullwidthSemicolon", "12\uFF1B3", Bad("character U+FF1B at position 2")},
        RefusedCase{"ArabicIndicDigit", "1\u0663", Bad("character U+0663 at position 1")},
        RefusedCase{"InvalidUtf8", "1\xff", Bad("byte \\xff at position 1")},
        RefusedCase{"TruncatedUtf8", "1\xef\xbc", Bad("byte \\xef at position 1")},
        RefusedCase{"Empty", "", "number: is empty" + std::string(kNumberRule)},
        RefusedCase{"PlusAlone", "+",
                    "number: '+' alone is not a number" + std::string(kNumberRule)},
        RefusedCase{"PlusInside", "1+2",
                    "number: '+' at position 1 is only allowed as the first character" +
                        std::string(kNumberRule)},
        RefusedCase{"DoublePlus", "++1",
                    "number: '+' at position 1 is only allowed as the first character" +
                        std::string(kNumberRule)},
        RefusedCase{"Overlong", std::string(33, '1'),
                    "number: is 33 characters long; at most 32 are allowed"},
        RefusedCase{"OverlongGarbage", std::string(5000, ';'), Bad("character ';' at position 0")}),
    [](const testing::TestParamInfo<RefusedCase>& info) { return info.param.name; });

TEST(ValidateNumberTest, NamesTheFieldItIsGiven) {
  EXPECT_EQ(
      Message(ValidateNumber("transfer.number", "1;2", 32)),
      "transfer.number: character ';' at position 1 is not allowed" + std::string(kNumberRule));
}

TEST(ValidateNumberTest, AppliesTheGivenMaximum) {
  EXPECT_TRUE(ValidateNumber("number", "1234", 4).ok());
  EXPECT_EQ(Message(ValidateNumber("number", "12345", 4)),
            "number: is 5 characters long; at most 4 are allowed");
}

// ---------------------------------------------------------------------------------------------
// Keys.

TEST(KeyNamesTest, IsTheVocabularyOfControlProto) {
  const std::vector<std::string_view> expected = {
      "0",        "1",       "2",         "3",           "4",        "5",          "6",
      "7",        "8",       "9",         "*",           "#",        "OK",         "CANCEL",
      "SPEAKER",  "HEADSET", "MUTE",      "HOLD",        "TRANSFER", "CONFERENCE", "REDIAL",
      "MESSAGES", "DND",     "VOLUME_UP", "VOLUME_DOWN", "UP",       "DOWN",       "LEFT",
      "RIGHT",    "F1",      "F2",        "F3",          "F4",       "LINE1",      "LINE2",
      "LINE3",    "LINE4",   "LINE5",     "LINE6",       "DSS1",     "DSS2",       "DSS3",
      "DSS4",     "DSS5",    "DSS6",      "DSS7",        "DSS8",     "DSS9",       "DSS10"};
  const auto names = KeyNames();
  EXPECT_EQ(std::vector<std::string_view>(names.begin(), names.end()), expected);
  for (const std::string_view name : expected) EXPECT_TRUE(IsKey(name)) << name;
}

TEST(KeyNamesTest, IsExactAndUpperCase) {
  for (const std::string_view name :
       {"", "ok", "Ok", "POUND", "F_HOLD", "X", "F5", "F0", "LINE0", "LINE7", "DSS0", "DSS11", "10",
        "##", " OK", "OK ", "OK;OK"}) {
    EXPECT_FALSE(IsKey(name)) << name;
  }
}

TEST(ValidateKeysTest, AcceptsEveryNameAndUpToSixtyFour) {
  const auto names = KeyNames();
  EXPECT_TRUE(ValidateKeys(std::vector<std::string>(names.begin(), names.end())).ok());
  EXPECT_TRUE(ValidateKeys(std::vector<std::string>(64, "1")).ok());
}

TEST(ValidateKeysTest, RefusesEmptyAndTooMany) {
  EXPECT_EQ(ValidateKeys({}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(ValidateKeys({})), "keys: at least one key is required");
  const absl::Status too_many = ValidateKeys(std::vector<std::string>(65, "1"));
  EXPECT_EQ(too_many.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(too_many), "keys: 65 keys; at most 64 per request");
}

constexpr std::string_view kKeyList =
    "; keys are \"0\"..\"9\", \"*\", \"#\", OK, CANCEL, SPEAKER, HEADSET, MUTE, HOLD, TRANSFER, "
    "CONFERENCE, REDIAL, MESSAGES, DND, VOLUME_UP, VOLUME_DOWN, UP, DOWN, LEFT, RIGHT, F1..F4, "
    "LINE1..LINE6, DSS1..DSS10";

struct KeysCase {
  std::string name;
  std::vector<std::string> keys;
  std::string message;  // exact
  friend void PrintTo(const KeysCase& c, std::ostream* os) { *os << c.name; }
};

class KeysRefusedTest : public testing::TestWithParam<KeysCase> {};

TEST_P(KeysRefusedTest, IsInvalidArgumentNamingTheIndex) {
  const KeysCase& c = GetParam();
  const absl::Status status = ValidateKeys(c.keys);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), c.message);
  EXPECT_TRUE(IsPrintable(Message(status))) << Message(status);
}

KeysCase NotAKey(std::string name, std::vector<std::string> keys, size_t index,
                 std::string_view shown) {
  return KeysCase{std::move(name), std::move(keys),
                  "keys[" + std::to_string(index) + "]: " + std::string(shown) + " is not a key" +
                      std::string(kKeyList)};
}

INSTANTIATE_TEST_SUITE_P(
    Injection, KeysRefusedTest,
    testing::Values(NotAKey("Joined", {"1;2"}, 0, "\"1;2\""),
                    NotAKey("Smuggled", {"OK", "OK&number=900"}, 1, "\"OK&number=900\""),
                    NotAKey("Equals", {"key=OK"}, 0, "\"key=OK\""),
                    NotAKey("At", {"1@1"}, 0, "\"1@1\""),
                    NotAKey("PercentSemicolon", {"0", "%3B"}, 1, "\"%3B\""),
                    NotAKey("Percent23", {"%23"}, 0, "\"%23\""),
                    NotAKey("VendorName", {"POUND"}, 0, "\"POUND\""),
                    NotAKey("YealinkName", {"F_HOLD"}, 0, "\"F_HOLD\""),
                    NotAKey("LineSeven", {"LINE7"}, 0, "\"LINE7\""),
                    NotAKey("DssEleven", {"DSS11"}, 0, "\"DSS11\""),
                    NotAKey("Empty", {"1", ""}, 1, "\"\""), NotAKey("Space", {"# "}, 0, "\"# \""),
                    NotAKey("CrLf", {"OK\r\nX"}, 0, "\"OK\\x0d\\x0aX\""),
                    NotAKey("Nul",
                            {"1\0"s
                             "2"},
                            0, "\"1\\x002\""),
                    NotAKey("Fullwidth", {"\uFF11"}, 0, "\"\\xef\\xbc\\x91\""),
                    NotAKey("FullwidthSemicolon", {"\uFF1B"}, 0, "\"\\xef\\xbc\\x9b\""),
                    NotAKey("Quote", {"\"\\"}, 0, "\"\\\"\\\\\""),
                    NotAKey("Long", {std::string(100, 'A')}, 0,
                            "\"" + std::string(64, 'A') + "\"... (100 bytes)"),
                    KeysCase{"LowerCase",
                             {"OK", "ok"},
                             "keys[1]: \"ok\" is not a key (names are upper case: \"OK\")"},
                    KeysCase{"MixedCaseDss",
                             {"Dss3"},
                             "keys[0]: \"Dss3\" is not a key (names are upper case: \"DSS3\")"}),
    [](const testing::TestParamInfo<KeysCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Accounts.

TEST(ValidateAccountTest, AcceptsSipAccounts) {
  for (const std::string_view account :
       {"1001", "1001@pbx.example", "1001@pbx.example:5060", "+4930123@sip.example.com",
        "agent.one_2-x@10.0.0.1", "a@b:1", "a@b:65535", "user@host_name.local"}) {
    EXPECT_TRUE(ValidateAccount("account", account).ok()) << account;
  }
}

constexpr std::string_view kAccountRule =
    "; an account is user or user@host[:port] of letters, digits, '.', '_', '-' (and '+' in the "
    "user)";

class AccountRefusedTest : public testing::TestWithParam<RefusedCase> {};

TEST_P(AccountRefusedTest, IsInvalidArgumentNamingTheField) {
  const RefusedCase& c = GetParam();
  const absl::Status status = ValidateAccount("account", c.input);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(status), c.message);
  EXPECT_TRUE(IsPrintable(Message(status))) << Message(status);
}

std::string BadAccount(std::string_view what) {
  return "account: " + std::string(what) + std::string(kAccountRule);
}

INSTANTIATE_TEST_SUITE_P(
    Injection, AccountRefusedTest,
    testing::Values(
        RefusedCase{"Empty", "", BadAccount("is empty")},
        RefusedCase{"Semicolon", "1001;x",
                    BadAccount("character ';' at position 4 is not allowed in the user")},
        RefusedCase{"SemicolonInHost", "1001@pbx;transport=tcp",
                    BadAccount("character ';' at position 8 is not allowed in the host")},
        RefusedCase{"Ampersand", "1001&number=900",
                    BadAccount("character '&' at position 4 is not allowed in the user")},
        RefusedCase{"Equals", "a=b",
                    BadAccount("character '=' at position 1 is not allowed in the user")},
        RefusedCase{"SecondAt", "1001@pbx@evil",
                    BadAccount("a second '@' at position 8 is not allowed")},
        RefusedCase{"Percent", "1001%3B",
                    BadAccount("character '%' at position 4 is not allowed in the user")},
        RefusedCase{"Space", "1001 @pbx",
                    BadAccount("character ' ' (space) at position 4 is not allowed in the user")},
        RefusedCase{"CrLf", "1001@pbx\r\n",
                    BadAccount("character \\x0d at position 8 is not allowed in the host")},
        RefusedCase{"Nul",
                    "1001\0"s
                    "@pbx",
                    BadAccount("character \\x00 at position 4 is not allowed in the user")},
        RefusedCase{"Tab", "1001\t",
                    BadAccount("character \\x09 at position 4 is not allowed in the user")},
        RefusedCase{"Fullwidth", "\uFF11001",
                    BadAccount("character U+FF11 at position 0 is not allowed in the user")},
        RefusedCase{"FullwidthSemicolon", "1001@pbx\uFF1B",
                    BadAccount("character U+FF1B at position 8 is not allowed in the host")},
        RefusedCase{"SipScheme", "sip:1001@pbx",
                    BadAccount("character ':' at position 3 is not allowed in the user")},
        RefusedCase{"PlusInHost", "1001@pb+x",
                    BadAccount("character '+' at position 7 is not allowed in the host")},
        RefusedCase{"LetterInPort", "1001@pbx:50a",
                    BadAccount("character 'a' at position 11 is not allowed in the port")},
        RefusedCase{"SecondColon", "1001@pbx:5060:1",
                    BadAccount("character ':' at position 13 is not allowed in the port")},
        RefusedCase{"NoUser", "@pbx", BadAccount("the user before '@' is empty")},
        RefusedCase{"NoHost", "1001@", BadAccount("the host after '@' is empty")},
        RefusedCase{"OnlyPort", "1001@:5060", BadAccount("the host after '@' is empty")},
        RefusedCase{"PortZero", "1001@pbx:0", "account: port \"0\" is not 1..65535"},
        RefusedCase{"PortTooBig", "1001@pbx:65536", "account: port \"65536\" is not 1..65535"},
        RefusedCase{
            "PortHuge", "1001@pbx:" + std::string(100, '9'),
            "account: port \"" + std::string(64, '9') + "\"... (100 bytes) is not 1..65535"},
        RefusedCase{"PortEmpty", "1001@pbx:", "account: port \"\" is not 1..65535"},
        RefusedCase{"Overlong", std::string(129, 'a'),
                    "account: is 129 characters long; at most 128 are allowed"}),
    [](const testing::TestParamInfo<RefusedCase>& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Quote.

TEST(QuoteTest, EscapesWhatCouldHarmALogLine) {
  EXPECT_EQ(Quote("plain"), "\"plain\"");
  EXPECT_EQ(Quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(Quote("\r\n\x1b[31m"), "\"\\x0d\\x0a\\x1b[31m\"");
  EXPECT_EQ(Quote("\u202E"), "\"\\xe2\\x80\\xae\"");
  EXPECT_EQ(Quote("abcdef", 3), "\"abc\"... (6 bytes)");
}

}  // namespace
}  // namespace phonebus::command
