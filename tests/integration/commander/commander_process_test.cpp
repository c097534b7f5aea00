// phonebus-commander as an operator runs it: --help lists every setting, a bad
// setting or inventory stops start-up with a message naming it, and the
// process logs without ever writing a phone's password.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <sstream>

#include "http_get.h"
#include "mosquitto.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "pki.h"
#include "ports.h"
#include "process.h"
#include "simulator.h"
#include "subscriber.h"
#include "temp_dir.h"

namespace phonebus::command {
namespace {

using namespace std::chrono_literals;
using testing::Process;
using testing::RunProcess;

TEST(CommanderProcess, HelpListsEverySetting) {
  const auto r = RunProcess(PHONEBUS_COMMANDER_BIN, {"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--listen",
                           "--metrics-listen",
                           "--site",
                           "--inventory",
                           "--command-forms",
                           "--phone-timeout-ms",
                           "--max-queue-per-phone",
                           "--idempotency-window-s",
                           "--mqtt-broker",
                           "--config",
                           "PHONEBUS_INVENTORY",
                           "--tokens-file",
                           "--insecure-no-auth",
                           "--tls-cert-file",
                           "--tls-key-file",
                           "--tls-client-ca-file",
                           "--insecure-plaintext",
                           "--no-reflection",
                           "--mqtt-ca-file",
                           "--mqtt-cert-file",
                           "--mqtt-key-file",
                           "--mqtt-key-password-file"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
}

TEST(CommanderProcess, BadSettingsStopStartUpNamingThem) {
  const testing::TempDir dir("commander-proc");
  std::ofstream(dir.path() + "/bad.json")
      << R"({"devices": [{"id": "a", "vendor": "snom"}, {"id": "b", "vendor": "acme"}]})";
  std::ofstream(dir.path() + "/typo.json") << R"({"devices": [{"id": "a", "vendr": "snom"}]})";
  std::ofstream(dir.path() + "/forms.json")
      << R"({"rules": [{"vendor": "x", "model": "(", "form": "snom"}]})";
  const std::string free = "127.0.0.1:" + std::to_string(testing::FreePort());
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"--inventory", dir.path() + "/bad.json"}, "devices[1].vendor"},
      {{"--inventory", dir.path() + "/typo.json"}, "devices[0].vendr: unknown field"},
      {{"--inventory", dir.path() + "/missing.json"}, "missing.json: cannot read"},
      {{"--command-forms", dir.path() + "/forms.json"}, "rules[0].model"},
      {{"--listen", "nowhere"}, "--listen"},
      {{"--phone-timeout-ms", "0"}, "--phone-timeout-ms"},
      {{"--site", "a/b"}, "--site"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    for (const char* a :
         {"--insecure-no-auth", "--metrics-listen", "127.0.0.1:0", "--mqtt-broker"}) {
      args.push_back(a);
    }
    args.push_back("tcp://" + free);
    if (std::find(args.begin(), args.end(), "--listen") == args.end()) {
      args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    }
    const auto r = RunProcess(PHONEBUS_COMMANDER_BIN, args);
    EXPECT_NE(r.exit_code, 0) << c.want;
    EXPECT_NE((r.out + r.err).find(c.want), std::string::npos) << c.want << "\n" << r.err;
  }
}

// Known secrets in, every kind of failure provoked, and none of them in the
// output: not in logs, not in errors.
TEST(CommanderProcess, NeverLogsPasswords) {
  const testing::TempDir dir("commander-proc");
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
  std::ofstream(dir.path() + "/inventory.json")
      << R"({"devices": [{"id": "001565000401", "vendor": "yealink", "address": "127.0.0.1:)"
      << wrong->port() << R"(", "username": "admin", "password": "Inventory-Secret-91c2"},
      {"id": "000413000401", "vendor": "snom", "address": "127.0.0.1:)"
      << basic->port() << R"(", "username": "admin", "password_env": "SNOM_PW"}]})";
  const auto grpc_port = testing::FreePort();
  Process commander(PHONEBUS_COMMANDER_BIN,
                    {"--listen", "127.0.0.1:" + std::to_string(grpc_port), "--metrics-listen",
                     "127.0.0.1:0", "--inventory", dir.path() + "/inventory.json", "--mqtt-broker",
                     broker.uri(), "--log-level", "debug", "--insecure-no-auth"},
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
}

