#include "registry.h"

#include <gtest/gtest.h>

#include "topics.h"

namespace phonebus::command {
namespace {

SecretSources NoSecrets() {
  return {[](const std::string&) { return std::optional<std::string>(); },
          [](const std::string&) -> absl::StatusOr<std::string> {
            return absl::NotFoundError("none");
          }};
}

std::unique_ptr<Registry> Make(const char* json,
                               Registry::NameHash name_hash = Registry::DefaultNameHash) {
  auto inv = ParseInventory(json, "default", NoSecrets());
  EXPECT_TRUE(inv.ok()) << inv.status();
  auto r = Registry::Create(*std::move(inv), CommandForms::Defaults(), "default", 32, name_hash);
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *std::move(r) : nullptr;
}

v1::DeviceState State(const std::string& site, const std::string& id, v1::Vendor vendor,
                      const std::string& ip, std::vector<std::string> accounts = {}) {
  v1::DeviceState s;
  s.set_site(site);
  s.mutable_device()->set_id(id);
  s.mutable_device()->set_vendor(vendor);
  s.mutable_device()->set_ip(ip);
  s.mutable_device()->set_model(vendor == v1::VENDOR_YEALINK ? "T46S" : "D785");
  s.mutable_device()->set_firmware("66.86.0.15");
  for (const auto& a : accounts) s.add_accounts()->set_account(a);
  return s;
}

constexpr char kInventory[] = R"({
  "devices": [
    {"id": "001565aabbcc", "vendor": "yealink", "model": "T46S", "firmware": "66.86.0.15",
     "address": "127.0.0.1:9001", "username": "admin", "password": "secret-a",
     "account": "1001@pbx.example"},
    {"id": "000413aabbcc", "vendor": "snom", "username": "admin", "password": "secret-b"},
    {"id": "t38", "vendor": "yealink", "model": "T38G", "address": "10.0.0.38"}
  ],
  "defaults": [{"vendor": "snom", "username": "snom-admin", "password": "secret-c", "port": 8080}]
})";

TEST(Registry, ResolvesInventoryDevicesByIdMacSpellingAndAccount) {
  auto r = Make(kInventory);
  for (const char* name : {"001565aabbcc", "00:15:65:AA:BB:CC", "1001@pbx.example", "1001"}) {
    auto p = r->Resolve("", name);
    ASSERT_TRUE(p.ok()) << name << ": " << p.status();
    EXPECT_EQ(p->id, "001565aabbcc");
    EXPECT_EQ(p->site, "default");
    EXPECT_EQ(p->host, "127.0.0.1");
    EXPECT_EQ(p->port, 9001);
    EXPECT_EQ(p->username, "admin");
    EXPECT_EQ(p->password, "secret-a");
    EXPECT_EQ(p->target.account, "1001@pbx.example");
    EXPECT_EQ(p->target.form.name, "yealink-servlet");
    EXPECT_FALSE(p->target.dnd.has_value());
  }
  auto t38 = r->Resolve("default", "t38");
  ASSERT_TRUE(t38.ok()) << t38.status();
  EXPECT_EQ(t38->target.form.name, "yealink-cgiserver");
  EXPECT_EQ(t38->port, 80);
}

TEST(Registry, UnknownDeviceIsNotFoundAndNamesTheSite) {
  auto r = Make(kInventory);
  auto p = r->Resolve("", "deadbeef0000");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(p.status().message().find("\"default\""), std::string::npos);
  EXPECT_EQ(r->Resolve("other-site", "001565aabbcc").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r->Resolve("", "").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Registry, InventoryDeviceWithoutAddressWaitsForTheBus) {
  auto r = Make(kInventory);
  auto p = r->Resolve("", "000413aabbcc");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  r->Learn(State("default", "000413aabbcc", v1::VENDOR_SNOM, "10.0.0.13"));
  p = r->Resolve("", "000413aabbcc");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->host, "10.0.0.13");
  EXPECT_EQ(p->port, 8080);         // unset in the entry: from the snom defaults
  EXPECT_EQ(p->username, "admin");  // set in the entry: the entry wins
  EXPECT_EQ(p->password, "secret-b");
  EXPECT_EQ(p->target.form.name, "snom");
}

