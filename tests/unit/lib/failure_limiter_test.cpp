#include "failure_limiter.h"

#include <gtest/gtest.h>

namespace phonebus {
namespace {

using namespace std::chrono_literals;
using Clock = FailureLimiter::Clock;

FailureLimiter::Options Small() {
  FailureLimiter::Options o;
  o.max_failures = 3;
  o.window = 10s;
  o.hold_off = 60s;
  o.capacity = 4;
  return o;
}

TEST(FailureLimiter, RefusesAfterMaxFailuresWithinTheWindowForTheHoldOff) {
  FailureLimiter limiter(Small());
  const auto t0 = Clock::time_point{} + 1000s;
  EXPECT_FALSE(limiter.Refused("a", t0));
  EXPECT_FALSE(limiter.Fail("a", t0));
  EXPECT_FALSE(limiter.Fail("a", t0 + 1s));
  EXPECT_FALSE(limiter.Refused("a", t0 + 1s));
  EXPECT_TRUE(limiter.Fail("a", t0 + 2s));  // the third: the hold-off starts
  EXPECT_TRUE(limiter.Refused("a", t0 + 2s));
  EXPECT_TRUE(limiter.Refused("a", t0 + 61s));
  EXPECT_FALSE(limiter.Refused("b", t0 + 2s)) << "other sources are not affected";
  EXPECT_FALSE(limiter.Refused("a", t0 + 62s));
  // After the hold-off the count starts again from zero.
  EXPECT_FALSE(limiter.Fail("a", t0 + 63s));
  EXPECT_FALSE(limiter.Refused("a", t0 + 63s));
}

TEST(FailureLimiter, FailuresSpreadBeyondTheWindowAreForgiven) {
  FailureLimiter limiter(Small());
  const auto t0 = Clock::time_point{} + 1000s;
  for (int i = 0; i < 10; ++i) {
    // Two per window, never three.
    EXPECT_FALSE(limiter.Fail("a", t0 + i * 11s));
    EXPECT_FALSE(limiter.Fail("a", t0 + i * 11s + 1s));
  }
  EXPECT_FALSE(limiter.Refused("a", t0 + 200s));
}

TEST(FailureLimiter, ManySourcesCannotGrowTheTable) {
  FailureLimiter limiter(Small());
  const auto t0 = Clock::time_point{} + 1000s;
  for (int i = 0; i < 3; ++i) limiter.Fail("attacker", t0);
  ASSERT_TRUE(limiter.Refused("attacker", t0));
  for (int i = 0; i < 1000; ++i) limiter.Fail("spoof-" + std::to_string(i), t0 + 1s);
  EXPECT_EQ(limiter.size(), 4u);
  // The least recently failing source was forgotten: the bound holds, at the
  // price of forgetting, never of refusing someone who did not fail.
  EXPECT_FALSE(limiter.Refused("attacker", t0 + 1s));
}

TEST(FailureLimiter, RecentlyFailingSourcesAreKeptOverOldOnes) {
  auto o = Small();
  o.capacity = 2;
  FailureLimiter limiter(o);
  const auto t0 = Clock::time_point{} + 1000s;
  limiter.Fail("old", t0);
  for (int i = 0; i < 3; ++i) limiter.Fail("busy", t0 + 1s);
  limiter.Fail("new", t0 + 2s);  // evicts "old", not "busy"
  EXPECT_TRUE(limiter.Refused("busy", t0 + 2s));
}

}  // namespace
}  // namespace phonebus
