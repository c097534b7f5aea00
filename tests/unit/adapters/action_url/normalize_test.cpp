#include "normalize.h"

#include <gtest/gtest.h>

namespace phonebus::adapter {
namespace {

v1::PhoneEvent Normalized(v1::PhoneEvent e, const url::Query& q = {}) {
  Normalize({"hq", "192.0.2.9",
             std::chrono::system_clock::time_point(std::chrono::seconds(1700000000)), q},
            &e);
  return e;
}

TEST(Normalize, FillsIdentityTimeSiteAndParams) {
  const url::Query q = {{"a", "1"}, {"a", "2"}};
  const auto e = Normalized({}, q);
  EXPECT_EQ(e.event_id().size(), 36u);
  EXPECT_EQ(e.event_id()[14], '7');  // UUID version 7
  EXPECT_EQ(e.received_at().seconds(), 1700000000);
  EXPECT_EQ(e.site(), "hq");
  EXPECT_EQ(e.source_ip(), "192.0.2.9");
  ASSERT_EQ(e.params_size(), 2);
  EXPECT_EQ(e.params(1).value(), "2");
  EXPECT_NE(Normalized({}).event_id(), e.event_id());
}

TEST(Normalize, DeviceIdPrefersMacThenDialectIdThenAccountThenAddress) {
  v1::PhoneEvent e;
  e.mutable_device()->set_mac("001565aabbcc");
  e.mutable_device()->set_id("named");
  EXPECT_EQ(Normalized(e).device().id(), "001565aabbcc");
  e.mutable_device()->clear_mac();
  EXPECT_EQ(Normalized(e).device().id(), "named");
  e.mutable_device()->clear_id();
  e.mutable_call()->set_account("1001@pbx");
  EXPECT_EQ(Normalized(e).device().id(), "1001@pbx");
  EXPECT_EQ(Normalized({}).device().id(), "ip-192.0.2.9");
  EXPECT_EQ(Normalized({}).device().ip(), "192.0.2.9");  // phone did not report one
}

}  // namespace
}  // namespace phonebus::adapter