TEST(Registry, AnInventoryEntryTakesHttpsFromTheDefaultsUnlessItSaysOtherwise) {
  // Credentials from HTTPS defaults must not go out over HTTP for an entry that names none.
  auto r = Make(R"({
    "devices": [
      {"id": "000413aabbcc", "vendor": "snom", "model": "D785"},
      {"id": "000413aabbcd", "vendor": "snom", "address": "10.0.0.8", "https": false},
      {"id": "000413aabbce", "vendor": "snom", "address": "10.0.0.9:8443", "tls_verify": true}
    ],
    "defaults": [{"vendor": "snom", "https": true, "tls_verify": false,
                  "username": "admin", "password": "secret-s"}]
  })");
  r->Learn(State("default", "000413aabbcc", v1::VENDOR_SNOM, "10.0.0.7"));
  auto p = r->Resolve("", "000413aabbcc");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->https);
  EXPECT_FALSE(p->tls_verify);
  EXPECT_EQ(p->port, 443);
  EXPECT_EQ(p->password, "secret-s");
  p = r->Resolve("", "000413aabbcd");  // says http: it wins
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_FALSE(p->https);
  EXPECT_EQ(p->port, 80);
  p = r->Resolve("", "000413aabbce");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->https);
  EXPECT_TRUE(p->tls_verify);
  EXPECT_EQ(p->port, 8443);
}

TEST(Registry, TakesOnlyAnIpAddressAPhoneReportsItself) {
  auto r = Make(kInventory);
  r->Learn(State("default", "000413999999", v1::VENDOR_SNOM, "evil.example"));
  auto p = r->Resolve("", "000413999999");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("not an IP address"), std::string::npos);
  r->Learn(State("default", "000413999999", v1::VENDOR_SNOM, "fd00::7"));
  EXPECT_EQ(r->Resolve("", "000413999999").value().host, "fd00::7");
  EXPECT_EQ(r->Resolve("", std::string(300, 'a')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r->Resolve("a/b", "000413999999").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Registry, AReportedAddressOutsideThePhoneNetworksGetsNoCommand) {
  // Anyone who can fire an Action URL names the address: credentials must not follow it out.
  auto r = Make(kInventory);
  r->Learn(State("default", "000413999998", v1::VENDOR_SNOM, "203.0.113.9"));
  auto p = r->Resolve("", "000413999998");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("outside --phone-networks"), std::string::npos) << p.status();
  // The inventory's own address is the administrator's, wherever it is.
  r->Learn(State("default", "t38", v1::VENDOR_YEALINK, "203.0.113.38"));
  EXPECT_TRUE(r->Resolve("", "t38").ok());

  auto inv = ParseInventory(kInventory, "default", NoSecrets());
  ASSERT_TRUE(inv.ok());
  auto wide = Registry::Create(*std::move(inv), CommandForms::Defaults(), "default", 32,
                               Registry::DefaultNameHash, {"203.0.113.0/24"});
  ASSERT_TRUE(wide.ok()) << wide.status();
  (*wide)->Learn(State("default", "000413999998", v1::VENDOR_SNOM, "203.0.113.9"));
  EXPECT_TRUE((*wide)->Resolve("", "000413999998").ok());
  (*wide)->Learn(State("default", "000413999997", v1::VENDOR_SNOM, "10.0.0.9"));
  EXPECT_EQ((*wide)->Resolve("", "000413999997").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Registry, InventoryAddressIsPinnedAgainstTheReportedIp) {
  auto r = Make(kInventory);
  r->Learn(State("default", "001565aabbcc", v1::VENDOR_YEALINK, "10.9.9.9", {"2002@pbx"}));
  auto p = r->Resolve("", "001565aabbcc");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, "127.0.0.1");
  // Accounts merge: the reported one names the device too.
  EXPECT_EQ(r->Resolve("", "2002").value().id, "001565aabbcc");
  auto info = r->Get("", "001565aabbcc");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->source(), v1::DEVICE_SOURCE_BOTH);
  EXPECT_EQ(info->address(), "127.0.0.1:9001");
}

