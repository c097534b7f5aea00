// `phonebus` as a person or a script meets it, without a commander: --help on
// every subcommand, usage errors (exit 2, one line), and a commander that is
// not there (exit 5, one line).
#include <gtest/gtest.h>

#include <algorithm>

#include "cli_runner.h"
#include "ports.h"

namespace phonebus::testing {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kSubcommands = {"dial",    "answer",   "hangup", "hold",
                                               "resume",  "transfer", "keys",   "dnd",
                                               "devices", "watch",    "config"};

size_t Lines(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(CliHelp, TopLevelListsSubcommandsAndExitCodes) {
  const auto r = RunCli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const auto& sub : kSubcommands) EXPECT_NE(r.out.find(sub), std::string::npos) << sub;
  for (const char* s : {"Exit codes:", "0  ok", "1  the phone or the commander refused",
                        "2  usage error, or INVALID_ARGUMENT", "3  NOT_FOUND",
                        "4  UNAUTHENTICATED or PERMISSION_DENIED",
                        "5  UNAVAILABLE or DEADLINE_EXCEEDED", "6  FAILED_PRECONDITION"}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s << "\n" << r.out;
  }
}

TEST(CliHelp, EverySubcommandExplainsItself) {
  const std::vector<std::string> connection = {
      "--commander", "PHONEBUS_COMMANDER", "--site",       "PHONEBUS_SITE",
      "--timeout",   "127.0.0.1:50051",    "--token-file", "PHONEBUS_TOKEN",
      "--tls",       "--ca-file",          "--cert-file",  "--key-file"};
  std::map<std::string, std::vector<std::string>> expected = {
      {"dial", {"device", "number", "--account", "--request-id", "--json"}},
      {"answer", {"device", "--request-id"}},
      {"hangup", {"device", "--request-id"}},
      {"hold", {"device", "--request-id"}},
      {"resume", {"device", "--request-id"}},
      {"transfer", {"device", "number", "--request-id"}},
      {"keys", {"device", "key", "DSS1-DSS10", "--request-id"}},
      {"dnd", {"device", "setting", "on or off", "--request-id"}},
      {"devices", {"--all-sites", "--json"}},
      {"watch",
       {"--site", "--all-sites", "--device", "--kind", "--state", "--no-results", "--json", "--utc",
        "--count", "--timeout", "--mqtt-broker", "PHONEBUS_MQTT_BROKER", "--mqtt-version",
        "--mqtt-username", "--mqtt-ca-file", "--mqtt-cert-file", "--mqtt-key-file",
        "tcp://127.0.0.1:1883", "call_incoming"}},
      {"config",
       {"family", "--adapter-url", "PHONEBUS_ADAPTER_URL", "--url-secret-file",
        "PHONEBUS_URL_SECRET_FILE", "--insecure-no-url-secret"}},
  };
  for (const auto& sub : kSubcommands) {
    const auto r = RunCli({sub, "--help"});
    EXPECT_EQ(r.exit_code, 0) << sub;
    EXPECT_EQ(r.err, "") << sub;
    EXPECT_NE(r.out.find("phonebus " + sub), std::string::npos) << r.out;
    auto want = expected[sub];
    if (sub != "watch" && sub != "config")
      want.insert(want.end(), connection.begin(), connection.end());
    for (const auto& s : want) EXPECT_NE(r.out.find(s), std::string::npos) << sub << ": " << s;
  }
  // Flags that mean nothing to a subscriber, and the gRPC timeout's env, stay out of watch.
  const auto watch = RunCli({"watch", "--help"});
  EXPECT_EQ(watch.out.find("--payload-format"), std::string::npos);
  EXPECT_EQ(watch.out.find("--mqtt-max-inflight"), std::string::npos);
  EXPECT_EQ(watch.out.find("--request-id"), std::string::npos);
  // Devices takes no idempotency key: it changes nothing.
  EXPECT_EQ(RunCli({"devices", "--help"}).out.find("--request-id"), std::string::npos);
}

TEST(CliUsage, MistakesExit2WithOneLineNamingTheSubcommand) {
  struct Case {
    std::vector<std::string> args;
    std::string prefix;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {{}, "phonebus: ", "subcommand"},
      {{"bogus"}, "phonebus: ", "unknown subcommand 'bogus'; one of: dial, answer"},
      {{"dial"}, "phonebus dial: ", "device"},
      {{"dial", "001565aabbcc"}, "phonebus dial: ", "number"},
      {{"dial", "001565aabbcc", "1", "2"}, "phonebus dial: ", "2"},
      {{"dial", "001565aabbcc", "1", "--timeout", "0"}, "phonebus dial: ", "--timeout"},
      {{"dial", "001565aabbcc", "1", "--commander", "nonsense"}, "phonebus dial: ", "host:port"},
      {{"dial", "001565aabbcc", "1", "--commander", "h:99999"}, "phonebus dial: ", "port"},
      {{"answer"}, "phonebus answer: ", "device"},
      {{"hangup", "a", "b"}, "phonebus hangup: ", "b"},
      {{"transfer", "001565aabbcc"}, "phonebus transfer: ", "number"},
      {{"keys", "001565aabbcc"}, "phonebus keys: ", "key"},
      {{"dnd", "001565aabbcc", "maybe"}, "phonebus dnd: ", "maybe"},
      {{"dnd", "001565aabbcc"}, "phonebus dnd: ", "setting"},
      {{"devices", "--bogus"}, "phonebus devices: ", "--bogus"},
      {{"watch", "--kind", "call_incomin"}, "phonebus watch: ", "call_incoming"},
      {{"watch", "--kind", "call_incoming,nope"}, "phonebus watch: ", "nope"},
      {{"watch", "--count", "0"}, "phonebus watch: ", "--count"},
      {{"watch", "--mqtt-broker", "http://127.0.0.1:1"}, "phonebus watch: ", "--mqtt-broker"},
      {{"watch", "--mqtt-version", "4"}, "phonebus watch: ", "--mqtt-version"},
      {{"watch", "--site", "a/b"}, "phonebus watch: ", "--site"},
      {{"config", "nokia", "--adapter-url", "http://x"}, "phonebus config: ", "nokia"},
      {{"config", "yealink", "--adapter-url", "ftp://x"}, "phonebus config: ", "--adapter-url"},
      {{"config", "yealink", "--adapter-url", "http://x"},
       "phonebus config: ",
       "--url-secret-file"},
      {{"config", "snom", "--adapter-url", "http://x", "--url-secret", "short"},
       "phonebus config: ",
       "--url-secret"},
      {{"config", "snom", "--adapter-url", "http://x", "--url-secret-file", "/nonexistent/x"},
       "phonebus config: ",
       "--url-secret-file"},
  };
  for (const auto& c : cases) {
    std::string args;
    for (const auto& a : c.args) args += a + " ";
    const auto r = RunCli(c.args);
    EXPECT_EQ(r.exit_code, 2) << args << r.err;
    EXPECT_EQ(r.out, "") << args;
    EXPECT_EQ(Lines(r.err), 1u) << args << r.err;
    EXPECT_EQ(r.err.rfind(c.prefix, 0), 0u) << args << r.err;
    EXPECT_NE(r.err.find(c.mentions), std::string::npos) << args << r.err;
  }
}

TEST(CliConfig, EveryActionUrlCarriesTheUrlSecretInItsPath) {
  const std::string secret = "cli-config-secret-0123456789";
  auto r = RunCli({"config", "yealink", "--adapter-url", "http://10.0.0.5:8080/"},
                  {"PHONEBUS_URL_SECRET=" + secret});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string want = "http://10.0.0.5:8080/" + secret + "/yealink/";
  size_t urls = 0;
  for (size_t at = r.out.find("http://"); at != std::string::npos;
       at = r.out.find("http://", at + 1)) {
    ++urls;
    EXPECT_EQ(r.out.compare(at, want.size(), want), 0) << r.out.substr(at, 80);
  }
  EXPECT_GE(urls, 40u);
  // An adapter run without a secret gets URLs without one, when asked for explicitly.
  r = RunCli(
      {"config", "snom", "--adapter-url", "http://10.0.0.5:8080", "--insecure-no-url-secret"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("http://10.0.0.5:8080/snom/"), std::string::npos) << r.out;
  // --help names the settings, never the secret the environment holds.
  r = RunCli({"config", "--help"}, {"PHONEBUS_URL_SECRET=" + secret});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("PHONEBUS_URL_SECRET"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(secret), std::string::npos) << r.out;
}

TEST(CliUsage, EnvironmentSuppliesSettingsAndIsChecked) {
  const auto r = RunCli({"answer", "001565aabbcc"}, {"PHONEBUS_COMMANDER=nonsense"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("host:port"), std::string::npos) << r.err;
}

// Every gRPC subcommand against a port nobody listens on: exit 5 at once, and
// one line that says it was the commander that could not be reached.
TEST(CliCommander, UnreachableCommanderExits5WithOneLine) {
  const std::string commander = "127.0.0.1:" + std::to_string(FreePort());
  const std::vector<std::vector<std::string>> commands = {
      {"dial", "00:15:65:AA:BB:CC", "+49 30 123456", "--account", "1001@pbx.example"},
      {"answer", "001565aabbcc"},
      {"hangup", "001565aabbcc"},
      {"hold", "001565aabbcc"},
      {"resume", "001565aabbcc"},
      {"transfer", "001565aabbcc", "1002"},
      {"keys", "001565aabbcc", "123", "OK"},
      {"dnd", "001565aabbcc", "on", "--request-id", "0190a1b2-0000-7000-8000-000000000001"},
      {"devices"},
      {"devices", "--all-sites", "--json"},
      {"devices", "1001@pbx.example"},
  };
  for (auto args : commands) {
    const std::string sub = args.front();
    args.insert(args.end(), {"--commander", commander, "--timeout", "5"});
    const auto start = std::chrono::steady_clock::now();
    const auto r = RunCli(args);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s)
        << sub << ": fail fast, not at the deadline";
    EXPECT_EQ(r.exit_code, 5) << sub << r.err;
    EXPECT_EQ(r.out, "") << sub;
    EXPECT_EQ(Lines(r.err), 1u) << sub << r.err;
    const std::string expected =
        "phonebus " + sub + ": UNAVAILABLE: cannot reach the commander at " + commander + ": ";
    EXPECT_EQ(r.err.rfind(expected, 0), 0u) << r.err;
  }
  // The address from the environment, as scripts set it once.
  const auto r = RunCli({"hangup", "001565aabbcc"}, {"PHONEBUS_COMMANDER=" + commander});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_NE(r.err.find(commander), std::string::npos) << r.err;
}

}  // namespace
}  // namespace phonebus::testing
