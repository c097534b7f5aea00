// phonebus-adapter as an operator meets it: --help, settings from flags,
// environment and config file, clear start-up errors, and a clean SIGTERM.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "http_get.h"
#include "mosquitto.h"
#include "pki.h"
#include "ports.h"
#include "temp_dir.h"

namespace phonebus {
namespace {

using namespace std::chrono_literals;

constexpr const char* kUrlSecret = "cli-test-secret-0123456789";
const std::string kAt = std::string("/") + kUrlSecret;

struct Run {
  int exit_code;
  std::string output;
};

Run RunAdapter(const std::string& args, const std::string& env = {}) {
  FILE* pipe = popen((env + " " + PHONEBUS_ADAPTER_BIN + " " + args + " 2>&1").c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TEST(AdapterCli, HelpListsEverySettingWithItsEnvironmentVariable) {
  const auto r = RunAdapter(
      "--help", "PHONEBUS_MQTT_PASSWORD=hunter2-secret PHONEBUS_URL_SECRET=url-hunter2-secret");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* s :
       {"--listen", "PHONEBUS_LISTEN", "--mqtt-broker", "PHONEBUS_MQTT_BROKER", "--durability",
        "--outbox-max-mb", "--max-url-bytes", "--config", "--softphone-param-remote-party",
        "--payload-format", "--mqtt-version", "--url-secret-file", "--insecure-no-url-secret",
        "--allow-source", "--tls-cert-file", "--tls-key-file", "--tls-listen",
        "--refuse-after-failures", "--max-connections-per-source"}) {
    EXPECT_NE(r.output.find(s), std::string::npos) << s;
  }
  EXPECT_EQ(r.output.find("hunter2-secret"), std::string::npos);
}

TEST(AdapterCli, NoUrlSecretIsAStartUpErrorUnlessExplicitlyInsecure) {
  auto r = RunAdapter("--outbox-dir /tmp/phonebus-cli-unused");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("--url-secret-file"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--insecure-no-url-secret"), std::string::npos) << r.output;
}

TEST(AdapterCli, BadSettingsStopStartUpNamingTheSetting) {
  struct Case {
    std::string args;
    std::string named;
  };
  const testing::TempDir dir("cli-secret");
  std::ofstream(dir.path() + "/short") << "short-secret\n";  // 12 characters
  std::ofstream(dir.path() + "/garbage.pem") << "not a certificate\n";
  std::ofstream(dir.path() + "/url-secret") << kUrlSecret << "\n";
  const std::string ok = " --url-secret-file " + dir.path() + "/url-secret";
  const std::string tls = " --tls-listen 127.0.0.1:0";
  testing::Pki pki;
  const std::string good_cert = " --tls-cert-file " + pki.server_cert();
  const std::string other_key = testing::Pki::KeyOf(pki.Client("someone-else"));
  for (const auto& c : std::vector<Case>{
           {"--url-secret-file " + dir.path() + "/missing", "--url-secret-file"},
           {"--url-secret-file " + dir.path() + "/short", "--url-secret-file"},
           {"--url-secret short", "--url-secret"},
           {"--url-secret " + std::string(kUrlSecret) + ok, "--url-secret"},
           {"--insecure-no-url-secret" + ok, "--insecure-no-url-secret"},
           {"--allow-source 10.0.0.1/8" + ok, "--allow-source"},
           {"--allow-source nonsense" + ok, "--allow-source"},
           {"--tls-cert-file x.pem --tls-key-file y.pem" + ok, "--tls-listen"},
           {tls + " --tls-key-file " + dir.path() + "/garbage.pem" + ok, "--tls-cert-file"},
           {tls + " --tls-cert-file " + dir.path() + "/garbage.pem --tls-key-file " + dir.path() +
                "/garbage.pem" + ok,
            "--tls-cert-file"},
           {tls + good_cert + " --tls-key-file " + dir.path() + "/garbage.pem" + ok,
            "--tls-key-file"},
           {tls + good_cert + " --tls-key-file " + other_key + ok, "--tls-key-file"},
       }) {
    const auto r = RunAdapter(c.args + " --mqtt-broker tcp://127.0.0.1:1 --outbox-dir " +
                              dir.path() + "/outbox");
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find(c.named), std::string::npos) << c.args << ": " << r.output;
    EXPECT_EQ(r.output.find(kUrlSecret), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("short-secret"), std::string::npos) << r.output;
  }
  for (const auto& c : std::vector<Case>{{"--listen nonsense", "--listen"},
                                         {"--durability sometimes", "--durability"},
                                         {"--mqtt-broker http://x:1", "--mqtt-broker"},
                                         {"--mqtt-version 4", "--mqtt-version"},
                                         {"--site a/b", "--site"},
                                         {"--listen 999.1.1.1:80", "--listen"}}) {
    const auto r = RunAdapter(c.args + ok + " --outbox-dir /tmp/phonebus-cli-unused");
    EXPECT_NE(r.exit_code, 0) << c.args;
    EXPECT_NE(r.output.find(c.named), std::string::npos) << c.args << ": " << r.output;
  }
}

class AdapterProcessTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  void Spawn(std::vector<std::string> args, std::vector<std::string> env = {}) {
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test (it would hold ctest)
      for (auto& e : env) putenv(e.data());
      args.insert(args.begin(), PHONEBUS_ADAPTER_BIN);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  bool WaitHealthy(unsigned short port) {
    for (int i = 0; i < 500; ++i) {
      if (testing::HttpGet(port, "/healthz", 200ms).status == 200) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }
  const testing::TempDir dir_{"cli"};
  pid_t pid_ = -1;
  testing::Mosquitto broker_;
};

TEST_F(AdapterProcessTest, ConfigFileAndEnvironmentAreRead) {
  const auto port = testing::FreePort();
  std::ofstream(dir_.path() + "/url-secret") << kUrlSecret << "\n";
  std::ofstream(dir_.path() + "/adapter.toml")
      << "listen = \"127.0.0.1:" << port << "\"\n"
      << "outbox-dir = \"" << dir_.path() << "/outbox\"\n"
      << "url-secret-file = \"" << dir_.path() << "/url-secret\"\n";
  Spawn({"--config", dir_.path() + "/adapter.toml"},
        {"PHONEBUS_MQTT_BROKER=" + broker_.uri(), "PHONEBUS_SITE=fromenv"});
  ASSERT_TRUE(WaitHealthy(port));
  EXPECT_EQ(testing::HttpGet(port, kAt + "/yealink/dnd_on?mac=001565aabbcc").status, 200);
  EXPECT_EQ(testing::HttpGet(port, "/yealink/dnd_on?mac=001565aabbcc").status, 403);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() + "/outbox"));
  const auto metrics = testing::HttpGet(port, "/metrics").body;
  EXPECT_NE(metrics.find("phonebus_events_total{family=\"yealink\",kind=\"dnd_on\"} 1"),
            std::string::npos)
      << metrics;
}

TEST_F(AdapterProcessTest, SigtermDrainsAndExitsCleanly) {
  const auto port = testing::FreePort();
  Spawn({"--listen=127.0.0.1:" + std::to_string(port), "--mqtt-broker=" + broker_.uri(),
         "--outbox-dir=" + dir_.path() + "/outbox"},
        {std::string("PHONEBUS_URL_SECRET=") + kUrlSecret});
  ASSERT_TRUE(WaitHealthy(port));
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(testing::HttpGet(port, kAt + "/yealink/dnd_on?mac=001565aabbcc").status, 200);
  }
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(testing::HttpGet(port, "/healthz", 200ms).status, 0);  // no longer listening
}

}  // namespace
}  // namespace phonebus