TEST(Registry, LearnsDevicesFromTheBusAndFollowsTheirIp) {
  auto r = Make(kInventory);
  r->Learn(State("default", "000413112233", v1::VENDOR_SNOM, "10.0.0.5", {"3003@pbx"}));
  auto p = r->Resolve("", "3003");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->host, "10.0.0.5");
  EXPECT_EQ(p->port, 8080);  // the snom defaults
  EXPECT_EQ(p->username, "snom-admin");
  EXPECT_EQ(p->password, "secret-c");
  EXPECT_FALSE(p->target.dnd.has_value());  // never reported: unknown, not "off"

  auto moved = State("default", "000413112233", v1::VENDOR_SNOM, "10.0.0.77", {"3004@pbx"});
  moved.set_dnd(true);
  r->Learn(moved);
  p = r->Resolve("", "000413112233");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->host, "10.0.0.77");
  EXPECT_TRUE(p->target.dnd.value());
  // The old account no longer names it; the new one does.
  EXPECT_EQ(r->Resolve("", "3003").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(r->Resolve("", "3004@pbx").ok());

  r->Forget("default", "000413112233");
  EXPECT_EQ(r->Resolve("", "000413112233").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r->Resolve("", "3004").status().code(), absl::StatusCode::kNotFound);
}

TEST(Registry, ClearingATopicSpelledAsAnUpperCaseMacForgetsWhatItTaught) {
  // A softphone's id is whatever its template says: the topic keeps that spelling.
  auto r = Make(kInventory);
  r->Learn(State("default", "0050569A1B2C", v1::VENDOR_SOFTPHONE, "10.0.0.50"));
  ASSERT_TRUE(r->Resolve("", "0050569a1b2c").ok());
  r->Forget("default", "0050569A1B2C");
  EXPECT_EQ(r->Resolve("", "0050569a1b2c").status().code(), absl::StatusCode::kNotFound);
}

TEST(Registry, AnAccountOnTwoDevicesIsAmbiguous) {
  auto r = Make(kInventory);
  r->Learn(State("default", "aa0000000001", v1::VENDOR_YEALINK, "10.0.0.1", {"5000@a"}));
  r->Learn(State("default", "aa0000000002", v1::VENDOR_YEALINK, "10.0.0.2", {"5000@b"}));
  auto p = r->Resolve("", "5000");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("aa0000000001, aa0000000002"), std::string::npos);
  EXPECT_EQ(r->Resolve("", "5000@b").value().id, "aa0000000002");
}

TEST(Registry, SitesAreSeparate) {
  auto r = Make(kInventory);
  r->Learn(State("hq", "bb0000000001", v1::VENDOR_YEALINK, "10.1.0.1", {"1001@pbx.example"}));
  EXPECT_EQ(r->Resolve("hq", "1001").value().id, "bb0000000001");
  EXPECT_EQ(r->Resolve("", "1001").value().id, "001565aabbcc");
}

TEST(Registry, RefusesInventoryWithoutCommandForm) {
  auto inv = ParseInventory(R"({"devices": [{"id": "a", "vendor": "snom"},
                                            {"id": "b", "vendor": "acme"}]})",
                            "default", NoSecrets());
  ASSERT_TRUE(inv.ok());
  auto r = Registry::Create(*std::move(inv), CommandForms::Defaults(), "default");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()).rfind("devices[1].vendor: ", 0), 0u) << r.status();

  inv = ParseInventory(R"({"devices": [{"id": "a", "vendor": "snom", "command_form": "nope"}]})",
                       "default", NoSecrets());
  r = Registry::Create(*std::move(inv), CommandForms::Defaults(), "default");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(std::string(r.status().message()).rfind("devices[0].command_form: ", 0), 0u);
}

TEST(Registry, CommandFormOverridePerDevice) {
  auto r = Make(R"({"devices": [{"id": "f1", "vendor": "fanvil", "address": "10.0.0.1"},
    {"id": "y1", "vendor": "yealink", "model": "T46S", "address": "10.0.0.2",
     "command_form": "yealink-keys"}]})");
  EXPECT_EQ(r->Resolve("", "f1").value().target.form.family, Family::kYealink);
  EXPECT_EQ(r->Resolve("", "y1").value().target.form.name, "yealink-keys");
  EXPECT_EQ(r->Get("", "f1").value().brand(), "fanvil");
  EXPECT_EQ(r->Get("", "f1").value().vendor(), v1::VENDOR_YEALINK);
}

