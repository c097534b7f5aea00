#include "cidr.h"

#include <gtest/gtest.h>

namespace phonebus::cidr {
namespace {

net::ip::address Ip(const char* text) { return net::ip::make_address(text); }

TEST(AllowList, MatchesIpv4AndIpv6RangesAtTheirEdges) {
  auto list = AllowList::Parse({"10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32", "::1", "1.2.3.4"});
  ASSERT_TRUE(list.ok()) << list.status();
  struct Case {
    const char* ip;
    bool allowed;
  };
  for (const auto& c : std::vector<Case>{{"10.0.0.0", true},
                                         {"10.255.255.255", true},
                                         {"11.0.0.0", false},
                                         {"9.255.255.255", false},
                                         {"192.168.1.77", true},
                                         {"192.168.2.1", false},
                                         {"1.2.3.4", true},
                                         {"1.2.3.5", false},
                                         {"2001:db8:ffff::1", true},
                                         {"2001:db9::1", false},
                                         {"::1", true},
                                         {"::2", false},
                                         // A dual-stack listener reports IPv4 peers mapped.
                                         {"::ffff:10.1.2.3", true},
                                         {"::ffff:11.1.2.3", false}}) {
    EXPECT_EQ(list->Allows(Ip(c.ip)), c.allowed) << c.ip;
    EXPECT_EQ(list->Allows(std::string_view(c.ip)), c.allowed) << c.ip;
  }
  EXPECT_FALSE(list->Allows(std::string_view("not-an-ip")));
  EXPECT_FALSE(list->Allows(std::string_view("")));
}

TEST(AllowList, OddPrefixLengthsAndEverything) {
  auto list = AllowList::Parse({"172.16.0.0/12"});
  ASSERT_TRUE(list.ok());
  EXPECT_TRUE(list->Allows(Ip("172.31.255.255")));
  EXPECT_FALSE(list->Allows(Ip("172.32.0.0")));
  EXPECT_FALSE(list->Allows(Ip("172.15.255.255")));

  auto any = AllowList::Parse({"0.0.0.0/0", "::/0"});
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE(any->Allows(Ip("203.0.113.9")));
  EXPECT_TRUE(any->Allows(Ip("2001:db8::1")));

  auto v4_any = AllowList::Parse({"0.0.0.0/0"});
  ASSERT_TRUE(v4_any.ok());
  EXPECT_FALSE(v4_any->Allows(Ip("2001:db8::1"))) << "an IPv4 range must not admit IPv6 peers";

  auto none = AllowList::Parse({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->Allows(Ip("127.0.0.1")));
}

TEST(AllowList, BadEntriesAreNamed) {
  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0/8",
                          "example.com", "10.0.0.1/8", "2001:db8::1/32", "/8", ""}) {
    auto list = AllowList::Parse({"127.0.0.1", bad});
    EXPECT_FALSE(list.ok()) << bad;
    if (*bad) {
      EXPECT_NE(list.status().message().find(bad), std::string::npos) << list.status();
    }
  }
  EXPECT_NE(ParseRange("10.0.0.1/8").status().message().find("host bits"), std::string::npos);
}

TEST(AllowList, LocalRangesCoverPhonesOnPrivateNetworksOnly) {
  auto list = AllowList::Parse(LocalRanges());
  ASSERT_TRUE(list.ok()) << list.status();
  for (const char* ip : {"127.0.0.1", "127.0.0.2", "10.1.2.3", "172.20.0.1", "192.168.0.10",
                         "169.254.1.1", "::1", "fd12:3456::1", "fe80::1", "::ffff:192.168.0.1"}) {
    EXPECT_TRUE(list->Allows(Ip(ip))) << ip;
  }
  for (const char* ip : {"8.8.8.8", "172.32.0.1", "2001:db8::1", "::ffff:8.8.8.8"}) {
    EXPECT_FALSE(list->Allows(Ip(ip))) << ip;
  }
}

TEST(SourceKey, Ipv4AsItIsIpv6ByItsSlash64) {
  EXPECT_EQ(SourceKey("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(SourceKey("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(SourceKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(SourceKey("2001:db8:1:2:bbbb::9"), SourceKey("2001:db8:1:2:aaaa::1"));
  EXPECT_NE(SourceKey("2001:db8:1:3::1"), SourceKey("2001:db8:1:2::1"));
}

}  // namespace
}  // namespace phonebus::cidr
