// The phonebus CLI against a commander that requires mutual TLS and bearer
// tokens: the token from --token-file or PHONEBUS_TOKEN, the commander's CA
// and the client's certificate from --ca-file, --cert-file and --key-file;
// without them, or for a site the token does not cover, exit 4 with one line
// that says what is missing, never the token.
#include <gtest/gtest.h>

#include <fstream>

#include "cli_runner.h"
#include "commander.h"
#include "mosquitto.h"
#include "pki.h"
#include "simulator.h"
#include "temp_dir.h"

namespace phonebus::cli {
namespace {

using testing::RunCli;

constexpr char kToken[] = "cli-token-hq-3f0a9d";

class CliSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto phone = sim_.Add({.id = "001565cc0001", .family = phonesim::Family::kYealinkServlet});
    ASSERT_TRUE(phone.ok());
    phone_ = *phone;
    std::ofstream(dir_.path() + "/inventory.json")
        << R"({"devices": [{"id": "001565cc0001", "vendor": "yealink", "site": "hq", )"
        << R"("address": "127.0.0.1:)" << phone_.port() << "\"}]}";
    // A token file as people write them (with a newline); the tokens file
    // holds its SHA-256, made with the openssl CLI as an administrator would.
    std::ofstream(dir_.path() + "/token") << kToken << "\n";
    std::ofstream(dir_.path() + "/token.raw") << kToken;
    const std::string hash = "openssl dgst -sha256 -r " + dir_.path() + "/token.raw | cut -c1-64";
    ASSERT_EQ(std::system(("echo \"crm hq $(" + hash + ")\" > " + dir_.path() + "/tokens").c_str()),
              0);
    client_cert_ = pki_.Client("crm");

    command::CommanderSettings s;
    s.listen = "127.0.0.1:0";
    s.metrics_listen = "127.0.0.1:0";
    s.site = "hq";
    s.instance = "cli-sec";
    s.inventory = dir_.path() + "/inventory.json";
    s.tokens_file = dir_.path() + "/tokens";
    s.tls_cert_file = pki_.server_cert();
    s.tls_key_file = pki_.server_key();
    s.tls_client_ca_file = pki_.ca_file();
    s.mqtt.brokers = {broker_.uri()};
    s.log_level = "error";
    command::Finish(s);
    commander_ = std::make_unique<command::Commander>(s);
    commander_->Start();
  }

  void TearDown() override {
    commander_.reset();
    sim_.Stop();
  }

  // `phonebus ARGS` with the commander's address and, unless `tls` is false,
  // the certificates.
  testing::CliResult Cli(std::vector<std::string> args, const std::vector<std::string>& env = {},
                         bool tls = true) {
    args.insert(args.end(), {"--commander", "127.0.0.1:" + std::to_string(commander_->grpc_port()),
                             "--timeout", "5"});
    if (tls) {
      args.insert(args.end(), {"--ca-file", pki_.ca_file(), "--cert-file", client_cert_,
                               "--key-file", testing::Pki::KeyOf(client_cert_)});
    }
    return RunCli(args, env);
  }

  size_t Dials() const {
    size_t n = 0;
    for (const auto& r : phone_.Requests()) n += r.command.has_value();
    return n;
  }

  const testing::TempDir dir_{"cli-sec"};
  testing::Pki pki_;
  testing::Mosquitto broker_;
  phonesim::Simulator sim_;
  phonesim::PhoneHandle phone_;
  std::string client_cert_;
  std::unique_ptr<command::Commander> commander_;
};

TEST_F(CliSecurityTest, TokenFromAFileOrTheEnvironmentOverMutualTls) {
  const auto by_file =
      Cli({"dial", "001565cc0001", "2323", "--token-file", dir_.path() + "/token"});
  EXPECT_EQ(by_file.exit_code, 0) << by_file.err;
  const auto by_env = Cli({"hangup", "001565cc0001"}, {std::string("PHONEBUS_TOKEN=") + kToken});
  EXPECT_EQ(by_env.exit_code, 0) << by_env.err;
  const auto by_env_file =
      Cli({"devices", "--json"}, {"PHONEBUS_TOKEN_FILE=" + dir_.path() + "/token"});
  EXPECT_EQ(by_env_file.exit_code, 0) << by_env_file.err;
  EXPECT_NE(by_env_file.out.find("001565cc0001"), std::string::npos) << by_env_file.out;
  EXPECT_EQ(Dials(), 2u);
}

TEST_F(CliSecurityTest, MissingOrWrongTokenExits4SayingWhatToSend) {
  const auto none = Cli({"dial", "001565cc0001", "2323"});
  EXPECT_EQ(none.exit_code, 4) << none.err;
  EXPECT_EQ(none.err.rfind("phonebus dial: UNAUTHENTICATED: this commander requires a bearer "
                           "token",
                           0),
            0u)
      << none.err;
  EXPECT_NE(none.err.find("--token-file or PHONEBUS_TOKEN"), std::string::npos) << none.err;
  const auto wrong = Cli({"dial", "001565cc0001", "2323"}, {"PHONEBUS_TOKEN=guessed-token-77"});
  EXPECT_EQ(wrong.exit_code, 4) << wrong.err;
  EXPECT_NE(wrong.err.find("UNAUTHENTICATED: unknown token"), std::string::npos) << wrong.err;
  EXPECT_EQ(wrong.err.find("guessed-token-77"), std::string::npos) << wrong.err;
  EXPECT_EQ(Dials(), 0u);
}

TEST_F(CliSecurityTest, AnotherSitesPhoneExits4PermissionDenied) {
  const auto r = Cli(
      {"dial", "001565cc0001", "2323", "--site", "branch", "--token-file", dir_.path() + "/token"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_EQ(r.err,
            "phonebus dial: PERMISSION_DENIED: client 'crm' may not act on site 'branch' (its "
            "sites: hq)\n");
  const auto list = Cli({"devices", "--site", "branch", "--token-file", dir_.path() + "/token"});
  EXPECT_EQ(list.exit_code, 4) << list.err;
  EXPECT_EQ(Dials(), 0u);
}

TEST_F(CliSecurityTest, WithoutTheCertificatesTheCommanderIsUnreachable) {
  const std::string token = "PHONEBUS_TOKEN=" + std::string(kToken);
  // Plain text to a TLS port.
  EXPECT_EQ(Cli({"hangup", "001565cc0001"}, {token}, false).exit_code, 5);
  // TLS without the client certificate mutual TLS requires.
  const auto no_cert = Cli({"hangup", "001565cc0001", "--ca-file", pki_.ca_file()}, {token}, false);
  EXPECT_EQ(no_cert.exit_code, 5) << no_cert.err;
  // A certificate without its key is a usage error, named.
  const auto half =
      Cli({"hangup", "001565cc0001", "--ca-file", pki_.ca_file(), "--cert-file", client_cert_},
          {token}, false);
  EXPECT_EQ(half.exit_code, 2) << half.err;
  EXPECT_NE(half.err.find("--cert-file and --key-file go together"), std::string::npos) << half.err;
  EXPECT_EQ(Dials(), 0u);
}

}  // namespace
}  // namespace phonebus::cli