TEST(Registry, ListsInPagesPerSiteWithoutCredentials) {
  auto r = Make(kInventory);
  for (int i = 0; i < 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "cc00000000%02d", i);
    r->Learn(State(i % 5 == 0 ? "hq" : "default", id, v1::VENDOR_YEALINK, "10.0.0.1"));
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = r->List("", 7, token);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& d : page->devices) {
      EXPECT_EQ(d.site(), "default");
      EXPECT_EQ(d.DebugString().find("secret"), std::string::npos);
      seen.push_back(d.id());
    }
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(seen.size(), 3u + 20u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(pages, 4);

  auto all = r->List("*", 1000, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->devices.size(), 28u);
  EXPECT_TRUE(all->next_page_token.empty());
  EXPECT_EQ(r->List("hq", 10, "default/zzz").status().code(), absl::StatusCode::kInvalidArgument);
}

// A client scoped to some sites listing "*" sees only those, in full pages,
// and the last page says it is the last.
TEST(Registry, ListingEverySiteHidesSitesTheCallerMayNotSee) {
  auto r = Make(kInventory);
  for (int i = 0; i < 25; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "cc00000000%02d", i);
    r->Learn(State(i % 5 == 0 ? "hq" : "zz-branch", id, v1::VENDOR_YEALINK, "10.0.0.1"));
  }
  const auto only_hq = [](std::string_view site) { return site == "hq"; };
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    auto page = r->List("*", 2, token, only_hq);
    ASSERT_TRUE(page.ok()) << page.status();
    for (const auto& d : page->devices) {
      EXPECT_EQ(d.site(), "hq");
      seen.push_back(d.id());
    }
    EXPECT_FALSE(page->devices.empty());
    token = page->next_page_token;
    ++pages;
  } while (!token.empty() && pages < 100);
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(pages, 3);  // 2 + 2 + 1: no empty page for the branch's devices after hq's
  EXPECT_TRUE(r->List("*", 1000, "", [](std::string_view) { return false; })->devices.empty());
}

// The account index keeps only hashes of names: with every name hashing alike, each lookup
// meets every device, and must still find exactly the devices that have the name.
TEST(Registry, AccountHashCollisionsNeverResolveTheWrongPhone) {
  auto r = Make(kInventory, [](std::string_view, std::string_view) -> uint64_t { return 42; });
  r->Learn(State("default", "aa0000000001", v1::VENDOR_YEALINK, "10.0.0.1", {"5000@a"}));
  r->Learn(State("default", "aa0000000002", v1::VENDOR_YEALINK, "10.0.0.2", {"6000@b"}));
  r->Learn(State("hq", "aa0000000003", v1::VENDOR_YEALINK, "10.0.0.3", {"5000@a"}));

  EXPECT_EQ(r->Resolve("", "1001").value().id, "001565aabbcc");
  EXPECT_EQ(r->Resolve("", "1001@pbx.example").value().id, "001565aabbcc");
  EXPECT_EQ(r->Resolve("", "5000").value().id, "aa0000000001");
  EXPECT_EQ(r->Resolve("", "5000@a").value().id, "aa0000000001");
  EXPECT_EQ(r->Resolve("", "6000").value().id, "aa0000000002");
  EXPECT_EQ(r->Resolve("hq", "5000").value().id, "aa0000000003");
  for (const char* unknown : {"7000", "5000@b", "6000@a", "pbx.example", "1001@pbx"}) {
    EXPECT_EQ(r->Resolve("", unknown).status().code(), absl::StatusCode::kNotFound) << unknown;
  }
  EXPECT_EQ(r->Resolve("hq", "6000").status().code(), absl::StatusCode::kNotFound);

  // A real ambiguity is still one, listing exactly the devices that share the account.
  r->Learn(State("default", "aa0000000004", v1::VENDOR_YEALINK, "10.0.0.4", {"5000@c"}));
  auto p = r->Resolve("", "5000");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("(aa0000000001, aa0000000004)"), std::string::npos)
      << p.status();

  // Changing and forgetting a device drops exactly its names.
  r->Learn(State("default", "aa0000000004", v1::VENDOR_YEALINK, "10.0.0.4", {"8000@c"}));
  EXPECT_EQ(r->Resolve("", "5000").value().id, "aa0000000001");
  EXPECT_EQ(r->Resolve("", "8000").value().id, "aa0000000004");
  r->Forget("default", "aa0000000001");
  EXPECT_EQ(r->Resolve("", "5000").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r->Resolve("", "6000").value().id, "aa0000000002");
  EXPECT_EQ(r->Resolve("hq", "5000@a").value().id, "aa0000000003");
}