// Security settings that contradict each other, or leave the API open to the
// network, stop start-up naming the setting.
TEST(CommanderProcess, InsecureCombinationsStopStartUp) {
  const testing::TempDir dir("commander-proc");
  std::ofstream(dir.path() + "/tokens") << "crm hq " << std::string(64, 'a') << "\n";
  std::ofstream(dir.path() + "/plain-tokens") << "crm hq my-plain-token-0d9e\n";
  const std::string broker = "tcp://127.0.0.1:" + std::to_string(testing::FreePort());
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"--listen", "127.0.0.1:0"}, "--tokens-file: required"},
      {{"--listen", "0.0.0.0:0", "--insecure-no-auth"}, "--insecure-no-auth: only with a loopback"},
      {{"--listen", "127.0.0.1:0", "--insecure-no-auth", "--tokens-file", dir.path() + "/tokens"},
       "contradicts --tokens-file"},
      {{"--listen", "0.0.0.0:0", "--tokens-file", dir.path() + "/tokens"},
       "is reachable from other machines"},
      {{"--listen", "127.0.0.1:0", "--tokens-file", dir.path() + "/tokens", "--tls-cert-file",
        dir.path() + "/tokens"},
       "--tls-cert-file and --tls-key-file go together"},
      {{"--listen", "127.0.0.1:0", "--tokens-file", dir.path() + "/plain-tokens"},
       "line 1: SHA256 must be the token's SHA-256"},
      {{"--listen", "127.0.0.1:0", "--tokens-file", dir.path() + "/none"}, "none: cannot read"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    args.insert(args.end(), {"--metrics-listen", "127.0.0.1:0", "--mqtt-broker", broker});
    const auto r = RunProcess(PHONEBUS_COMMANDER_BIN, args);
    EXPECT_NE(r.exit_code, 0) << c.want;
    EXPECT_NE((r.out + r.err).find(c.want), std::string::npos) << c.want << "\n" << r.err;
    EXPECT_EQ((r.out + r.err).find("my-plain-token-0d9e"), std::string::npos) << r.err;
  }
}

