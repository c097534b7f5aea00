#include "topics.h"

#include <gtest/gtest.h>

namespace phonebus::topics {
namespace {

TEST(Topics, FollowTheDesignTree) {
  EXPECT_EQ(Event("hq", "001565aabbcc", v1::EVENT_KIND_CALL_INCOMING),
            "phonebus/v1/hq/device/001565aabbcc/event/call_incoming");
  EXPECT_EQ(State("hq", "x"), "phonebus/v1/hq/device/x/state");
  EXPECT_EQ(CommandResult("hq", "x"), "phonebus/v1/hq/device/x/command/result");
  EXPECT_EQ(ServiceStatus("hq", "adapter-a"), "phonebus/v1/hq/service/adapter-a/status");
}

TEST(Topics, SegmentsNeverCarryWildcardsSeparatorsOrNul) {
  EXPECT_EQ(Segment("a/b+c#d"), "a_b_c_d");
  EXPECT_EQ(Segment(std::string("a\0b", 3)), "a_b");
  EXPECT_EQ(Segment(""), "_");
  EXPECT_EQ(Event("s/1", "+", v1::EVENT_KIND_OTHER), "phonebus/v1/s_1/device/_/event/other");
}

// mosquitto closes the connection over a topic with any of these, so one such device id
// would stop every event queued behind it.
TEST(Topics, SegmentsCarryNothingABrokerRefuses) {
  EXPECT_EQ(Segment("\x7f"), "_");              // DEL
  EXPECT_EQ(Segment("a\xc2\x85z"), "a_z");      // U+0085, a C1 control
  EXPECT_EQ(Segment("\xc2\x9f"), "_");          // U+009F
  EXPECT_EQ(Segment("\xef\xb7\x90"), "_");      // U+FDD0, a non-character
  EXPECT_EQ(Segment("\xef\xbf\xbf"), "_");      // U+FFFF
  EXPECT_EQ(Segment("\xf0\x9f\xbf\xbe"), "_");  // U+1FFFE
  EXPECT_EQ(Segment("\x92x"), "_x");            // a stray byte: not UTF-8
  EXPECT_EQ(Segment("\xed\xa0\x80"), "___");    // a surrogate: three stray bytes
  EXPECT_EQ(Segment("\xe2\x82"), "__");         // cut short
  // What stays: any other character, as it came.
  EXPECT_EQ(Segment("J\xc3\xbcrgen \xe2\x80\x99s \xf0\x9f\x93\x9e"),
            "J\xc3\xbcrgen \xe2\x80\x99s \xf0\x9f\x93\x9e");
  EXPECT_EQ(Segment("\xc2\xa0"), "\xc2\xa0");  // U+00A0, just past C1
}

TEST(Topics, SegmentsAreAtMost256BytesAndCutBetweenCharacters) {
  EXPECT_EQ(Segment(std::string(300, 'a')), std::string(256, 'a'));
  std::string umlauts;
  for (int i = 0; i < 200; ++i) umlauts += "\xc3\xbc";  // 2 bytes each
  EXPECT_EQ(Segment("x" + umlauts).size(), 255u);       // a 257th byte would split one
  EXPECT_EQ(Segment(std::string(1000000, '/')), std::string(256, '_'));
}

TEST(Topics, KindNameOfUnknownValueIsOther) {
  EXPECT_EQ(KindName(static_cast<v1::EventKind>(999)), "other");
  EXPECT_EQ(KindName(v1::EVENT_KIND_DND_ON), "dnd_on");
}

}  // namespace
}  // namespace phonebus::topics