// The registry stores a state without the fields its key holds; what it returns is the state
// as it arrived, whichever of those fields match the key.
TEST(Registry, ReturnsTheLearnedStateAsItArrived) {
  auto r = Make(kInventory);
  std::vector<v1::DeviceState> states;
  auto add = [&](const std::string& site, const std::string& id, const std::string& mac) {
    auto s = State(site, id, v1::VENDOR_YEALINK, "10.0.0.9", {"4000@pbx"});
    s.mutable_device()->set_mac(mac);
    s.set_dnd(false);
    s.set_last_event_id("e-" + id);
    s.mutable_last_seen()->set_seconds(1700000000);
    auto* call = s.add_active_calls();
    call->set_call_id("c1");
    call->mutable_remote()->set_number("+4930123");
    states.push_back(s);
  };
  add("default", "dd0000000001", "dd0000000001");  // the MAC is the id, as adapters send it
  add("default", "dd0000000002", "");              // no MAC
  add("default", "dd0000000003", "dd00000000ff");  // a MAC other than the id
  add("hq", "DD:00:00:00:00:04", "dd0000000004");  // an id that is a MAC in another spelling
  add("", "dd0000000005", "dd0000000005");         // no site: the default site
  for (const auto& s : states) r->Learn(s);

  for (const auto& s : states) {
    const std::string id = topics::NormalizeMac(s.device().id());
    auto info = r->Get(s.site(), id);
    ASSERT_TRUE(info.ok()) << id << ": " << info.status();
    EXPECT_EQ(info->state().SerializeAsString(), s.SerializeAsString())
        << id << "\n got " << info->state().DebugString() << "\n want " << s.DebugString();
    EXPECT_EQ(info->last_seen().seconds(), 1700000000);
    EXPECT_EQ(info->id(), id);
  }
  auto all = r->List("*", 1000, "");
  ASSERT_TRUE(all.ok());
  size_t with_state = 0;
  for (const auto& d : all->devices) with_state += d.has_state();
  EXPECT_EQ(with_state, states.size());
}

// The form is chosen when a state arrives; a new model or vendor changes it.
TEST(Registry, CommandFormFollowsTheReportedModel) {
  auto r = Make(kInventory);
  auto s = State("default", "ee0000000001", v1::VENDOR_YEALINK, "10.0.0.1");
  r->Learn(s);
  EXPECT_EQ(r->Resolve("", "ee0000000001").value().target.form.name, "yealink-servlet");
  s.mutable_device()->set_model("T38G");
  r->Learn(s);
  EXPECT_EQ(r->Resolve("", "ee0000000001").value().target.form.name, "yealink-cgiserver");
  EXPECT_EQ(r->Get("", "ee0000000001").value().command_form(), "yealink-cgiserver");
  s.mutable_device()->set_vendor(v1::VENDOR_UNSPECIFIED);
  r->Learn(s);
  auto p = r->Resolve("", "ee0000000001");
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("no command form"), std::string::npos) << p.status();
  // The inventory's vendor wins over the reported one.
  r->Learn(State("default", "000413aabbcc", v1::VENDOR_YEALINK, "10.0.0.2"));
  EXPECT_EQ(r->Resolve("", "000413aabbcc").value().target.form.name, "snom");
}

}  // namespace
}  // namespace phonebus::command
