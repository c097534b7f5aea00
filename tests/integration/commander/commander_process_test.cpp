// phonebus-commander as an operator runs it: --help lists every setting, a bad
// setting or inventory stops start-up with a message naming it, and the
// process logs without ever writing a phone's password.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "mosquitto.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "ports.h"
#include "process.h"
#include "simulator.h"

namespace phonebus::command {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::RunProcess;

std::string TempDir() {
  char tmpl[] = "/tmp/phonebus-commander-proc-XXXXXX";
  return mkdtemp(tmpl);
}

TEST(CommanderProcess, HelpListsEverySetting) {
  const auto r = RunProcess(PHONEBUS_COMMANDER_BIN, {"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag :
       {"--listen", "--metrics-listen", "--site", "--inventory", "--command-forms",
        "--phone-timeout-ms", "--max-queue-per-phone", "--idempotency-window-s", "--mqtt-broker",
        "--config", "PHONEBUS_INVENTORY"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

TEST(CommanderProcess, BadSettingsStopStartUpNamingThem) {
  const std::string dir = TempDir();
  std::ofstream(dir + "/bad.json")
      << R"({"devices": [{"id": "a", "vendor": "snom"}, {"id": "b", "vendor": "acme"}]})";
  std::ofstream(dir + "/typo.json") << R"({"devices": [{"id": "a", "vendr": "snom"}]})";
  std::ofstream(dir + "/forms.json")
      << R"({"rules": [{"vendor": "x", "model": "(", "form": "snom"}]})";
  const std::string free = "127.0.0.1:" + std::to_string(testing::FreePort());
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"--inventory", dir + "/bad.json"}, "devices[1].vendor"},
      {{"--inventory", dir + "/typo.json"}, "devices[0].vendr: unknown field"},
      {{"--inventory", dir + "/missing.json"}, "missing.json: cannot read"},
      {{"--command-forms", dir + "/forms.json"}, "rules[0].model"},
      {{"--listen", "nowhere"}, "--listen"},
      {{"--phone-timeout-ms", "0"}, "--phone-timeout-ms"},
      {{"--site", "a/b"}, "--site"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    for (const char* a : {"--metrics-listen", "127.0.0.1:0", "--mqtt-broker"}) args.push_back(a);
    args.push_back("tcp://" + free);
    if (std::find(args.begin(), args.end(), "--listen") == args.end()) {
      args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    }
    const auto r = RunProcess(PHONEBUS_COMMANDER_BIN, args);
    EXPECT_NE(r.exit_code, 0) << c.want;
    EXPECT_NE((r.out + r.err).find(c.want), std::string::npos) << c.want << "\n" << r.err;
  }
  std::filesystem::remove_all(dir);
}

// Known secrets in, every kind of failure provoked, and none of them in the
// output: not in logs, not in errors.
TEST(CommanderProcess, NeverLogsPasswords) {
  const std::string dir = TempDir();
  testing::Mosquitto broker;
  phonesim::Simulator sim;
  auto wrong = sim.Add({.id = "001565000401",
                        .family = phonesim::Family::kYealinkServlet,
                        .auth = phonesim::AuthScheme::kDigest,
                        .username = "admin",
                        .password = "Phone-Pass-7f3a"});
  ASSERT_TRUE(wrong.ok());
  auto basic = sim.Add({.id = "000413000401",
                        .family = phonesim::Family::kSnom,
                        .auth = phonesim::AuthScheme::kBasic,
                        .username = "admin",
                        .password = "Phone-Pass-7f3a"});
  ASSERT_TRUE(basic.ok());
  std::ofstream(dir + "/inventory.json")
      << R"({"devices": [{"id": "001565000401", "vendor": "yealink", "address": "127.0.0.1:)"
      << wrong->port() << R"(", "username": "admin", "password": "Inventory-Secret-91c2"},
      {"id": "000413000401", "vendor": "snom", "address": "127.0.0.1:)"
      << basic->port() << R"(", "username": "admin", "password_env": "SNOM_PW"}]})";
  const auto grpc_port = testing::FreePort();
  Process commander(PHONEBUS_COMMANDER_BIN,
                    {"--listen", "127.0.0.1:" + std::to_string(grpc_port), "--metrics-listen",
                     "127.0.0.1:0", "--inventory", dir + "/inventory.json", "--mqtt-broker",
                     broker.uri(), "--log-level", "debug"},
                    {"SNOM_PW=Env-Secret-55d0"});
  ASSERT_TRUE(commander.WaitStderr("commander listening", 10s)) << commander.err();
  auto stub = v1::PhoneControl::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(grpc_port), grpc::InsecureChannelCredentials()));
  int n = 0;
  for (const char* device : {"001565000401", "000413000401"}) {
    v1::DialRequest req;
    req.set_device(device);
    req.set_number("2323");
    req.set_request_id("s-" + std::to_string(++n));
    v1::DialResponse resp;
    grpc::ClientContext ctx;
    const auto status = stub->Dial(&ctx, req, &resp);
    EXPECT_FALSE(status.ok());
    for (const char* secret : {"Inventory-Secret-91c2", "Env-Secret-55d0", "Phone-Pass-7f3a"}) {
      EXPECT_EQ(status.error_message().find(secret), std::string::npos);
      EXPECT_EQ(resp.DebugString().find(secret), std::string::npos);
    }
  }
  commander.Signal(SIGTERM);
  EXPECT_EQ(commander.Wait(15s), 0);
  EXPECT_NE(commander.err().find("command failed"), std::string::npos) << commander.err();
  for (const char* secret : {"Inventory-Secret-91c2", "Env-Secret-55d0", "Phone-Pass-7f3a"}) {
    EXPECT_EQ(commander.err().find(secret), std::string::npos) << secret;
    EXPECT_EQ(commander.out().find(secret), std::string::npos) << secret;
  }
  sim.Stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace phonebus::command
