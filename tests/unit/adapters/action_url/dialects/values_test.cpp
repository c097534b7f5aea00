// The helpers every dialect shares: reading values the way phones fill them, and normalising
// MACs, parties and accounts.
#include "dialects/values.h"

#include <optional>
#include <string>
#include <string_view>

#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace phonebus::adapter {
namespace {

struct MacCase {
  std::string_view in;
  std::string_view want;
  // Failure messages name the case instead of dumping its bytes.
  friend void PrintTo(const MacCase& c, std::ostream* os) { *os << c.in; }
};

class NormalizeMacTest : public testing::TestWithParam<MacCase> {};

TEST_P(NormalizeMacTest, Normalizes) {
  EXPECT_EQ(NormalizeMac(GetParam().in), GetParam().want) << GetParam().in;
}

INSTANTIATE_TEST_SUITE_P(Spellings, NormalizeMacTest,
                         testing::Values(MacCase{"00:15:65:AA:BB:CC", "001565aabbcc"},
                                         MacCase{"00-15-65-aa-bb-cc", "001565aabbcc"},
                                         MacCase{"0015.65aa.bbcc", "001565aabbcc"},
                                         MacCase{"001565AABBCC", "001565aabbcc"},
                                         MacCase{"001565aabbcc", "001565aabbcc"},
                                         MacCase{"00 15 65 aa bb cc", "001565aabbcc"},
                                         MacCase{"", ""}, MacCase{"001565aabb", ""},
                                         MacCase{"001565aabbccdd", ""},
                                         MacCase{"00:15:65:AA:BB:GG", ""}, MacCase{"$mac", ""}));

struct PartyCase {
  std::optional<std::string_view> uri_or_number;
  std::optional<std::string_view> display_name;
  std::string_view want;  // Party in text format
};

class ParsePartyTest : public testing::TestWithParam<PartyCase> {};

TEST_P(ParsePartyTest, Parses) {
  const PartyCase& c = GetParam();
  v1::Party want;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(c.want), &want));
  const v1::Party got = ParseParty(c.uri_or_number, c.display_name);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(want, got))
      << "want: " << want.ShortDebugString() << "\ngot:  " << got.ShortDebugString();
}

INSTANTIATE_TEST_SUITE_P(
    Forms, ParsePartyTest,
    testing::Values(PartyCase{"+4930123456", std::nullopt, R"pb(number: "+4930123456")pb"},
                    PartyCase{"1001", "Agent One",
                              R"pb(number: "1001" display_name: "Agent One")pb"},
                    PartyCase{"1001@pbx.example", std::nullopt, R"pb(number: "1001"
                                                                     uri: "1001@pbx.example")pb"},
                    PartyCase{"sip:1001@pbx.example", std::nullopt,
                              R"pb(number: "1001" uri: "1001@pbx.example")pb"},
                    PartyCase{"SIP:1001@pbx.example", std::nullopt,
                              R"pb(number: "1001" uri: "1001@pbx.example")pb"},
                    PartyCase{"sips:1001@pbx.example:5061", std::nullopt,
                              R"pb(number: "1001" uri: "1001@pbx.example:5061")pb"},
                    PartyCase{"tel:+4930123456", std::nullopt, R"pb(number: "+4930123456")pb"},
                    PartyCase{"<sip:+4930123456@carrier.example>", std::nullopt,
                              R"pb(number: "+4930123456" uri: "+4930123456@carrier.example")pb"},
                    PartyCase{"\"Bob\" <sip:1002@pbx.example>;tag=abc", "Bob",
                              R"pb(number: "1002" uri: "1002@pbx.example" display_name: "Bob")pb"},
                    PartyCase{"sip:+4930123456@carrier.example;user=phone", std::nullopt,
                              R"pb(number: "+4930123456" uri: "+4930123456@carrier.example")pb"},
                    PartyCase{std::nullopt, "Jürgen Müller",
                              R"pb(display_name: "Jürgen Müller")pb"},
                    PartyCase{std::nullopt, std::nullopt, ""}));

TEST(ValueTest, ReadsWhatPhonesFill) {
  const url::Query query = {{"remote", "+4930123456"}, {"empty", ""},
                            {"yealink", "$remote"},    {"softphone", "<$remote_party>"},
                            {"twice", "first"},        {"twice", "second"},
                            {"dollar_inside", "12$34"}};
  EXPECT_EQ(Value(query, "remote"), "+4930123456");
  EXPECT_EQ(Value(query, "missing"), std::nullopt);
  EXPECT_EQ(Value(query, "empty"), std::nullopt);
  EXPECT_EQ(Value(query, "yealink"), std::nullopt);
  EXPECT_EQ(Value(query, "softphone"), std::nullopt);
  EXPECT_EQ(Value(query, "twice"), "first");
  EXPECT_EQ(Value(query, "dollar_inside"), "12$34");
  EXPECT_EQ(Value(query, "REMOTE"), std::nullopt) << "names are case-sensitive";
}

