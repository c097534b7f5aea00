// The command-form rule table: the shipped defaults choose the right generation for real model
// and firmware strings, custom tables parse and match as documented, and every parse error names
// the rule and field to fix.
#include "command_forms.h"

#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace phonebus::command {
namespace {

std::string Message(const absl::Status& status) { return std::string(status.message()); }

struct ChooseCase {
  std::string name;
  std::string vendor, model, firmware;
  std::string form;  // expected Form.name
  friend void PrintTo(const ChooseCase& c, std::ostream* os) { *os << c.name; }
};

class DefaultsChooseTest : public testing::TestWithParam<ChooseCase> {};

TEST_P(DefaultsChooseTest, PicksTheForm) {
  const ChooseCase& c = GetParam();
  const auto form = CommandForms::Defaults().Choose(c.vendor, c.model, c.firmware);
  ASSERT_TRUE(form.ok()) << form.status();
  EXPECT_EQ(form->name, c.form);
}

INSTANTIATE_TEST_SUITE_P(
    Samples, DefaultsChooseTest,
    testing::Values(
        ChooseCase{"T46S_V86", "yealink", "T46S", "66.86.0.15", "yealink-servlet"},
        ChooseCase{"SipT46S_V86", "yealink", "SIP-T46S", "66.86.0.15", "yealink-servlet"},
        ChooseCase{"T54W", "yealink", "SIP-T54W", "96.86.0.70", "yealink-servlet"},
        ChooseCase{"T38G", "yealink", "T38G", "38.70.0.185", "yealink-cgiserver"},
        ChooseCase{"SipT38G", "yealink", "SIP-T38G", "38.70.0.185", "yealink-cgiserver"},
        ChooseCase{"T32G", "yealink", "T32G", "32.70.0.100", "yealink-cgiserver"},
        ChooseCase{"T38GUnknownFirmware", "yealink", "T38G", "", "yealink-cgiserver"},
        ChooseCase{"T21P_V70", "yealink", "T21P", "9.70.0.100", "yealink-configmanapp"},
        ChooseCase{"SipT23G_V70", "yealink", "SIP-T23G", "44.70.0.10", "yealink-configmanapp"},
        ChooseCase{"T21P_V61", "yealink", "T21P", "9.61.0.5", "yealink-configmanapp"},
        ChooseCase{"T21P_V84", "yealink", "T21P", "52.84.0.10", "yealink-servlet"},
        ChooseCase{"T23G_V71", "yealink", "SIP-T23G", "44.71.0.10", "yealink-servlet"},
        ChooseCase{"T21PUnknownFirmware", "yealink", "T21P", "", "yealink-servlet"},
        ChooseCase{"T46G_V70IsNotT2x", "yealink", "SIP-T46G", "28.70.0.1", "yealink-servlet"},
        ChooseCase{"VendorCase", "Yealink", "sip-t21p", "9.70.0.100", "yealink-configmanapp"},
        ChooseCase{"Fanvil", "fanvil", "X4U", "2.12.1", "yealink-servlet"},
        ChooseCase{"FanvilUpper", "FANVIL", "", "", "yealink-servlet"},
        ChooseCase{"SnomD785", "snom", "D785", "10.1.46.16", "snom"},
        ChooseCase{"SnomNoModel", "SNOM", "", "", "snom"},
        ChooseCase{"Softphone", "softphone", "", "", "softphone"}),
    [](const testing::TestParamInfo<ChooseCase>& info) { return info.param.name; });

TEST(CommandFormsTest, UnknownVendorIsFailedPrecondition) {
  const auto form = CommandForms::Defaults().Choose("cisco", "SPA504G", "7.6.2");
  ASSERT_FALSE(form.ok()) << form->name;
  EXPECT_EQ(form.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Message(form.status()),
            "no command form for vendor \"cisco\" model \"SPA504G\" firmware \"7.6.2\"; add a rule "
            "to the command-forms file");
}

TEST(CommandFormsTest, NoMatchMessageEscapesWhatThePhoneSent) {
  const auto form = CommandForms::Defaults().Choose("", "T\r\n", "\"x\"");
  ASSERT_FALSE(form.ok());
  EXPECT_EQ(Message(form.status()),
            "no command form for vendor \"\" model \"T\\x0d\\x0a\" firmware \"\\\"x\\\"\"; add a "
            "rule to the command-forms file");
}

// The digit limit is for repeat counts and back-references only: a long number after a literal
// ',', an escaped '{' or a '{' in a bracket is text, and the pattern is taken.
TEST(CommandFormsTest, LongNumbersOutsideRepeatsAreText) {
  const auto forms = CommandForms::Parse(
      R"({"rules": [{"vendor": "yealink", "firmware": "^1,123456$|^[{,]9876543$|^v\\{123456\\}$", "form": "snom"}]})");
  ASSERT_TRUE(forms.ok()) << forms.status();
  for (const char* firmware : {"1,123456", "{9876543", ",9876543", "v{123456}"}) {
    EXPECT_TRUE(forms->Choose("yealink", "", firmware).ok()) << firmware;
  }
  EXPECT_FALSE(forms->Choose("yealink", "", "1,12345").ok());
}

TEST(CommandFormsTest, OverlongInputIsRefusedBeforeMatching) {
  const auto form = CommandForms::Defaults().Choose("yealink", std::string(257, 'T'), "");
  ASSERT_FALSE(form.ok());
  EXPECT_EQ(form.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(form.status()), "model: is 257 bytes long; at most 256 are allowed");
  EXPECT_TRUE(CommandForms::Defaults().Choose("yealink", std::string(256, 'T'), "").ok());
}

TEST(CommandFormsTest, ChosenFormIsTheNamedForm) {
  const auto chosen = CommandForms::Defaults().Choose("yealink", "T21P", "9.70.0.100");
  ASSERT_TRUE(chosen.ok()) << chosen.status();
  EXPECT_EQ(chosen->family, Family::kYealink);
  EXPECT_EQ(chosen->yealink_dial, YealinkDial::kConfigManApp);
  EXPECT_EQ(chosen->keys_path, "/cgi-bin/ConfigManApp.com");
  EXPECT_EQ(chosen->name, "yealink-configmanapp");
}

// The embedded table is the shipped file, byte for byte: no stale copy in the binary.
TEST(CommandFormsTest, DefaultJsonIsTheShippedFile) {
  std::ifstream in(PHONEBUS_COMMAND_FORMS_JSON);
  ASSERT_TRUE(in) << PHONEBUS_COMMAND_FORMS_JSON;
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(CommandForms::DefaultJson(), file.str());
  EXPECT_EQ(CommandForms::Defaults().size(), 6u);
}

// ---------------------------------------------------------------------------------------------
// Named forms.

struct NamedCase {
  std::string name;
  Family family;
  YealinkDial dial;
  std::string keys_path;
};

TEST(CommandFormsTest, NamedFormsAreBuiltIn) {
  const NamedCase cases[] = {
      {"yealink-servlet", Family::kYealink, YealinkDial::kServlet, "/servlet"},
      {"yealink-configmanapp", Family::kYealink, YealinkDial::kConfigManApp,
       "/cgi-bin/ConfigManApp.com"},
      {"yealink-cgiserver", Family::kYealink, YealinkDial::kCgiServer, "/cgi-bin/ConfigManApp.com"},
      {"yealink-keys", Family::kYealink, YealinkDial::kKeySequence, "/servlet"},
      {"yealink-keys-legacy", Family::kYealink, YealinkDial::kKeySequence,
       "/cgi-bin/ConfigManApp.com"},
      {"snom", Family::kSnom, YealinkDial::kServlet, ""},
      {"softphone", Family::kSoftphone, YealinkDial::kServlet, ""},
  };
  const auto names = CommandForms::FormNames();
  ASSERT_EQ(names.size(), std::size(cases));
  for (size_t i = 0; i < std::size(cases); ++i) {
    const NamedCase& c = cases[i];
    EXPECT_EQ(names[i], c.name);
    const auto form = CommandForms::Named(c.name);
    ASSERT_TRUE(form.ok()) << form.status();
    EXPECT_EQ(form->name, c.name);
    EXPECT_EQ(form->family, c.family) << c.name;
    EXPECT_EQ(form->yealink_dial, c.dial) << c.name;
    EXPECT_EQ(form->keys_path, c.keys_path) << c.name;
  }
}

constexpr std::string_view kKnown =
    "known: yealink-servlet, yealink-configmanapp, yealink-cgiserver, yealink-keys, "
    "yealink-keys-legacy, snom, softphone";

TEST(CommandFormsTest, UnknownNameListsTheKnownOnes) {
  for (const std::string_view name : {"x", "Yealink-Servlet", "", "snom "}) {
    const auto form = CommandForms::Named(name);
    ASSERT_FALSE(form.ok()) << name;
    EXPECT_EQ(form.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(Message(form.status()),
              "unknown form \"" + std::string(name) + "\"; " + std::string(kKnown));
  }
}

// ---------------------------------------------------------------------------------------------
// Custom tables.

TEST(CommandFormsTest, FirstMatchingRuleWins) {
  const auto forms = CommandForms::Parse(R"({"rules": [
      {"vendor": "yealink", "model": "T4", "form": "yealink-keys"},
      {"vendor": "yealink", "model": "^sip-t46s$", "form": "yealink-cgiserver"},
      {"vendor": "Sangoma", "firmware": "^1\\.", "form": "yealink-keys-legacy", "comment": "x"},
      {"vendor": "sangoma", "form": "yealink-servlet"}
  ], "comment": "overrides"})");
  ASSERT_TRUE(forms.ok()) << forms.status();
  EXPECT_EQ(forms->size(), 4u);
  // Unanchored patterns search: "T4" matches inside "SIP-T46S", so rule 0 wins over rule 1.
  EXPECT_EQ(forms->Choose("yealink", "SIP-T46S", "")->name, "yealink-keys");
  EXPECT_EQ(forms->Choose("sangoma", "P310", "1.2.3")->name, "yealink-keys-legacy");
  EXPECT_EQ(forms->Choose("SANGOMA", "P310", "2.0")->name, "yealink-servlet");
  const auto none = forms->Choose("yealink", "T21P", "");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
}

struct ParseErrorCase {
  std::string name;
  std::string json;
  std::string message;  // exact
  friend void PrintTo(const ParseErrorCase& c, std::ostream* os) { *os << c.name; }
};

class ParseErrorTest : public testing::TestWithParam<ParseErrorCase> {};

TEST_P(ParseErrorTest, NamesThePlace) {
  const ParseErrorCase& c = GetParam();
  const auto forms = CommandForms::Parse(c.json);
  ASSERT_FALSE(forms.ok());
  EXPECT_EQ(forms.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Message(forms.status()), c.message);
}

constexpr std::string_view kRule0 = R"({"vendor": "snom", "form": "snom"}, )";

INSTANTIATE_TEST_SUITE_P(
    Errors, ParseErrorTest,
    testing::Values(
        ParseErrorCase{"Truncated", R"({"rules": [)",
                       "command forms: JSON syntax error at byte 12: parse error at line 1, "
                       "column 12: syntax error while parsing value - unexpected end of input; "
                       "expected '[', '{', or a literal"},
        ParseErrorCase{"TrailingComma", "{\"rules\": [\n  {\"vendor\": \"snom\",}\n]}",
                       "command forms: JSON syntax error at byte 33: parse error at line 2, "
                       "column 21: syntax error while parsing object key - unexpected '}'; "
                       "expected string literal"},
        ParseErrorCase{"Empty", "",
                       "command forms: JSON syntax error at byte 1: parse error at line 1, column "
                       "1: syntax error while parsing value - unexpected end of input; expected "
                       "'[', '{', or a literal"},
        ParseErrorCase{"TopArray", "[]",
                       "command forms: the top level must be an object: {\"rules\": [...]}"},
        ParseErrorCase{"TopUnknown", R"({"rulez": []})",
                       "rulez: unknown field; the top level has rules and comment"},
        ParseErrorCase{"NoRules", "{}", "rules: required, an array"},
        ParseErrorCase{"RulesNotArray", R"({"rules": {}})", "rules: required, an array"},
        ParseErrorCase{"NoRule", R"({"rules": []})", "rules: at least one rule is required"},
        ParseErrorCase{"RuleNotObject", R"({"rules": ["snom"]})", "rules[0]: must be an object"},
        ParseErrorCase{
            "UnknownForm",
            R"({"rules": [)" + std::string(kRule0) + R"({"vendor": "yealink", "form": "x"}]})",
            "rules[1].form: unknown form \"x\"; " + std::string(kKnown)},
        ParseErrorCase{"FormNotString", R"({"rules": [{"vendor": "snom", "form": 1}]})",
                       "rules[0].form: must be a string, the name of a form"},
        ParseErrorCase{"NoForm", R"({"rules": [{"vendor": "snom"}]})",
                       "rules[0].form: required; " + std::string(kKnown)},
        ParseErrorCase{"NoVendor", R"({"rules": [{"form": "snom"}]})", "rules[0].vendor: required"},
        ParseErrorCase{"EmptyVendor", R"({"rules": [{"vendor": "", "form": "snom"}]})",
                       "rules[0].vendor: must be a non-empty string"},
        ParseErrorCase{"VendorNotString", R"({"rules": [{"vendor": 42, "form": "snom"}]})",
                       "rules[0].vendor: must be a non-empty string"},
        ParseErrorCase{"BadModel",
                       R"({"rules": [)" + std::string(kRule0) + std::string(kRule0) +
                           std::string(kRule0) +
                           R"({"vendor": "yealink", "model": "[T", "form": "snom"}]})",
                       "rules[3].model: invalid regular expression \"[T\": Unexpected character "
                       "within '[...]' in regular expression"},
        ParseErrorCase{"BadFirmware",
                       R"({"rules": [{"vendor": "yealink", "firmware": "(", "form": "snom"}]})",
                       "rules[0].firmware: invalid regular expression \"(\": Mismatched '(' and "
                       "')' in regular expression"},
        // libstdc++ reads these numbers into an int unchecked (found by fuzz_command_forms).
        ParseErrorCase{
            "HugeBackReference",
            R"({"rules": [{"vendor": "yealink", "firmware": "^\\99990013747991028013465d+", "form": "snom"}]})",
            "rules[0].firmware: invalid regular expression "
            "\"^\\\\99990013747991028013465d+\": back-references and repeats take at "
            "most 4 digits"},
        ParseErrorCase{
            "HugeRepeat",
            R"({"rules": [{"vendor": "yealink", "model": "T{1,99999}", "form": "snom"}]})",
            "rules[0].model: invalid regular expression \"T{1,99999}\": "
            "back-references and repeats take at most 4 digits"},
        ParseErrorCase{"ModelNotString",
                       R"({"rules": [{"vendor": "yealink", "model": ["T4"], "form": "snom"}]})",
                       "rules[0].model: must be a string (a regular expression)"},
        ParseErrorCase{"Misspelt",
                       R"({"rules": [{"vendor": "yealink", "modle": "T4", "form": "snom"}]})",
                       "rules[0].modle: unknown field; a rule has vendor, model, firmware, form, "
                       "comment"}),
    [](const testing::TestParamInfo<ParseErrorCase>& info) { return info.param.name; });

}  // namespace
}  // namespace phonebus::command