// Known secrets in (API token, MQTT passwords, phone passwords, the TLS
// key), commands that succeed and fail in every way, and then every output
// searched: the commander's and the CLI's stdout and stderr, every MQTT
// message on '#', the /metrics body, gRPC error messages and --help.
TEST(CommanderProcess, NoSecretInAnyOutput) {
  const testing::TempDir dir("commander-proc");
  testing::Pki pki;
  const std::string token = "Api-Token-Secret-a5c2";
  const std::string mqtt_password = "Mqtt-Secret-3e8f";
  const std::string admin_password = "Mqtt-Admin-Secret-61b7";
  testing::Mosquitto broker(testing::Mosquitto::Security{
      .ca_file = pki.ca_file(),
      .cert_file = pki.server_cert(),
      .key_file = pki.server_key(),
      .users = {{"commander", mqtt_password}, {"admin", admin_password}}});
  settings::Mqtt admin_login;
  admin_login.brokers = {broker.uri()};
  admin_login.ca_file = pki.ca_file();
  admin_login.username = "admin";
  admin_login.password = admin_password;
  testing::Subscriber everything(admin_login, "#");

  phonesim::Simulator sim;
  auto wrong = sim.Add({.id = "001565000501",
                        .family = phonesim::Family::kYealinkServlet,
                        .auth = phonesim::AuthScheme::kDigest,
                        .username = "admin",
                        .password = "Phone-Pass-7f3a"});
  auto basic = sim.Add({.id = "000413000501",
                        .family = phonesim::Family::kSnom,
                        .auth = phonesim::AuthScheme::kBasic,
                        .username = "admin",
                        .password = "Phone-Pass-7f3a"});
  auto good = sim.Add({.id = "001565000502",
                       .family = phonesim::Family::kYealinkServlet,
                       .auth = phonesim::AuthScheme::kDigest,
                       .username = "admin",
                       .password = "Good-Phone-Secret-2c4d"});
  ASSERT_TRUE(wrong.ok() && basic.ok() && good.ok());
  std::ofstream(dir.path() + "/inventory.json")
      << R"({"devices": [{"id": "001565000501", "vendor": "yealink", "address": "127.0.0.1:)"
      << wrong->port() << R"(", "username": "admin", "password": "Inventory-Secret-91c2"},
      {"id": "000413000501", "vendor": "snom", "address": "127.0.0.1:)"
      << basic->port() << R"(", "username": "admin", "password_env": "SNOM_PW"},
      {"id": "001565000502", "vendor": "yealink", "address": "127.0.0.1:)"
      << good->port() << R"(", "username": "admin", "password": "Good-Phone-Secret-2c4d"}]})";
  std::ofstream(dir.path() + "/token") << token << "\n";
  std::ofstream(dir.path() + "/token.raw") << token;
  std::ofstream(dir.path() + "/mqtt-password") << mqtt_password << "\n";
  std::ofstream(dir.path() + "/wrong-mqtt-password") << "Wrong-Mqtt-Secret-90aa\n";
  ASSERT_EQ(std::system(("echo \"crm default $(openssl dgst -sha256 -r " + dir.path() +
                         "/token.raw | cut -c1-64)\" > " + dir.path() + "/tokens")
                            .c_str()),
            0);
  // A line from the middle of the server's private key.
  std::string key_line;
  {
    std::istringstream key(testing::ReadAll(pki.server_key()));
    std::getline(key, key_line);
    std::getline(key, key_line);
  }
  ASSERT_GT(key_line.size(), 20u);
  const std::vector<std::string> secrets = {token,
                                            mqtt_password,
                                            admin_password,
                                            "Phone-Pass-7f3a",
                                            "Env-Secret-55d0",
                                            "Inventory-Secret-91c2",
                                            "Good-Phone-Secret-2c4d",
                                            "Wrong-Mqtt-Secret-90aa",
                                            key_line};

  const auto grpc_port = testing::FreePort();
  const auto metrics_port = testing::FreePort();
  const std::string grpc = "127.0.0.1:" + std::to_string(grpc_port);
  Process commander(PHONEBUS_COMMANDER_BIN,
                    {"--listen",
                     grpc,
                     "--metrics-listen",
                     "127.0.0.1:" + std::to_string(metrics_port),
                     "--inventory",
                     dir.path() + "/inventory.json",
                     "--tokens-file",
                     dir.path() + "/tokens",
                     "--tls-cert-file",
                     pki.server_cert(),
                     "--tls-key-file",
                     pki.server_key(),
                     "--mqtt-broker",
                     broker.uri(),
                     "--mqtt-ca-file",
                     pki.ca_file(),
                     "--mqtt-username",
                     "commander",
                     "--mqtt-password-file",
                     dir.path() + "/mqtt-password",
                     "--log-level",
                     "debug",
                     "--instance",
                     "leak"},
                    {"SNOM_PW=Env-Secret-55d0"});
  ASSERT_TRUE(commander.WaitStderr("commander listening", 10s)) << commander.err();
  // Results are published only while the bus is up: wait for it.
  ASSERT_TRUE(everything.WaitFor(
      [](const auto& messages) {
        return std::any_of(messages.begin(), messages.end(), [](const auto& m) {
          return m.topic == "phonebus/v1/default/service/commander-leak/status" &&
                 m.payload == "online";
        });
      },
      15s))
      << commander.err();

  std::string seen;  // everything any output said
  const std::vector<std::string> tls = {"--commander", grpc,        "--ca-file",
                                        pki.ca_file(), "--timeout", "10"};
  const std::vector<std::vector<std::string>> commands = {
      {"dial", "001565000501", "2323", "--token-file", dir.path() + "/token"},  // phone refuses
      {"dial", "000413000501", "2323", "--token-file", dir.path() + "/token"},  // phone refuses
      {"dial", "001565000502", "2323", "--token-file", dir.path() + "/token"},  // works
      {"dial", "001565000502", "2323", "--site", "other", "--token-file", dir.path() + "/token"},
      {"dial", "001565000599", "2323", "--token-file", dir.path() + "/token"},   // unknown
      {"dial", "001565000502", "23;23", "--token-file", dir.path() + "/token"},  // invalid
      {"hangup", "001565000502"},                                                // no token
      {"devices", "--json", "--token-file", dir.path() + "/token"},
      {"devices", "--json", "--token-file", dir.path() + "/mqtt-password"},  // a wrong token
  };
  int failures = 0;
  for (auto args : commands) {
    args.insert(args.end(), tls.begin(), tls.end());
    const auto r = RunProcess(PHONEBUS_CLI_BIN, args);
    failures += r.exit_code != 0;
    seen += r.out + r.err;
  }
  EXPECT_EQ(failures, 7) << seen;
  // watch with a wrong MQTT password, and with the token in the environment.
  const auto watch = RunProcess(
      PHONEBUS_CLI_BIN,
      {"watch", "--mqtt-broker", broker.uri(), "--mqtt-ca-file", pki.ca_file(), "--mqtt-username",
       "commander", "--mqtt-password-file", dir.path() + "/wrong-mqtt-password", "--timeout", "2"});
  EXPECT_NE(watch.exit_code, 0);
  EXPECT_NE(watch.err.find("wrong user name or password"), std::string::npos) << watch.err;
  seen += watch.out + watch.err;
  const auto env_run =
      RunProcess(PHONEBUS_CLI_BIN, {"devices", "--commander", grpc, "--ca-file", pki.ca_file()},
                 {"PHONEBUS_TOKEN=" + token});
  EXPECT_EQ(env_run.exit_code, 0) << env_run.err;
  seen += env_run.out + env_run.err;
  // gRPC error messages as a program sees them.
  {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = testing::ReadAll(pki.ca_file());
    auto stub = v1::PhoneControl::NewStub(grpc::CreateChannel(grpc, grpc::SslCredentials(o)));
    for (const char* device : {"001565000501", "000413000501"}) {
      v1::DialRequest req;
      req.set_device(device);
      req.set_number("2323");
      req.set_request_id(std::string("leak-") + device);
      v1::DialResponse resp;
      grpc::ClientContext ctx;
      ctx.AddMetadata("authorization", "Bearer " + token);
      const auto status = stub->Dial(&ctx, req, &resp);
      EXPECT_FALSE(status.ok());
      seen += status.error_message() + resp.DebugString();
    }
  }
  const auto metrics = testing::HttpGet(metrics_port, "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("phonebus_commands_total"), std::string::npos);
  seen += metrics.body;
  // --help, with every secret also in the environment.
  const std::vector<std::string> env = {"PHONEBUS_TOKEN=" + token,
                                        "PHONEBUS_MQTT_PASSWORD=" + mqtt_password};
  for (const auto& help : {RunProcess(PHONEBUS_COMMANDER_BIN, {"--help"}, env),
                           RunProcess(PHONEBUS_CLI_BIN, {"dial", "--help"}, env),
                           RunProcess(PHONEBUS_CLI_BIN, {"watch", "--help"}, env)}) {
    EXPECT_EQ(help.exit_code, 0);
    seen += help.out + help.err;
  }

  ASSERT_TRUE(everything.WaitFor(
      [](const auto& messages) {
        size_t results = 0;
        for (const auto& m : messages) results += m.topic.ends_with("/command/result");
        return results >= 5;
      },
      10s));
  commander.Signal(SIGTERM);
  EXPECT_EQ(commander.Wait(15s), 0);
  seen += commander.out() + commander.err();
  for (const auto& m : everything.messages()) {
    seen += m.topic + m.payload + m.content_type;
    for (const auto& [k, v] : m.user_properties) seen += k + v;
  }
  EXPECT_NE(commander.err().find("call refused"), std::string::npos);
  EXPECT_NE(commander.err().find("command failed"), std::string::npos);
  // What was searched did hold what each output should say.
  for (const char* said :
       {"PERMISSION_DENIED", "UNAUTHENTICATED: unknown token", "wrong user name or password",
        "phonebus_commands_total", "--tokens-file", "command/result"}) {
    EXPECT_NE(seen.find(said), std::string::npos) << said;
  }
  for (const auto& secret : secrets) {
    EXPECT_EQ(seen.find(secret), std::string::npos) << "leaked: " << secret;
  }
  sim.Stop();
}

}  // namespace
}  // namespace phonebus::command
