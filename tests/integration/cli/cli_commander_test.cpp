// `phonebus` against the real commander: the binary as its own process, a
// Commander in-process with an inventory of simulated phones (real HTTP with
// auth), a real mosquitto. Checks what the CLI promises a person or a script:
// what reaches the phone, the stdout line, the one-line error and the exit
// code for each outcome, a repeated --request-id, the devices table and JSON
// with paging, and watch printing the commander's results.
//
// One commander, broker and simulator serve the whole suite (SetUpTestSuite);
// each test clears the phones' records and uses its own request ids.
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>

#include "cli_runner.h"
#include "commander.h"
#include "mosquitto.h"
#include "mqtt_client.h"
#include "phonebus/v1/control.pb.h"
#include "ports.h"
#include "simulator.h"
#include "temp_dir.h"
#include "topics.h"

namespace phonebus::testing {
namespace {

using namespace std::chrono_literals;
using phonesim::AuthScheme;
using phonesim::Family;
using phonesim::PhoneConfig;
using phonesim::PhoneHandle;

constexpr int kPhoneTimeoutMs = 400;
// Learned devices at site "floor2": more than the CLI's page of 500.
constexpr int kLearned = 505;
const std::string kUuid = "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

std::vector<std::string> SplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The commands a phone understood, in order.
std::vector<phonesim::Command> Commands(const PhoneHandle& phone) {
  std::vector<phonesim::Command> out;
  for (const auto& r : phone.Requests()) {
    if (r.command) out.push_back(*r.command);
  }
  return out;
}

std::string LearnedId(int i) {
  char id[13];
  std::snprintf(id, sizeof id, "0015650b%04x", i);
  return id;
}

// Everything the suite shares; built once.
struct World {
  Mosquitto broker;
  phonesim::Simulator sim;
  const testing::TempDir dir{"cli-commander"};
  PhoneHandle yealink, snom, soft, wrong, fenced, hung;
  unsigned short gone_port = 0;
  size_t inventory_size = 0;
  std::unique_ptr<command::Commander> commander;
  std::string address;  // the commander's gRPC host:port

  PhoneHandle Add(PhoneConfig config) {
    auto phone = sim.Add(std::move(config));
    if (!phone.ok()) throw std::runtime_error(phone.status().ToString());
    return *phone;
  }
  std::vector<PhoneHandle> phones() const { return {yealink, snom, soft, wrong, fenced, hung}; }
};

class CliCommanderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto w = std::make_unique<World>();
    w->yealink = w->Add({.id = "001565aabbcc",
                         .family = Family::kYealinkServlet,
                         .auth = AuthScheme::kDigest,
                         .username = "admin",
                         .password = "secret-a",
                         .account = "1001@pbx.example"});
    w->snom = w->Add({.id = "000413aabbcc",
                      .family = Family::kSnom,
                      .auth = AuthScheme::kBasic,
                      .username = "admin",
                      .password = "secret-b",
                      .account = "2001@pbx.example"});
    w->soft = w->Add({.id = "agent17-soft", .family = Family::kSoftphone});
    w->wrong = w->Add({.id = "001565000401",
                       .family = Family::kYealinkServlet,
                       .auth = AuthScheme::kDigest,
                       .username = "admin",
                       .password = "the-real-one"});
    w->fenced = w->Add({.id = "001565000403",
                        .family = Family::kYealinkServlet,
                        .auth = AuthScheme::kDigest,
                        .username = "admin",
                        .password = "secret-f",
                        .allowed_ips = {"10.9.9.9"}});
    w->hung = w->Add({.id = "001565000504",
                      .family = Family::kYealinkServlet,
                      .failure = phonesim::Failure::kHang});
    w->gone_port = FreePort();

