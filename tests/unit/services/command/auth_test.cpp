// The tokens file and the checks every PhoneControl call passes: parsing with
// errors that name the line (never its text), hashed tokens, scope by site.
#include "auth.h"

#include <gtest/gtest.h>

namespace phonebus::command {
namespace {

// printf %s TOKEN | sha256sum
constexpr char kHqToken[] = "hq-token-0123";
constexpr char kHqHash[] = "859c2eab87d371ec0e1a91ef56f3c9ca61103a537f69e9938a8547b7eb210095";
constexpr char kOpsToken[] = "ops-token-4567";
constexpr char kOpsHash[] = "a33657951ebc35e6973f7f4cbaa7e5f34308adf1fb891d9c9d0ee51bb7966a1d";

std::string File() {
  return std::string("# clients of the commander\n\n") + "crm-hq   hq,floor2,hq  " + kHqHash +
         "   # the CRM\n" + "ops      *   " + kOpsHash + "\n";
}

TEST(Tokens, ParsesClientsSitesAndHashes) {
  auto tokens = Tokens::Parse(File());
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(tokens->size(), 2u);
  const ApiClient* hq = tokens->Find(kHqToken);
  ASSERT_NE(hq, nullptr);
  EXPECT_EQ(hq->name, "crm-hq");
  EXPECT_EQ(hq->sites, (std::vector<std::string>{"floor2", "hq"}));  // sorted, once each
  EXPECT_FALSE(hq->all_sites);
  EXPECT_EQ(hq->SitesText(), "floor2, hq");
  const ApiClient* ops = tokens->Find(kOpsToken);
  ASSERT_NE(ops, nullptr);
  EXPECT_EQ(ops->name, "ops");
  EXPECT_TRUE(ops->all_sites);
  EXPECT_EQ(ops->SitesText(), "every site");
}

TEST(Tokens, FindsOnlyTheExactToken) {
  auto tokens = Tokens::Parse(File());
  ASSERT_TRUE(tokens.ok());
  for (const char* wrong : {"", "hq-token-012", "hq-token-01234", "HQ-TOKEN-0123", kHqHash}) {
    EXPECT_EQ(tokens->Find(wrong), nullptr) << wrong;
  }
}

TEST(Tokens, UpperCaseHexIsTheSameHash) {
  std::string upper = kHqHash;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  auto tokens = Tokens::Parse("a hq " + upper + "\n");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_NE(tokens->Find(kHqToken), nullptr);
}

TEST(Tokens, ErrorsNameTheLineNeverItsText) {
  const std::string hash = kHqHash;
  struct Case {
    std::string text;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", "no clients"},
      {"# only a comment\n", "no clients"},
      {"crm hq\n", "line 1: expected 3 fields"},
      {"\ncrm hq " + hash + " extra\n", "line 2: expected 3 fields"},
      {"crm hq,,b " + hash, "line 1: SITES must be"},
      {"crm hq/x " + hash, "line 1: SITES must be"},
      {"crm + " + hash, "line 1: SITES must be"},
      {"crm a,* " + hash, "line 1: SITES must be"},
      {"crm hq my-plain-secret-token", "line 1: SHA256 must be the token's SHA-256"},
      {"crm hq " + hash.substr(1) + "g", "line 1: SHA256 must be"},
      {"a hq " + hash + "\na floor " + std::string(kOpsHash), "line 2: client 'a' listed twice"},
      {"a hq " + hash + "\nb floor " + hash, "line 2: the same token as an earlier line"},
  };
  for (const auto& c : cases) {
    auto tokens = Tokens::Parse(c.text);
    ASSERT_FALSE(tokens.ok()) << c.text;
    const std::string message(tokens.status().message());
    EXPECT_NE(message.find(c.want), std::string::npos) << c.text << " -> " << message;
    EXPECT_EQ(message.find("my-plain-secret-token"), std::string::npos) << message;
  }
}

TEST(Tokens, LoadNamesTheFile) {
  auto missing = Tokens::Load("/nonexistent/tokens");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/tokens: cannot read"), std::string::npos);
}

std::vector<std::string_view> Header(std::string_view value) { return {value}; }

TEST(Authorizer, MissingOrUnknownTokenIsUnauthenticated) {
  auto tokens = Tokens::Parse(File());
  ASSERT_TRUE(tokens.ok());
  const Authorizer auth(*std::move(tokens));
  const std::string hq_bearer = std::string("Bearer ") + kHqToken;
  struct Case {
    std::vector<std::string_view> metadata;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{}, "requires a bearer token"},
      {Header("Bearer nope"), "unknown token"},
      {Header(kHqToken), "must be 'Bearer <token>'"},
      {Header("Basic aGk6aGk="), "must be 'Bearer <token>'"},
      {Header("Bearer "), "empty token"},
      {{hq_bearer, hq_bearer}, "more than one"},
  };
  for (const auto& c : cases) {
    auto client = auth.Authorize(c.metadata, "hq");
    ASSERT_FALSE(client.ok()) << c.want;
    EXPECT_EQ(client.status().code(), absl::StatusCode::kUnauthenticated) << c.want;
    EXPECT_NE(client.status().message().find(c.want), std::string::npos)
        << client.status().message();
    EXPECT_EQ(client.status().message().find("nope"), std::string::npos);
  }
}

TEST(Authorizer, KnownTokenIsScopedToItsSites) {
  auto tokens = Tokens::Parse(File());
  ASSERT_TRUE(tokens.ok());
  const Authorizer auth(*std::move(tokens));
  const std::string hq = std::string("Bearer ") + kHqToken;
  const std::string ops = std::string("bearer  ") + kOpsToken + " ";  // scheme in any case
  for (const char* site : {"hq", "floor2"}) {
    auto client = auth.Authorize(Header(hq), site);
    ASSERT_TRUE(client.ok()) << client.status();
    EXPECT_EQ((*client)->name, "crm-hq");
  }
  auto denied = auth.Authorize(Header(hq), "branch");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(denied.status().message(),
            "client 'crm-hq' may not act on site 'branch' (its sites: floor2, hq)");
  EXPECT_TRUE(auth.Authorize(Header(ops), "branch").ok());
  // Authenticate alone checks no site (ListDevices "*" filters instead).
  auto who = auth.Authenticate(Header(hq));
  ASSERT_TRUE(who.ok());
  EXPECT_FALSE((*who)->MayUse("branch"));
  EXPECT_FALSE((*who)->MayUse("h"));
  EXPECT_FALSE((*who)->MayUse("hq2"));
}

TEST(Authorizer, AllowAllNeedsNoToken) {
  const Authorizer auth = Authorizer::AllowAll();
  EXPECT_FALSE(auth.enabled());
  auto client = auth.Authorize({}, "anywhere");
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE((*client)->all_sites);
}

}  // namespace
}  // namespace phonebus::command
