#include "latest_retained.h"

#include <gtest/gtest.h>

namespace phonebus::outbox {
namespace {

TEST(LatestRetained, SkipsOnlyRecordsWithANewerDurableOneForTheirTopic) {
  LatestRetained latest;
  latest.Durable("site/device/a/state", 3);
  latest.Durable("site/device/a/state", 7);
  latest.Durable("site/device/b/state", 5);
  EXPECT_TRUE(latest.Superseded("site/device/a/state", 3));
  EXPECT_FALSE(latest.Superseded("site/device/b/state", 5));  // the newest of b
  EXPECT_FALSE(latest.Superseded("site/device/c/state", 1));  // never noted
  EXPECT_FALSE(latest.Superseded("site/device/a/state", 7));  // the newest of a
  // Forgotten once the newest was read: after a reconnect the outbox is read again from
  // the oldest unacknowledged record, and those are then sent (never skipped wrongly).
  EXPECT_FALSE(latest.Superseded("site/device/a/state", 3));
}

TEST(LatestRetained, NeverSkipsARecordNewerThanTheNewestNoted) {
  LatestRetained latest;
  latest.Durable("t", 4);
  // Record 9 was written but not yet noted durable (a sync still pending): sent.
  EXPECT_FALSE(latest.Superseded("t", 9));
  latest.Durable("t", 12);
  latest.Durable("t", 10);  // notes may arrive out of order: the newest stays
  EXPECT_TRUE(latest.Superseded("t", 11));
  EXPECT_FALSE(latest.Superseded("t", 12));
}

}  // namespace
}  // namespace phonebus::outbox