    const auto entry = [](const PhoneHandle& p, const std::string& vendor,
                          const std::string& extra) {
      return "{\"id\": \"" + p.id() + "\", \"vendor\": \"" + vendor + "\", \"model\": \"" +
             p.config().model + "\", \"firmware\": \"" + p.config().firmware +
             "\", \"address\": \"127.0.0.1:" + std::to_string(p.port()) + "\"" + extra + "}";
    };
    std::ofstream(w->dir.path() + "/inventory.json")
        << "{\"devices\": [\n"
        << entry(w->yealink, "yealink",
                 R"(, "username": "admin", "password": "secret-a", "account": "1001@pbx.example")")
        << ",\n"
        << entry(w->snom, "snom",
                 R"(, "username": "admin", "password": "secret-b", "account": "2001@pbx.example")")
        << ",\n"
        << entry(w->soft, "softphone", "") << ",\n"
        << entry(w->wrong, "yealink", R"(, "username": "admin", "password": "a-wrong-one")")
        << ",\n"
        << entry(w->fenced, "yealink", R"(, "username": "admin", "password": "secret-f")") << ",\n"
        << entry(w->hung, "yealink", "") << ",\n"
        << R"({"id": "0015650000ff", "vendor": "yealink", "address": "127.0.0.1:)" << w->gone_port
        << "\"}\n]}\n";
    w->inventory_size = 7;

    command::CommanderSettings s;
    s.listen = "127.0.0.1:0";
    // About commands, not callers: commander_security_test covers tokens.
    s.insecure_no_auth = true;
    s.metrics_listen = "127.0.0.1:0";
    s.instance = "cli-test";
    s.inventory = w->dir.path() + "/inventory.json";
    s.phone_timeout_ms = kPhoneTimeoutMs;
    s.mqtt.brokers = {w->broker.uri()};
    s.log_level = "error";
    command::Finish(s);  // as main() does: checks, and applies the log level
    w->commander = std::make_unique<command::Commander>(s);
    w->commander->Start();
    w->address = "127.0.0.1:" + std::to_string(w->commander->grpc_port());
    PublishLearned(*w);
    world_ = w.release();
  }

  static void TearDownTestSuite() {
    if (world_ == nullptr) return;
    world_->commander.reset();
    world_->sim.Stop();
    delete world_;
    world_ = nullptr;
  }

  // kLearned retained device states, as the adapter publishes them; returns
  // once the commander learned them all (so its bus connection is up too).
  static void PublishLearned(World& w) {
    mqtt_client::Options o;
    o.mqtt.brokers = {w.broker.uri()};
    o.mqtt.max_inflight = 2 * kLearned;
    o.client_id = "cli-test-adapter";
    mqtt_client::Client adapter(o);
    if (!adapter.Connect().ok()) throw std::runtime_error("cannot connect to mosquitto");
    const auto now = google::protobuf::util::TimeUtil::GetCurrentTime();
    for (int i = 0; i < kLearned; ++i) {
      v1::DeviceState state;
      state.set_site("floor2");
      state.mutable_device()->set_id(LearnedId(i));
      state.mutable_device()->set_vendor(v1::VENDOR_YEALINK);
      state.mutable_device()->set_model("T54W");
      state.mutable_device()->set_firmware("96.86.0.100");
      state.mutable_device()->set_ip("10.2." + std::to_string(i / 256) + "." +
                                     std::to_string(i % 256));
      state.add_accounts()->set_account(std::to_string(3000 + i) + "@pbx.example");
      *state.mutable_last_seen() = now;
      const auto st = adapter.Publish(
          {topics::State("floor2", LearnedId(i)), state.SerializeAsString(), 1, true, "", {}},
          static_cast<uint64_t>(i));
      if (!st.ok()) throw std::runtime_error("publish: " + st.ToString());
    }
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (w.commander->registry().size() < w.inventory_size + kLearned) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("the commander did not learn the published devices");
      }
      std::this_thread::sleep_for(20ms);
    }
    adapter.Close();
  }

  void SetUp() override {
    ASSERT_NE(world_, nullptr);
    for (auto& phone : world_->phones()) phone.ClearRecords();
  }

  // `phonebus ARGS --commander <the test's>`.
  static CliResult Cli(std::vector<std::string> args) {
    args.insert(args.end(), {"--commander", world_->address});
    return RunCli(args);
  }

  static World& w() { return *world_; }

  static World* world_;
};

