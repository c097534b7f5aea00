#include "inventory.h"

#include <gtest/gtest.h>

#include <map>

namespace phonebus::command {
namespace {

// The issue's example, exactly as written there.
constexpr char kExample[] = R"({"devices": [
  {"id": "001565aabbcc", "vendor": "yealink", "model": "T46S", "firmware": "66.86.0.15",
   "address": "127.0.0.1:9001", "username": "admin", "password": "secret-a",
   "account": "1001@pbx.example"},
  {"id": "000413aabbcc", "vendor": "snom", "model": "D785", "address": "127.0.0.1:9002",
   "username": "admin", "password_env": "SNOM_PASSWORD"},
  {"id": "agent17-soft", "vendor": "softphone", "address": "127.0.0.1:9003"}
]})";

SecretSources Fake(std::map<std::string, std::string> env,
                   std::map<std::string, std::string> files = {}) {
  return {[env](const std::string& name) -> std::optional<std::string> {
            const auto it = env.find(name);
            return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
          },
          [files](const std::string& path) -> absl::StatusOr<std::string> {
            const auto it = files.find(path);
            if (it == files.end()) return absl::NotFoundError("No such file or directory");
            return it->second;
          }};
}

TEST(Inventory, LoadsTheIssueExample) {
  auto inv = ParseInventory(kExample, "default", Fake({{"SNOM_PASSWORD", "secret-b"}}));
  ASSERT_TRUE(inv.ok()) << inv.status();
  ASSERT_EQ(inv->devices.size(), 3u);
  const auto& y = inv->devices[0];
  EXPECT_EQ(y.site, "default");
  EXPECT_EQ(y.id, "001565aabbcc");
  EXPECT_EQ(y.vendor, "yealink");
  EXPECT_EQ(y.model, "T46S");
  EXPECT_EQ(y.firmware, "66.86.0.15");
  EXPECT_EQ(y.host, "127.0.0.1");
  EXPECT_EQ(y.port, 9001);
  EXPECT_EQ(y.username, "admin");
  EXPECT_EQ(y.password, "secret-a");
  EXPECT_EQ(y.accounts, std::vector<std::string>{"1001@pbx.example"});
  EXPECT_EQ(inv->devices[1].password, "secret-b");
  EXPECT_EQ(inv->devices[2].id, "agent17-soft");
  EXPECT_EQ(inv->devices[2].username, "");
  EXPECT_EQ(inv->devices[2].port, 9003);
}

TEST(Inventory, NormalizesMacIdsAndAddresses) {
  auto inv = ParseInventory(
      R"({"devices": [
        {"id": "00:15:65:AA:BB:CC", "vendor": "Yealink", "address": "[::1]:8443", "https": true},
        {"id": "0015.65aa.bbcd", "vendor": "snom", "address": "phone7.example", "site": "hq"},
        {"id": "x", "vendor": "snom", "address": "10.0.0.9", "https": true, "tls_verify": false}
      ]})",
      "default", Fake({}));
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->devices[0].id, "001565aabbcc");
  EXPECT_EQ(inv->devices[0].vendor, "yealink");
  EXPECT_EQ(inv->devices[0].host, "::1");
  EXPECT_EQ(inv->devices[0].port, 8443);
  EXPECT_EQ(inv->devices[0].https, true);
  EXPECT_EQ(inv->devices[1].id, "001565aabbcd");
  EXPECT_EQ(inv->devices[1].site, "hq");
  // Left unset, to come from the defaults (or 80/443, HTTP) when the device is resolved.
  EXPECT_EQ(inv->devices[1].port, 0);
  EXPECT_EQ(inv->devices[1].https, std::nullopt);
  EXPECT_EQ(inv->devices[1].tls_verify, std::nullopt);
  EXPECT_EQ(inv->devices[2].port, 0);
  EXPECT_EQ(inv->devices[2].tls_verify, false);
}

TEST(Inventory, AnAddressWithCredentialsIsRefusedWithoutRepeatingThem) {
  for (const char* address : {"admin:secret-a@10.0.0.7", "admin:secret-a@10.0.0.7:80", "u@h"}) {
    auto inv =
        ParseInventory(std::string(R"({"devices": [{"id": "x", "vendor": "snom", "address": ")") +
                           address + R"("}]})",
                       "default", Fake({}));
    ASSERT_FALSE(inv.ok()) << address;
    const std::string message(inv.status().message());
    EXPECT_EQ(message.rfind("devices[0].address: must not hold credentials", 0), 0u) << message;
    EXPECT_EQ(message.find("secret-a"), std::string::npos) << message;
  }
}

