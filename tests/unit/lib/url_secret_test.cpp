#include "url_secret.h"

#include <gtest/gtest.h>

namespace phonebus {
namespace {

constexpr const char* kSecret = "Zk3-q_9.Xy~Lm0pQ7rT2";

TEST(UrlSecrets, MatchesOnlyTheExactSecret) {
  const UrlSecrets secrets({kSecret});
  EXPECT_TRUE(secrets.Matches(kSecret));
  const std::string s = kSecret;
  for (const auto& wrong :
       {std::string(), s.substr(0, s.size() - 1), s + "x", "x" + s,
        std::string("zk3-q_9.Xy~Lm0pQ7rT2"), std::string(s.size(), 'A'), std::string("yealink")}) {
    EXPECT_FALSE(secrets.Matches(wrong)) << wrong;
  }
}

TEST(UrlSecrets, EverySecretOfARotationMatches) {
  const UrlSecrets secrets({"old-secret-0123456789", "new-secret-0123456789"});
  EXPECT_TRUE(secrets.Matches("old-secret-0123456789"));
  EXPECT_TRUE(secrets.Matches("new-secret-0123456789"));
  EXPECT_FALSE(secrets.Matches("other-secret-0123456"));
  EXPECT_TRUE(UrlSecrets({}).empty());
  EXPECT_FALSE(UrlSecrets({}).Matches(""));
}

TEST(CheckUrlSecret, LongEnoughAndUrlSafeWithoutQuotingIt) {
  EXPECT_TRUE(CheckUrlSecret(kSecret).ok());
  const auto short_one = CheckUrlSecret("short-secret");
  EXPECT_FALSE(short_one.ok());
  EXPECT_EQ(short_one.message().find("short-secret"), std::string::npos);
  for (const char* bad : {"0123456789abcdef/", "0123456789abcdef?", "0123456789 abcdef",
                          "0123456789%abcdef", "0123456789abcdef#", "0123456789abcdef&x=1"}) {
    const auto st = CheckUrlSecret(bad);
    EXPECT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.message().find("0123456789"), std::string::npos) << st.message();
  }
}

TEST(ParseUrlSecrets, OneSecretPerLineBlankLinesIgnored) {
  auto secrets = ParseUrlSecrets("\n  new-secret-0123456789\r\n\nold-secret-0123456789\n");
  ASSERT_TRUE(secrets.ok()) << secrets.status();
  EXPECT_EQ(*secrets, (std::vector<std::string>{"new-secret-0123456789", "old-secret-0123456789"}));
  EXPECT_FALSE(ParseUrlSecrets("\n\n").ok());
  const auto bad = ParseUrlSecrets("new-secret-0123456789\ntoo-short\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("line 2"), std::string::npos);
  EXPECT_EQ(bad.status().message().find("too-short"), std::string::npos);
}

}  // namespace
}  // namespace phonebus