World* CliCommanderTest::world_ = nullptr;

// Nothing on stdout, one line on stderr starting with `prefix`.
void ExpectOneLineError(const CliResult& r, const std::string& prefix) {
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(SplitLines(r.err).size(), 1u) << r.err;
  EXPECT_EQ(r.err.rfind(prefix, 0), 0u) << "want the prefix " << prefix << "\n" << r.err;
}

TEST_F(CliCommanderTest, DialReachesThePhoneWithTheNumberAndPrintsTheResult) {
  const auto r = Cli({"dial", "001565aabbcc", "+49 (30) 123-456"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(std::regex_match(
      r.out, std::regex("001565aabbcc: Dial OK  phone 200  [0-9.]+m?s  request " + kUuid + "\n")))
      << r.out;
  const auto commands = Commands(w().yealink);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].kind, phonesim::CommandKind::kDial);
  EXPECT_EQ(commands[0].number, "+4930123456");  // visual separators dropped, '+' kept
  EXPECT_EQ(commands[0].account, "1001@pbx.example");
}

// DEVICE goes to the commander as typed; its registry knows every spelling.
TEST_F(CliCommanderTest, DeviceByAnyMacSpellingOrSipAccount) {
  for (const std::string device : {"00:15:65:AA:BB:CC", "00-15-65-aa-bb-cc", "0015.65AA.BBCC",
                                   "001565AABBCC", "1001", "1001@pbx.example"}) {
    const auto r = Cli({"dial", device, "2323"});
    EXPECT_EQ(r.exit_code, 0) << device << ": " << r.err;
    EXPECT_EQ(r.out.rfind("001565aabbcc: Dial OK", 0), 0u) << device << ": " << r.out;
  }
  EXPECT_EQ(Commands(w().yealink).size(), 6u);
}

TEST_F(CliCommanderTest, DialJsonPrintsTheCommandResult) {
  const auto r = Cli({"dial", "2001", "2323", "--json", "--request-id", "cli-json-1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(SplitLines(r.out).size(), 1u) << r.out;
  v1::CommandResult result;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &result).ok()) << r.out;
  EXPECT_EQ(result.command(), "Dial");
  EXPECT_EQ(result.code(), 0);
  EXPECT_EQ(result.device_id(), "000413aabbcc");
  EXPECT_EQ(result.site(), "default");
  EXPECT_EQ(result.request_id(), "cli-json-1");
  EXPECT_EQ(result.instance(), "cli-test");
  EXPECT_FALSE(result.replayed());
  EXPECT_NE(r.out.find("\"request_id\""), std::string::npos) << "field names as in the .proto";
  ASSERT_EQ(Commands(w().snom).size(), 1u);
  EXPECT_EQ(Commands(w().snom)[0].number, "2323");
}

TEST_F(CliCommanderTest, InvalidNumberExits2AndReachesNoPhone) {
  for (const std::string number : {"2323;OK", "2323&key=OK", "sip:1001@pbx"}) {
    const auto r = Cli({"dial", "001565aabbcc", number});
    EXPECT_EQ(r.exit_code, 2) << number << ": " << r.err;
    ExpectOneLineError(r, "phonebus dial: INVALID_ARGUMENT: number:");
  }
  const auto keys = Cli({"keys", "001565aabbcc", "OK;X"});
  EXPECT_EQ(keys.exit_code, 2) << keys.err;
  ExpectOneLineError(keys, "phonebus keys: INVALID_ARGUMENT: keys[0]:");
  EXPECT_EQ(w().yealink.Requests().size(), 0u);
}

