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

TEST(Topics, KindNameOfUnknownValueIsOther) {
  EXPECT_EQ(KindName(static_cast<v1::EventKind>(999)), "other");
  EXPECT_EQ(KindName(v1::EVENT_KIND_DND_ON), "dnd_on");
}

}  // namespace
}  // namespace phonebus::topics
