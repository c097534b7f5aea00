#include "repeat_filter.h"

#include <gtest/gtest.h>

namespace phonebus::adapter {
namespace {

using namespace std::chrono_literals;
using Clock = RepeatFilter::Clock;

const Clock::time_point t0 = Clock::time_point{} + 1000s;

TEST(RepeatFilter, TheSameRequestRightAgainIsARepeatOfTheFirstEvent) {
  RepeatFilter f(3s, 100);
  EXPECT_EQ(f.Repeat("10.0.0.7", "/s/yealink/incoming_call?call_id=1", t0), std::nullopt);
  f.Accepted("10.0.0.7", "/s/yealink/incoming_call?call_id=1", "id-1", t0);
  EXPECT_EQ(f.Repeat("10.0.0.7", "/s/yealink/incoming_call?call_id=1", t0 + 2s), "id-1");
  // Not from another phone, nor another request, nor after the window.
  EXPECT_EQ(f.Repeat("10.0.0.8", "/s/yealink/incoming_call?call_id=1", t0 + 1s), std::nullopt);
  EXPECT_EQ(f.Repeat("10.0.0.7", "/s/yealink/incoming_call?call_id=2", t0 + 1s), std::nullopt);
  EXPECT_EQ(f.Repeat("10.0.0.7", "/s/yealink/incoming_call?call_id=1", t0 + 3001ms), std::nullopt);
}

TEST(RepeatFilter, OnlyTheRequestRightBeforeCounts) {
  // offhook, onhook, offhook: three events, whatever the window.
  RepeatFilter f(3s, 100);
  f.Accepted("10.0.0.7", "/s/yealink/off_hook?mac=1", "id-1", t0);
  f.Accepted("10.0.0.7", "/s/yealink/on_hook?mac=1", "id-2", t0 + 100ms);
  EXPECT_EQ(f.Repeat("10.0.0.7", "/s/yealink/off_hook?mac=1", t0 + 200ms), std::nullopt);
  EXPECT_EQ(f.Repeat("10.0.0.7", "/s/yealink/on_hook?mac=1", t0 + 200ms), "id-2");
}

TEST(RepeatFilter, AWindowOfZeroTurnsItOff) {
  RepeatFilter f(0ms, 100);
  f.Accepted("10.0.0.7", "/x", "id-1", t0);
  EXPECT_EQ(f.Repeat("10.0.0.7", "/x", t0), std::nullopt);
}

TEST(RepeatFilter, SourcesAreBoundedOldestFirst) {
  RepeatFilter f(3s, 2);
  f.Accepted("a", "/x", "id-a", t0);
  f.Accepted("b", "/x", "id-b", t0 + 5s);
  f.Accepted("c", "/x", "id-c", t0 + 6s);  // full: "a" is past its window and goes
  EXPECT_EQ(f.Repeat("b", "/x", t0 + 6s), "id-b");
  EXPECT_EQ(f.Repeat("c", "/x", t0 + 6s), "id-c");
  f.Accepted("d", "/x", "id-d", t0 + 6s);  // full of recent ones: it starts over
  EXPECT_EQ(f.Repeat("d", "/x", t0 + 6s), "id-d");
  EXPECT_EQ(f.Repeat("b", "/x", t0 + 6s), std::nullopt);
}

}  // namespace
}  // namespace phonebus::adapter