TEST_F(CliCommanderTest, UnknownDeviceExits3) {
  const auto r = Cli({"dial", "de:ad:be:ef:00:01", "2323"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  ExpectOneLineError(r, "phonebus dial: NOT_FOUND: device \"de:ad:be:ef:00:01\"");
  const auto other_site = Cli({"hangup", "001565aabbcc", "--site", "floor2"});
  EXPECT_EQ(other_site.exit_code, 3) << other_site.err;
  ExpectOneLineError(other_site, "phonebus hangup: NOT_FOUND: ");
  const auto get = Cli({"devices", "9999@pbx.example"});
  EXPECT_EQ(get.exit_code, 3) << get.err;
  ExpectOneLineError(get, "phonebus devices: NOT_FOUND: device \"9999@pbx.example\"");
  EXPECT_EQ(w().yealink.Requests().size(), 0u);
}

TEST_F(CliCommanderTest, WrongPasswordExits4WithoutRetrying) {
  const auto r = Cli({"dial", "001565000401", "2323"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  ExpectOneLineError(r, "phonebus dial: UNAUTHENTICATED: phone 001565000401");
  EXPECT_NE(r.err.find("inventory"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("a-wrong-one"), std::string::npos) << r.err;
  EXPECT_EQ(w().wrong.Requests().size(), 2u);  // the challenge and one answer to it
  EXPECT_EQ(w().wrong.counters().commands, 0u);
}

TEST_F(CliCommanderTest, PhoneRefusingThisHostExits4) {
  const auto r = Cli({"answer", "001565000403"});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  ExpectOneLineError(r, "phonebus answer: PERMISSION_DENIED: phone 001565000403");
  EXPECT_NE(r.err.find("action_uri_limit_ip"), std::string::npos) << r.err;
  EXPECT_EQ(w().fenced.counters().commands, 0u);
}

TEST_F(CliCommanderTest, CommandThePhoneCannotDoExits6) {
  const auto r = Cli({"hangup", "agent17-soft"});
  EXPECT_EQ(r.exit_code, 6) << r.err;
  ExpectOneLineError(r, "phonebus hangup: FAILED_PRECONDITION: ");
  EXPECT_EQ(w().soft.Requests().size(), 0u);
}

TEST_F(CliCommanderTest, UnreachablePhoneExits5) {
  const auto r = Cli({"dial", "0015650000ff", "2323"});
  EXPECT_EQ(r.exit_code, 5) << r.err;
  ExpectOneLineError(r, "phonebus dial: UNAVAILABLE: phone 0015650000ff at 127.0.0.1:" +
                            std::to_string(w().gone_port) + " is unreachable");
  // The commander answered: the message does not blame the commander.
  EXPECT_EQ(r.err.find("cannot reach the commander"), std::string::npos) << r.err;
  // Nothing was sent, so no retry advice either.
  EXPECT_EQ(r.err.find("--request-id"), std::string::npos) << r.err;
}

TEST_F(CliCommanderTest, HungPhoneExits5AndARetryOnlyReplays) {
  const auto started = std::chrono::steady_clock::now();
  const auto r = Cli({"dial", "001565000504", "2323", "--request-id", "cli-hung-1"});
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(r.exit_code, 5) << r.err;
  ExpectOneLineError(r, "phonebus dial: DEADLINE_EXCEEDED: phone 001565000504");
  EXPECT_NE(r.err.find("may or may not have been carried out"), std::string::npos) << r.err;
  // The commander's verdict is final: no advice to retry.
  EXPECT_EQ(r.err.find("retry with"), std::string::npos) << r.err;
  EXPECT_GE(took, std::chrono::milliseconds(kPhoneTimeoutMs));
  EXPECT_LT(took, 5s);
  ASSERT_TRUE(w().hung.WaitForRequests(1, 2s));

  // Retrying the id sends nothing again: the first outcome comes back, marked.
  const auto again = Cli({"dial", "001565000504", "2323", "--request-id", "cli-hung-1"});
  EXPECT_EQ(again.exit_code, 5) << again.err;
  ExpectOneLineError(again, "phonebus dial: DEADLINE_EXCEEDED: phone 001565000504");
  EXPECT_NE(again.err.find("[replayed"), std::string::npos) << again.err;
  EXPECT_EQ(w().hung.Requests().size(), 1u);

  // The CLI's deadline shorter than the phone timeout: the commander honours
  // the caller's deadline and still gives its verdict in time.
  const auto impatient_started = std::chrono::steady_clock::now();
  const auto impatient =
      Cli({"dial", "001565000504", "2324", "--timeout", "0.2", "--request-id", "cli-hung-2"});
  EXPECT_EQ(impatient.exit_code, 5) << impatient.err;
  ExpectOneLineError(impatient, "phonebus dial: DEADLINE_EXCEEDED: ");
  EXPECT_LT(std::chrono::steady_clock::now() - impatient_started, 2s);
}

TEST_F(CliCommanderTest, RepeatedRequestIdRingsOnceAndSaysReplayed) {
  const auto first = Cli({"dial", "001565aabbcc", "2323", "--request-id", "cli-crm-42"});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_TRUE(std::regex_match(
      first.out, std::regex("001565aabbcc: Dial OK  phone 200  [0-9.]+m?s  request cli-crm-42\n")))
      << first.out;
  // Again, and by another name for the same phone.
  for (const std::string device : {"001565aabbcc", "1001@pbx.example"}) {
    const auto again = Cli({"dial", device, "2323", "--request-id", "cli-crm-42"});
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_TRUE(std::regex_match(
        again.out,
        std::regex("001565aabbcc: Dial OK  phone 200  [0-9.]+m?s  request cli-crm-42  replayed\n")))
        << again.out;
  }
  // The same id for a different action is refused.
  const auto misuse = Cli({"dial", "001565aabbcc", "9999", "--request-id", "cli-crm-42"});
  EXPECT_EQ(misuse.exit_code, 2) << misuse.err;
  ExpectOneLineError(misuse, "phonebus dial: INVALID_ARGUMENT: request_id:");
  EXPECT_EQ(Commands(w().yealink).size(), 1u);
}

TEST_F(CliCommanderTest, KeysDndAndCallControlOnAYealink) {
  struct Case {
    std::vector<std::string> args;
    std::string command;  // in the stdout line
    std::vector<std::string> keys;
  };
  const std::vector<Case> cases = {
      {{"keys", "001565aabbcc", "12#", "ok", "line2"}, "SendKeys", {"1", "2", "POUND", "OK", "L2"}},
      {{"dnd", "001565aabbcc", "on"}, "SetDnd", {"DNDOn"}},
      {{"answer", "001565aabbcc"}, "Answer", {"OK"}},
      {{"hold", "001565aabbcc"}, "Hold", {"F_HOLD"}},
      {{"resume", "001565aabbcc"}, "Resume", {"F_HOLD"}},
      {{"transfer", "001565aabbcc", "10-02"}, "Transfer", {"F_TRANSFER", "1002", "F_TRANSFER"}},
      {{"hangup", "001565aabbcc"}, "Hangup", {"X"}},
      {{"dnd", "001565aabbcc", "off"}, "SetDnd", {"DNDOff"}},
  };
  for (const auto& c : cases) {
    w().yealink.ClearRecords();
    const auto r = Cli(c.args);
    ASSERT_EQ(r.exit_code, 0) << c.args[0] << ": " << r.err;
    EXPECT_EQ(r.err, "");
    EXPECT_EQ(r.out.rfind("001565aabbcc: " + c.command + " OK  phone 200  ", 0), 0u) << r.out;
    const auto commands = Commands(w().yealink);
    ASSERT_EQ(commands.size(), 1u) << c.args[0];
    EXPECT_EQ(commands[0].kind, phonesim::CommandKind::kKeys) << c.args[0];
    EXPECT_EQ(commands[0].keys, c.keys) << c.args[0];
    if (c.command == "SetDnd") {
      EXPECT_EQ(w().yealink.dnd(), c.args[2] == "on");
    }
  }
}

// The rows of the devices table, header first; checks the columns line up.
std::vector<std::vector<std::string>> TableRows(const std::string& out) {
  const auto lines = SplitLines(out);
  std::vector<std::vector<std::string>> rows;
  if (lines.empty()) return rows;
  std::vector<size_t> starts;
  for (size_t i = 0; i < lines[0].size(); ++i) {
    if (lines[0][i] != ' ' && (i == 0 || lines[0][i - 1] == ' ')) starts.push_back(i);
  }
  // "LAST SEEN" is one column.
  if (starts.size() == 10) starts.pop_back();
  for (const auto& line : lines) {
    std::vector<std::string> row;
    for (size_t k = 0; k < starts.size(); ++k) {
      const size_t end = k + 1 < starts.size() ? starts[k + 1] : line.size();
      EXPECT_TRUE(starts[k] == 0 || line[starts[k] - 1] == ' ') << "misaligned: " << line;
      std::string cell = line.substr(starts[k], end - starts[k]);
      while (!cell.empty() && cell.back() == ' ') cell.pop_back();
      row.push_back(cell);
    }
    rows.push_back(row);
  }
  return rows;
}

TEST_F(CliCommanderTest, DevicesTableListsTheInventory) {
  const auto r = Cli({"devices"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out.find("secret"), std::string::npos) << r.out;
  const auto rows = TableRows(r.out);
  ASSERT_EQ(rows.size(), 1 + w().inventory_size) << r.out;
  EXPECT_EQ(rows[0], (std::vector<std::string>{"SITE", "ID", "VENDOR", "MODEL", "FIRMWARE",
                                               "ADDRESS", "ACCOUNTS", "SOURCE", "LAST SEEN"}));
  std::map<std::string, std::vector<std::string>> by_id;
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 9u) << r.out;
    EXPECT_EQ(rows[i][0], "default");
    EXPECT_EQ(rows[i][7], "inventory");
    EXPECT_EQ(rows[i][8], "never");
    by_id[rows[i][1]] = rows[i];
  }
  ASSERT_EQ(by_id.size(), w().inventory_size);
  const auto row = [](const PhoneHandle& p, const std::string& vendor,
                      const std::string& accounts) {
    return std::vector<std::string>{"default",
                                    p.id(),
                                    vendor,
                                    p.config().model,
                                    p.config().firmware,
                                    "127.0.0.1:" + std::to_string(p.port()),
                                    accounts,
                                    "inventory",
                                    "never"};
  };
  EXPECT_EQ(by_id["001565aabbcc"], row(w().yealink, "yealink", "1001@pbx.example"));
  EXPECT_EQ(by_id["000413aabbcc"], row(w().snom, "snom", "2001@pbx.example"));
  EXPECT_EQ(by_id["agent17-soft"], row(w().soft, "softphone", "-"));
  EXPECT_EQ(by_id["001565000504"], row(w().hung, "yealink", "-"));
  EXPECT_EQ(by_id["0015650000ff"][5], "127.0.0.1:" + std::to_string(w().gone_port));
  EXPECT_EQ(by_id["0015650000ff"][3], "-");  // no model in the inventory
  // In (site, id) order.
  std::vector<std::string> ids;
  for (size_t i = 1; i < rows.size(); ++i) ids.push_back(rows[i][1]);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

TEST_F(CliCommanderTest, DevicesJsonIsOneDeviceInfoPerLine) {
  const auto r = Cli({"devices", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.find("secret"), std::string::npos);
  const auto lines = SplitLines(r.out);
  ASSERT_EQ(lines.size(), w().inventory_size);
  std::set<std::string> ids;
  for (const auto& line : lines) {
    v1::DeviceInfo info;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &info).ok()) << line;
    EXPECT_EQ(info.site(), "default");
    EXPECT_EQ(info.source(), v1::DEVICE_SOURCE_INVENTORY);
    ids.insert(info.id());
    if (info.id() == "001565aabbcc") {
      EXPECT_EQ(info.vendor(), v1::VENDOR_YEALINK);
      EXPECT_TRUE(info.has_credentials());
      EXPECT_EQ(info.address(), "127.0.0.1:" + std::to_string(w().yealink.port()));
      ASSERT_EQ(info.accounts_size(), 1);
      EXPECT_EQ(info.accounts(0), "1001@pbx.example");
      EXPECT_NE(line.find("\"has_credentials\""), std::string::npos) << "names as in the .proto";
    }
  }
  EXPECT_EQ(ids,
            (std::set<std::string>{"000413aabbcc", "0015650000ff", "001565000401", "001565000403",
                                   "001565000504", "001565aabbcc", "agent17-soft"}));
}

TEST_F(CliCommanderTest, DevicesOneDeviceByAccountOrMac) {
  for (const std::string device : {"1001", "1001@pbx.example", "00-15-65-AA-BB-CC"}) {
    const auto r = Cli({"devices", device});
    ASSERT_EQ(r.exit_code, 0) << device << ": " << r.err;
    const auto rows = TableRows(r.out);
    ASSERT_EQ(rows.size(), 2u) << device << ": " << r.out;
    EXPECT_EQ(rows[1][1], "001565aabbcc") << device;
    EXPECT_EQ(rows[1][6], "1001@pbx.example") << device;
  }
  const auto learned = Cli({"devices", "3007", "--site", "floor2", "--json"});
  ASSERT_EQ(learned.exit_code, 0) << learned.err;
  v1::DeviceInfo info;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(learned.out, &info).ok()) << learned.out;
  EXPECT_EQ(info.id(), LearnedId(7));
  EXPECT_EQ(info.source(), v1::DEVICE_SOURCE_LEARNED);
  EXPECT_EQ(info.state().device().model(), "T54W");
}

// More devices than the CLI asks for in one page: every one, once, in order.
TEST_F(CliCommanderTest, DevicesPagesThroughALargeRegistry) {
  const auto table = Cli({"devices", "--site", "floor2"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  const auto rows = TableRows(table.out);
  ASSERT_EQ(rows.size(), 1u + kLearned);
  for (int i = 0; i < kLearned; ++i) {
    const auto& row = rows[static_cast<size_t>(i) + 1];
    ASSERT_EQ(row.size(), 9u);
    EXPECT_EQ(row[0], "floor2");
    EXPECT_EQ(row[1], LearnedId(i));
    EXPECT_EQ(row[2], "yealink");
    EXPECT_EQ(row[3], "T54W");
    EXPECT_EQ(row[5], "10.2." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":80");
    EXPECT_EQ(row[6], std::to_string(3000 + i) + "@pbx.example");
    EXPECT_EQ(row[7], "learned");
    EXPECT_TRUE(std::regex_match(row[8], std::regex("now|\\d+s ago|\\d+m ago"))) << row[8];
  }

  const auto all = Cli({"devices", "--all-sites", "--json"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  const auto lines = SplitLines(all.out);
  ASSERT_EQ(lines.size(), w().inventory_size + kLearned);
  std::vector<std::string> keys;
  for (const auto& line : lines) {
    v1::DeviceInfo info;
    ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(line, &info).ok()) << line;
    keys.push_back(info.site() + "/" + info.id());
  }
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(std::set<std::string>(keys.begin(), keys.end()).size(), keys.size());
}

TEST_F(CliCommanderTest, EmptyRegistrySaysNoDevices) {
  command::CommanderSettings s;
  s.listen = "127.0.0.1:0";
  // About commands, not callers: commander_security_test covers tokens.
  s.insecure_no_auth = true;
  s.metrics_listen = "127.0.0.1:0";
  s.instance = "cli-test-empty";
  // No broker: nothing to learn. (Shutdown waits for a broker connect in
  // progress; a refused one ends sooner than one to the suite's broker.)
  s.mqtt.brokers = {"tcp://127.0.0.1:" + std::to_string(FreePort())};
  s.log_level = "error";
  command::Finish(s);
  command::Commander empty(s);
  empty.Start();
  const std::string address = "127.0.0.1:" + std::to_string(empty.grpc_port());
  const auto r = RunCli({"devices", "--commander", address});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "phonebus devices: no devices\n");
  const auto all = RunCli({"devices", "--all-sites", "--commander", address});
  EXPECT_EQ(all.exit_code, 0) << all.err;
  EXPECT_EQ(all.err, "phonebus devices: no devices\n");
  // JSON lines: none, and nothing else either.
  const auto json = RunCli({"devices", "--json", "--commander", address});
  EXPECT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.out, "");
  EXPECT_EQ(json.err, "");
  // A site without devices on a full commander is empty too.
  const auto nowhere = Cli({"devices", "--site", "nowhere"});
  EXPECT_EQ(nowhere.exit_code, 0) << nowhere.err;
  EXPECT_EQ(nowhere.err, "phonebus devices: no devices\n");
}

// Starts watch on the suite's broker and waits until it subscribed.
std::unique_ptr<CliProcess> StartWatch(const std::string& broker, std::vector<std::string> args) {
  args.insert(args.begin(), {"watch", "--mqtt-broker", broker, "--utc", "-v"});
  auto cli = std::make_unique<CliProcess>(args);
  EXPECT_TRUE(cli->WaitStderr("phonebus watch: subscribed to", 10s)) << cli->err();
  return cli;
}

const std::string kTime = R"(\d{2}:\d{2}:\d{2}\.\d{3})";

TEST_F(CliCommanderTest, WatchPrintsTheCommandersResults) {
  auto watch = StartWatch(w().broker.uri(), {"--count", "2", "--timeout", "20"});
  ASSERT_EQ(Cli({"dial", "001565aabbcc", "2323", "--request-id", "cli-watch-1"}).exit_code, 0);
  ASSERT_EQ(Cli({"dial", "001565000401", "2323", "--request-id", "cli-watch-2"}).exit_code, 4);
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err();
  const auto lines = SplitLines(watch->out());
  ASSERT_EQ(lines.size(), 2u) << watch->out();
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(kTime + " default 001565aabbcc command_result   Dial OK  phone 200  "
                                   "[0-9.]+m?s  request cli-watch-1")))
      << lines[0];
  EXPECT_TRUE(std::regex_match(
      lines[1],
      std::regex(kTime + " default 001565000401 command_result   Dial UNAUTHENTICATED: phone "
                         "001565000401.* rejected phonebus's credentials.*  "
                         // 401 from the phone, or its earlier 401 within the hold-off
                         "(phone 401  )?[0-9.]+m?s  request cli-watch-2")))
      << lines[1];
}

TEST_F(CliCommanderTest, WatchFiltersByDeviceInAnyMacSpelling) {
  auto watch = StartWatch(w().broker.uri(),
                          {"--device", "00:15:65:AA:BB:CC", "--count", "1", "--timeout", "20"});
  ASSERT_EQ(Cli({"dial", "2001", "2323", "--request-id", "cli-watch-other"}).exit_code, 0);
  ASSERT_EQ(Cli({"dnd", "1001", "on", "--request-id", "cli-watch-mine"}).exit_code, 0);
  ASSERT_EQ(watch->Wait(20s), 0) << watch->err();
  EXPECT_TRUE(std::regex_match(
      watch->out(), std::regex(kTime + " default 001565aabbcc command_result   SetDnd OK  phone "
                                       "200  [0-9.]+m?s  request cli-watch-mine\n")))
      << watch->out();
}

}  // namespace
}  // namespace phonebus::testing