TEST(Inventory, ReadsPasswordFiles) {
  auto inv = ParseInventory(
      R"({"devices": [{"id": "a", "vendor": "snom", "username": "admin",
                       "password_file": "/run/secrets/snom"}]})",
      "default", Fake({}, {{"/run/secrets/snom", "from-file"}}));
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->devices[0].password, "from-file");
}

struct BadCase {
  const char* json;
  const char* want;  // the start of the error message
};

class InventoryRefuses : public testing::TestWithParam<BadCase> {};

TEST_P(InventoryRefuses, NamingIndexAndField) {
  auto inv = ParseInventory(GetParam().json, "default", Fake({}));
  ASSERT_FALSE(inv.ok()) << GetParam().json;
  EXPECT_EQ(inv.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(inv.status().message()).rfind(GetParam().want, 0), 0u)
      << inv.status().message();
  EXPECT_EQ(std::string(inv.status().message()).find("secret"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, InventoryRefuses,
    testing::Values(
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom"}, {"vendor": "snom"}]})",
                "devices[1].id: is required"},
        BadCase{R"({"devices": [{"id": "a"}]})", "devices[0].vendor: is required"},
        BadCase{R"({"devices": [{"id": "a", "vendr": "snom", "pasword": "secret"}]})",
                "devices[0].pasword: unknown field"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "username": "admin",
                    "password_env": "MISSING"}]})",
                "devices[0].password_env: environment variable MISSING is not set"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "username": "u",
                    "password": "secret", "password_env": "X"}]})",
                "devices[0].password: give only one of"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "password": "secret"}]})",
                "devices[0].username: needed with a password"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "username": "u",
                    "password_file": "/nope"}]})",
                "devices[0].password_file: cannot read /nope"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "address": "h:99999"}]})",
                "devices[0].address: port 99999 is out of range"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "address": "::1:80"}]})",
                "devices[0].address: write an IPv6 address in brackets"},
        BadCase{R"({"devices": [{"id": "a/b", "vendor": "snom"}]})", "devices[0].id: must not"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "account": "1001;DND"}]})",
                "devices[0].account: character ';' at position 4"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "accounts": ["1001", 7]}]})",
                "devices[0].accounts[1]: must be a string"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom", "https": "yes"}]})",
                "devices[0].https: must be true or false"},
        BadCase{R"({"devices": [{"id": "aa", "vendor": "snom"}, {"id": "aa", "vendor": "snom"}]})",
                "devices[1].id: \"aa\" already listed at devices[0]"},
        BadCase{R"({"devices": [{"id": "a", "vendor": "snom"}], "extra": []})",
                "extra: unknown field"},
        BadCase{R"({"defaults": [{"vendor": "snom", "port": 0}]})",
                "defaults[0].port: must be 1-65535"},
        BadCase{R"({"devices": [)", "not valid JSON at byte"},
        // Found by tests/fuzz/fuzz_inventory: nlohmann throws out_of_range here, not parse_error.
        BadCase{R"({"defaults": [{"vendor": "snom", "port": 1e999}]})",
                "not valid JSON: a number is out of range"},
        BadCase{R"([])", "the top level must be an object"}));

TEST(Inventory, DefaultsMostSpecificWins) {
  auto inv = ParseInventory(
      R"({"defaults": [
        {"username": "any", "password": "p0"},
        {"site": "hq", "username": "hq", "password": "p1"},
        {"vendor": "snom", "username": "snom", "password": "p2"},
        {"site": "hq", "vendor": "snom", "username": "hq-snom", "password": "p3", "port": 8080}
      ]})",
      "default", Fake({}));
  ASSERT_TRUE(inv.ok()) << inv.status();
  EXPECT_EQ(inv->DefaultsFor("hq", "snom")->username, "hq-snom");
  EXPECT_EQ(inv->DefaultsFor("hq", "snom")->port, 8080);
  EXPECT_EQ(inv->DefaultsFor("branch", "snom")->username, "snom");
  EXPECT_EQ(inv->DefaultsFor("hq", "yealink")->username, "hq");
  EXPECT_EQ(inv->DefaultsFor("branch", "yealink")->username, "any");
  Inventory empty;
  EXPECT_EQ(empty.DefaultsFor("hq", "snom"), nullptr);
}

}  // namespace
}  // namespace phonebus::command
