#include "url.h"

#include <gtest/gtest.h>

namespace phonebus::url {
namespace {

TEST(ParseQuery, KeepsPlusAsPlusAndDecodesPercent) {
  auto q = ParseQuery("remote=+4930123&other=%2B4930&name=M%C3%BCller&flag&=x&&b=a%20b");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 6u);
  EXPECT_EQ((*q)[0].value, "+4930123");
  EXPECT_EQ((*q)[1].value, "+4930");
  EXPECT_EQ((*q)[2].value, "M\xC3\xBCller");
  EXPECT_EQ((*q)[3].name, "flag");
  EXPECT_EQ((*q)[3].value, "");
  EXPECT_EQ((*q)[4].name, "");  // "=x" is kept as received
  EXPECT_EQ((*q)[4].value, "x");
  EXPECT_EQ((*q)[5].value, "a b");
}

TEST(ParseQuery, KeepsRepeatsInOrder) {
  auto q = ParseQuery("a=1&a=2");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 2u);
  EXPECT_EQ((*q)[1].value, "2");
}

TEST(ParseQuery, MalformedPercentIsAnError) {
  for (const char* bad : {"a=%", "a=%2", "a=%zz", "a=%g1", "%=1"}) {
    auto q = ParseQuery(bad);
    EXPECT_FALSE(q.ok()) << bad;
    EXPECT_NE(q.status().message().find("percent"), std::string::npos);
  }
}

TEST(ToUtf8, Latin1BecomesUtf8AndUtf8StaysAsItIs) {
  EXPECT_EQ(ToUtf8("M\xFCller"), "M\xC3\xBCller");
  EXPECT_EQ(ToUtf8("M\xC3\xBCller"), "M\xC3\xBCller");
  EXPECT_EQ(ToUtf8("\xE2\x82\xAC"), "\xE2\x82\xAC");  // euro sign
  EXPECT_EQ(ToUtf8("\xC0\xAF"), "\xC3\x80\xC2\xAF");  // overlong: not UTF-8
}

TEST(SplitTarget, SplitsAtFirstQuestionMarkAndDropsFragment) {
  auto [path, query] = SplitTarget("/yealink/dnd_on?a=1?b#frag");
  EXPECT_EQ(path, "/yealink/dnd_on");
  EXPECT_EQ(query, "a=1?b");
  auto [p2, q2] = SplitTarget("/healthz");
  EXPECT_EQ(p2, "/healthz");
  EXPECT_EQ(q2, "");
}

TEST(PercentEncode, RoundTrips) {
  const std::string raw = "a b&c=d/+#\xC3\xBC";
  auto decoded = PercentDecode(PercentEncode(raw));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, raw);
  EXPECT_EQ(PercentEncode("a+b"), "a%2Bb");
}

}  // namespace
}  // namespace phonebus::url