TEST(IsUnsubstitutedTest, Variables) {
  EXPECT_TRUE(IsUnsubstituted("$remote"));
  EXPECT_TRUE(IsUnsubstituted("$call-id"));
  EXPECT_TRUE(IsUnsubstituted("<$remote_party>"));
  EXPECT_FALSE(IsUnsubstituted("+4930123456"));
  EXPECT_FALSE(IsUnsubstituted("<sip:1001@pbx>"));
  EXPECT_FALSE(IsUnsubstituted(""));
}

struct AccountCase {
  std::optional<std::string_view> uri, user, host;
  std::string_view want;
};

class AccountTest : public testing::TestWithParam<AccountCase> {};

TEST_P(AccountTest, Picks) {
  const AccountCase& c = GetParam();
  EXPECT_EQ(Account(c.uri, c.user, c.host), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Sources, AccountTest,
    testing::Values(AccountCase{"sip:1001@pbx.example", "x", "y", "1001@pbx.example"},
                    AccountCase{"1001@pbx.example", std::nullopt, std::nullopt, "1001@pbx.example"},
                    AccountCase{"<sip:1001@pbx.example>", std::nullopt, std::nullopt,
                                "1001@pbx.example"},
                    AccountCase{"1001", "1001", "pbx.example", "1001@pbx.example"},
                    AccountCase{std::nullopt, "1001", "pbx.example", "1001@pbx.example"},
                    AccountCase{std::nullopt, "1001", std::nullopt, "1001"},
                    AccountCase{"1001", std::nullopt, std::nullopt, ""},
                    AccountCase{std::nullopt, std::nullopt, "pbx.example", ""},
                    AccountCase{std::nullopt, std::nullopt, std::nullopt, ""}));

struct KindFactsCase {
  v1::EventKind kind;
  std::string_view want;  // PhoneEvent in text format, kind included
};

class SetKindFactsTest : public testing::TestWithParam<KindFactsCase> {};

TEST_P(SetKindFactsTest, Sets) {
  v1::PhoneEvent want;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(std::string(GetParam().want), &want));
  v1::PhoneEvent event;
  event.set_kind(GetParam().kind);
  SetKindFacts(event);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(want, event))
      << "want: " << want.ShortDebugString() << "\ngot:  " << event.ShortDebugString();
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, SetKindFactsTest,
    testing::Values(
        KindFactsCase{v1::EVENT_KIND_DND_ON, "kind: EVENT_KIND_DND_ON dnd: true"},
        KindFactsCase{v1::EVENT_KIND_DND_OFF, "kind: EVENT_KIND_DND_OFF dnd: false"},
        KindFactsCase{v1::EVENT_KIND_FORWARD_ON,
                      "kind: EVENT_KIND_FORWARD_ON forwarding { enabled: true }"},
        KindFactsCase{v1::EVENT_KIND_FORWARD_OFF, "kind: EVENT_KIND_FORWARD_OFF forwarding {}"},
        KindFactsCase{v1::EVENT_KIND_REGISTERED,
                      "kind: EVENT_KIND_REGISTERED "
                      "registration { status: REGISTRATION_STATUS_REGISTERED }"},
        KindFactsCase{v1::EVENT_KIND_UNREGISTERED,
                      "kind: EVENT_KIND_UNREGISTERED "
                      "registration { status: REGISTRATION_STATUS_UNREGISTERED }"},
        KindFactsCase{v1::EVENT_KIND_REGISTER_FAILED,
                      "kind: EVENT_KIND_REGISTER_FAILED "
                      "registration { status: REGISTRATION_STATUS_FAILED }"},
        KindFactsCase{v1::EVENT_KIND_CALL_HOLD,
                      "kind: EVENT_KIND_CALL_HOLD call { hold: HOLD_STATE_ON_HOLD }"},
        KindFactsCase{v1::EVENT_KIND_CALL_UNHOLD,
                      "kind: EVENT_KIND_CALL_UNHOLD call { hold: HOLD_STATE_OFF_HOLD }"},
        KindFactsCase{v1::EVENT_KIND_CALL_INCOMING, "kind: EVENT_KIND_CALL_INCOMING"},
        KindFactsCase{v1::EVENT_KIND_OTHER, "kind: EVENT_KIND_OTHER"}));

TEST(TrimTrailingSlashTest, Trims) {
  EXPECT_EQ(TrimTrailingSlash("http://127.0.0.1:8080/"), "http://127.0.0.1:8080");
  EXPECT_EQ(TrimTrailingSlash("http://127.0.0.1:8080//"), "http://127.0.0.1:8080");
  EXPECT_EQ(TrimTrailingSlash("https://pb.example/t/abc"), "https://pb.example/t/abc");
  EXPECT_EQ(TrimTrailingSlash(""), "");
}

}  // namespace
}  // namespace phonebus::adapter
