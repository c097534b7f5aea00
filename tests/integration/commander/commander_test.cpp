// phonebus-commander against simulated phones over real HTTP (with auth), a
// real mosquitto and a real gRPC channel: every family and Yealink
// generation dials, bad input and bad phones give the documented status
// codes, nothing but the intended request reaches a phone, a retried
// request_id rings once, and the registry learns phones from the bus.
#include "commander.h"

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <future>

#include "http_get.h"
#include "mosquitto.h"
#include "mqtt_client.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "ports.h"
#include "simulator.h"
#include "subscriber.h"
#include "temp_dir.h"
#include "topics.h"

namespace phonebus::command {
namespace {

using namespace std::chrono_literals;
using phonesim::AuthScheme;
using phonesim::Family;
using phonesim::PhoneConfig;
using phonesim::PhoneHandle;
using testing::Mosquitto;
using testing::Subscriber;

// A device state on the bus, retained, as the adapter publishes it.
mqtt_client::Message RetainedState(const std::string& id, const std::string& payload) {
  return {topics::State("default", id), payload, 1, true, {}, {}};
}

// The dial commands a phone understood, in order.
std::vector<phonesim::Command> Commands(const PhoneHandle& phone) {
  std::vector<phonesim::Command> out;
  for (const auto& r : phone.Requests()) {
    if (r.command) out.push_back(*r.command);
  }
  return out;
}

class CommanderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("SNOM_PASSWORD", "secret-b", 1);
    yealink_ = Add({.id = "001565aabbcc",
                    .family = Family::kYealinkServlet,
                    .auth = AuthScheme::kDigest,
                    .username = "admin",
                    .password = "secret-a",
                    .account = "1001@pbx.example"});
    snom_ = Add({.id = "000413aabbcc",
                 .family = Family::kSnom,
                 .auth = AuthScheme::kBasic,
                 .username = "admin",
                 .password = "secret-b",
                 .account = "2001@pbx.example"});
    soft_ = Add({.id = "agent17-soft", .family = Family::kSoftphone});
    legacy_ = Add({.id = "001565000070",
                   .family = Family::kYealinkConfigManApp,
                   .model = "SIP-T21P",
                   .firmware = "9.70.0.100",
                   .auth = AuthScheme::kDigest,
                   .username = "admin",
                   .password = "secret-l"});
    t38_ = Add({.id = "001565000038",
                .family = Family::kYealinkCgiServer,
                .model = "T38G",
                .auth = AuthScheme::kBasic,
                .username = "admin",
                .password = "secret-t"});
    wrong_ = Add({.id = "001565000401",
                  .family = Family::kYealinkServlet,
                  .auth = AuthScheme::kDigest,
                  .username = "admin",
                  .password = "the-real-one"});
    fenced_ = Add({.id = "001565000403",
                   .family = Family::kYealinkServlet,
                   .auth = AuthScheme::kDigest,
                   .username = "admin",
                   .password = "secret-f",
                   .allowed_ips = {"10.9.9.9"}});
    nohttp_ = Add({.id = "000413d86500",
                   .family = Family::kSnomNoHttpCommands,
                   .auth = AuthScheme::kBasic,
                   .username = "admin",
                   .password = "secret-n"});
    hung_ = Add({.id = "001565000504",
                 .family = Family::kYealinkServlet,
                 .failure = phonesim::Failure::kHang});
    // In no inventory entry: reached, once learned from the bus, through the
    // per-vendor default port (the inventory's "defaults").
    learned_ = Add({.id = "000413112233", .family = Family::kSnom});
    gone_port_ = testing::FreePort();

    const auto entry = [](const PhoneHandle& p, const std::string& vendor,
                          const std::string& extra) {
      return "{\"id\": \"" + p.id() + "\", \"vendor\": \"" + vendor + "\", \"model\": \"" +
             p.config().model + "\", \"firmware\": \"" + p.config().firmware +
             "\", \"address\": \"127.0.0.1:" + std::to_string(p.port()) + "\"" + extra + "}";
    };
    std::ofstream(dir_.path() + "/inventory.json")
        << "{\"devices\": [\n"
        << entry(yealink_, "yealink",
                 R"(, "username": "admin", "password": "secret-a", "account": "1001@pbx.example")")
        << ",\n"
        << entry(snom_, "snom", R"(, "username": "admin", "password_env": "SNOM_PASSWORD")")
        << ",\n"
        << entry(soft_, "softphone", "") << ",\n"
        << entry(legacy_, "yealink", R"(, "username": "admin", "password": "secret-l")") << ",\n"
        << entry(t38_, "yealink", R"(, "username": "admin", "password": "secret-t")") << ",\n"
        << entry(wrong_, "yealink", R"(, "username": "admin", "password": "a-wrong-one")") << ",\n"
        << entry(fenced_, "yealink", R"(, "username": "admin", "password": "secret-f")") << ",\n"
        << entry(hung_, "yealink", "") << ",\n"
        << entry(nohttp_, "snom", R"(, "username": "admin", "password": "secret-n")") << ",\n"
        << R"({"id": "0015650000ff", "vendor": "yealink", "address": "127.0.0.1:)" << gone_port_
        << "\"}\n],\n"
        << R"("defaults": [{"vendor": "snom", "port": )" << learned_.port() << "}]}\n";

    CommanderSettings s;
    s.listen = "127.0.0.1:0";
    // About commands, not callers: commander_security_test covers tokens.
    s.insecure_no_auth = true;
    s.metrics_listen = "127.0.0.1:0";
    s.instance = "test";
    s.inventory = dir_.path() + "/inventory.json";
    s.phone_timeout_ms = 700;
    s.mqtt.brokers = {broker_.uri()};
    s.log_level = "error";
    Finish(s);
    settings_ = s;
    commander_ = std::make_unique<Commander>(s);
    commander_->Start();
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(commander_->grpc_port()),
                                   grpc::InsecureChannelCredentials());
    stub_ = v1::PhoneControl::NewStub(channel_);
  }

  void TearDown() override {
    commander_.reset();
    sim_.Stop();
  }

  PhoneHandle Add(PhoneConfig config) {
    auto phone = sim_.Add(std::move(config));
    EXPECT_TRUE(phone.ok()) << phone.status();
    return phone.ok() ? *phone : PhoneHandle{};
  }

  grpc::Status Dial(const std::string& device, const std::string& number,
                    const std::string& request_id, v1::DialResponse* out = nullptr,
                    const std::string& account = "") {
    v1::DialRequest req;
    req.set_device(device);
    req.set_number(number);
    req.set_request_id(request_id);
    req.set_account(account);
    v1::DialResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 10s);
    const auto status = stub_->Dial(&ctx, req, &resp);
    if (out) *out = resp;
    return status;
  }

  Mosquitto broker_;
  phonesim::Simulator sim_;
  const testing::TempDir dir_{"commander"};
  PhoneHandle yealink_, snom_, soft_, legacy_, t38_, wrong_, fenced_, hung_, nohttp_, learned_;
  unsigned short gone_port_ = 0;
  CommanderSettings settings_;
  std::unique_ptr<Commander> commander_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::PhoneControl::Stub> stub_;
};

TEST_F(CommanderTest, DialsEveryFamilyAndYealinkGeneration) {
  struct Case {
    PhoneHandle phone;
    std::string form;     // as the phone decoded it
    std::string account;  // the outgoing account the phone was told
  };
  const std::vector<Case> cases = {
      {yealink_, "servlet-number", "1001@pbx.example"},
      {snom_, "snom-number", ""},
      {soft_, "softphone-make_call", ""},
      {legacy_, "configmanapp-number", ""},
      {t38_, "cgiserver-number", ""},
  };
  int n = 0;
  for (const auto& c : cases) {
    v1::DialResponse resp;
    const auto status = Dial(c.phone.id(), "+49301234#5", "dial-" + std::to_string(++n), &resp);
    ASSERT_TRUE(status.ok()) << c.phone.id() << ": " << status.error_message();
    EXPECT_EQ(resp.result().code(), 0);
    EXPECT_EQ(resp.result().device_id(), c.phone.id());
    EXPECT_GE(resp.result().phone_status(), 200);
    const auto commands = Commands(c.phone);
    ASSERT_EQ(commands.size(), 1u) << c.phone.id();
    EXPECT_EQ(commands[0].kind, phonesim::CommandKind::kDial);
    EXPECT_EQ(commands[0].form, c.form);
    EXPECT_EQ(commands[0].number, "+49301234#5");  // '+' and '#' survived the URL
    EXPECT_EQ(commands[0].account, c.account);
  }
}

TEST_F(CommanderTest, FindsDevicesByAccountAndMacSpelling) {
  ASSERT_TRUE(Dial("1001", "2323", "a-1").ok());
  ASSERT_TRUE(Dial("00:15:65:AA:BB:CC", "2324", "a-2").ok());
  const auto commands = Commands(yealink_);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].number, "2323");
  EXPECT_EQ(commands[1].number, "2324");
}

TEST_F(CommanderTest, InjectionAttemptsReachNoPhone) {
  const std::vector<std::string> numbers = {"2323;OK",
                                            "2323&key=OK",
                                            "2323=1",
                                            "2323@1",
                                            "23%3B23",
                                            "23 23",
                                            "2323\r\nX: y",
                                            std::string("23\0"
                                                        "23",
                                                        5),
                                            "+",
                                            "1+2",
                                            "\xef\xbc\x91\xef\xbc\x92",  // fullwidth 1 2
                                            "2323\xef\xbc\x9b"
                                            "OK",
                                            std::string(200, '1'),
                                            ""};
  int n = 0;
  for (const auto& number : numbers) {
    for (const char* device : {"001565aabbcc", "000413aabbcc", "agent17-soft"}) {
      const auto status = Dial(device, number, "inj-" + std::to_string(++n));
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << number;
      EXPECT_EQ(status.error_message().rfind("number: ", 0), 0u) << status.error_message();
    }
  }
  v1::SendKeysRequest keys;
  keys.set_device("001565aabbcc");
  keys.set_request_id("inj-keys");
  keys.add_keys("OK;X");
  v1::SendKeysResponse resp;
  grpc::ClientContext ctx;
  const auto status = stub_->SendKeys(&ctx, keys, &resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("keys[0]: ", 0), 0u) << status.error_message();

  EXPECT_EQ(Dial("001565aabbcc", "2323", "inj-account", nullptr, "1001@pbx;X").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(yealink_.Requests().size(), 0u);
  EXPECT_EQ(snom_.Requests().size(), 0u);
  EXPECT_EQ(soft_.Requests().size(), 0u);
}

TEST_F(CommanderTest, ARetriedRequestIdRingsOnce) {
  v1::DialResponse first, again;
  ASSERT_TRUE(Dial("001565aabbcc", "2323", "crm-42", &first).ok());
  ASSERT_TRUE(Dial("001565aabbcc", "2323", "crm-42", &again).ok());
  // Concurrent repeats, by another name for the same phone, too.
  std::vector<std::future<grpc::Status>> repeats;
  for (int i = 0; i < 8; ++i) {
    repeats.push_back(
        std::async(std::launch::async, [&] { return Dial("1001", "2323", "crm-42"); }));
  }
  for (auto& r : repeats) EXPECT_TRUE(r.get().ok());
  EXPECT_EQ(Commands(yealink_).size(), 1u);
  EXPECT_FALSE(first.result().replayed());
  EXPECT_TRUE(again.result().replayed());
  EXPECT_EQ(again.result().requested_at().seconds(), first.result().requested_at().seconds());

  const auto misuse = Dial("001565aabbcc", "9999", "crm-42");
  EXPECT_EQ(misuse.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(misuse.error_message().rfind("request_id: ", 0), 0u);
  EXPECT_EQ(Commands(yealink_).size(), 1u);

  ASSERT_TRUE(Dial("001565aabbcc", "2323", "crm-43").ok());  // a new id is a new call
  EXPECT_EQ(Commands(yealink_).size(), 2u);

  // A failure the phone may have acted on is replayed too, and says so.
  EXPECT_EQ(Dial("001565000504", "2323", "crm-44").error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  v1::DialRequest req;
  req.set_device("001565000504");
  req.set_number("2323");
  req.set_request_id("crm-44");
  v1::DialResponse resp;
  grpc::ClientContext ctx;
  const auto replayed = stub_->Dial(&ctx, req, &resp);
  EXPECT_EQ(replayed.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_NE(replayed.error_message().find("[replayed"), std::string::npos);
  const auto& trailers = ctx.GetServerTrailingMetadata();
  const auto it = trailers.find("phonebus-replayed");
  ASSERT_NE(it, trailers.end());
  EXPECT_EQ(std::string(it->second.data(), it->second.size()), "true");
  EXPECT_EQ(hung_.Requests().size(), 1u);
}

TEST_F(CommanderTest, ARequestIdReusedForAnotherCommandIsRefused) {
  // Answer and Hangup to one device have the same fields: only the command tells them apart.
  v1::AnswerRequest answer;
  answer.set_device("001565aabbcc");
  answer.set_request_id("op-7");
  v1::AnswerResponse answer_resp;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->Answer(&c1, answer, &answer_resp).ok());
  v1::HangupRequest hangup;
  hangup.set_device("001565aabbcc");
  hangup.set_request_id("op-7");
  v1::HangupResponse hangup_resp;
  grpc::ClientContext c2;
  const auto status = stub_->Hangup(&c2, hangup, &hangup_resp);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_EQ(status.error_message().rfind("request_id: ", 0), 0u) << status.error_message();
  const auto sent = Commands(yealink_);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].keys, std::vector<std::string>{"OK"});
}

TEST_F(CommanderTest, WrongCredentialsAreNotRetried) {
  const auto status = Dial("001565000401", "2323", "w-1");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
  EXPECT_NE(status.error_message().find("inventory"), std::string::npos);
  EXPECT_EQ(status.error_message().find("a-wrong-one"), std::string::npos);
  // One challenge, one answer to it, then nothing: phones lock their login.
  EXPECT_EQ(wrong_.Requests().size(), 2u);
  EXPECT_EQ(wrong_.counters().commands, 0u);
  // Nor the next command: the phone is not asked again during the hold-off.
  const auto again = Dial("001565000401", "2323", "w-2");
  EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(again.error_message().find("not tried again"), std::string::npos);
  EXPECT_EQ(wrong_.Requests().size(), 2u);
}

TEST_F(CommanderTest, PhoneRefusingThisHostIsPermissionDenied) {
  const auto status = Dial("001565000403", "2323", "f-1");
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("action_uri_limit_ip"), std::string::npos)
      << status.error_message();
  // SNOM's remedy is its own, and names the firmware that refuses HTTP commands.
  const auto snom = Dial("000413d86500", "2323", "f-2");
  EXPECT_EQ(snom.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(snom.error_message().find("refuse HTTP commands"), std::string::npos)
      << snom.error_message();
}

TEST_F(CommanderTest, HungPhoneTimesOutWithoutDelayingOthers) {
  const auto started = std::chrono::steady_clock::now();
  auto hung = std::async(std::launch::async, [&] { return Dial("001565000504", "2323", "h-1"); });
  std::this_thread::sleep_for(50ms);
  const auto other_started = std::chrono::steady_clock::now();
  EXPECT_TRUE(Dial("001565aabbcc", "2323", "h-2").ok());
  EXPECT_LT(std::chrono::steady_clock::now() - other_started, 500ms);
  const auto status = hung.get();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << status.error_message();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 650ms);
  EXPECT_LT(took, 3s);
}

TEST_F(CommanderTest, UnreachableAndUnknownPhones) {
  const auto gone = Dial("0015650000ff", "2323", "g-1");
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::UNAVAILABLE) << gone.error_message();
  const auto unknown = Dial("deadbeef0001", "2323", "u-1");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Dial("001565aabbcc", "2323", "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(CommanderTest, CommandsMapPerFamily) {
  v1::AnswerRequest answer;
  answer.set_device("000413aabbcc");
  answer.set_request_id("snom-answer");
  v1::AnswerResponse answer_resp;
  grpc::ClientContext c1;
  ASSERT_TRUE(stub_->Answer(&c1, answer, &answer_resp).ok());
  v1::SendKeysRequest keys;
  keys.set_device("001565aabbcc");
  keys.set_request_id("yl-keys");
  for (const char* k : {"1", "#", "OK", "LINE2"}) keys.add_keys(k);
  v1::SendKeysResponse keys_resp;
  grpc::ClientContext c2;
  ASSERT_TRUE(stub_->SendKeys(&c2, keys, &keys_resp).ok());
  v1::HangupRequest hangup;
  hangup.set_device("agent17-soft");
  hangup.set_request_id("soft-hangup");
  v1::HangupResponse hangup_resp;
  grpc::ClientContext c3;
  EXPECT_EQ(stub_->Hangup(&c3, hangup, &hangup_resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);

  const auto snom = Commands(snom_);
  ASSERT_EQ(snom.size(), 1u);
  EXPECT_EQ(snom[0].keys, std::vector<std::string>{"ENTER"});
  const auto yl = Commands(yealink_);
  ASSERT_EQ(yl.size(), 1u);
  EXPECT_EQ(yl[0].keys, (std::vector<std::string>{"1", "POUND", "OK", "L2"}));
  EXPECT_EQ(soft_.Requests().size(), 0u);
}

TEST_F(CommanderTest, PublishesEveryOutcomeWithoutSecrets) {
  Subscriber sub(broker_.uri(), "phonebus/v1/+/device/+/command/result");
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(Dial("001565aabbcc", "2323", "r-1").ok());
  Dial("001565000401", "2323", "r-2");
  ASSERT_TRUE(sub.WaitForCount(2, 10s));
  std::map<std::string, v1::CommandResult> by_id;
  for (const auto& m : sub.messages()) {
    v1::CommandResult r;
    ASSERT_TRUE(r.ParseFromString(m.payload));
    EXPECT_EQ(m.topic, topics::CommandResult("default", r.device_id()));
    for (const char* secret : {"secret-a", "a-wrong-one", "the-real-one"}) {
      EXPECT_EQ(m.payload.find(secret), std::string::npos);
    }
    by_id[r.request_id()] = r;
  }
  EXPECT_EQ(by_id["r-1"].code(), 0);
  EXPECT_EQ(by_id["r-1"].command(), "Dial");
  EXPECT_EQ(by_id["r-2"].code(), static_cast<int>(grpc::StatusCode::UNAUTHENTICATED));
  EXPECT_EQ(by_id["r-2"].phone_status(), 401);
}

TEST_F(CommanderTest, LearnsPhonesFromTheBus) {
  // A phone no inventory lists: known once the adapter's retained state says so.
  v1::DeviceState state;
  state.set_site("default");
  state.mutable_device()->set_id("000413112233");
  state.mutable_device()->set_vendor(v1::VENDOR_SNOM);
  state.mutable_device()->set_ip("127.0.0.1");
  state.mutable_device()->set_model("D785");
  state.add_accounts()->set_account("3003@pbx.example");
  EXPECT_EQ(Dial("3003", "2323", "l-0").error_code(), grpc::StatusCode::NOT_FOUND);

  mqtt_client::Options o;
  o.mqtt.brokers = {broker_.uri()};
  o.client_id = "test-adapter";
  mqtt_client::Client adapter(o);
  ASSERT_TRUE(adapter.Connect().ok());
  ASSERT_TRUE(adapter.Publish(RetainedState("000413112233", state.SerializeAsString()), 1).ok());
  grpc::Status status;
  for (int i = 0; i < 100; ++i) {
    status = Dial("3003", "2323", "l-1");
    if (status.error_code() != grpc::StatusCode::NOT_FOUND) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(Commands(learned_).size(), 1u);
  EXPECT_EQ(Commands(learned_)[0].number, "2323");

  v1::GetDeviceRequest get;
  get.set_device("3003@pbx.example");
  v1::DeviceInfo info;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->GetDevice(&ctx, get, &info).ok());
  EXPECT_EQ(info.id(), "000413112233");
  EXPECT_EQ(info.source(), v1::DEVICE_SOURCE_LEARNED);
  EXPECT_EQ(info.address(), "127.0.0.1:" + std::to_string(learned_.port()));
  EXPECT_EQ(info.state().device().model(), "D785");

  // Clearing the retained state forgets it.
  ASSERT_TRUE(adapter.Publish(RetainedState("000413112233", ""), 2).ok());
  for (int i = 0; i < 100; ++i) {
    grpc::ClientContext c;
    if (stub_->GetDevice(&c, get, &info).error_code() == grpc::StatusCode::NOT_FOUND) break;
    std::this_thread::sleep_for(50ms);
  }
  grpc::ClientContext c;
  EXPECT_EQ(stub_->GetDevice(&c, get, &info).error_code(), grpc::StatusCode::NOT_FOUND);
  adapter.Close();
}

TEST_F(CommanderTest, KeepsLearningAfterTheBrokerRestarts) {
  broker_.Stop();
  // Commands to inventory devices do not need the broker.
  EXPECT_TRUE(Dial("001565aabbcc", "2323", "b-1").ok());
  broker_.Start();
  mqtt_client::Options o;
  o.mqtt.brokers = {broker_.uri()};
  o.client_id = "test-adapter";
  mqtt_client::Client adapter(o);
  ASSERT_TRUE(adapter.Connect().ok());
  v1::DeviceState state;
  state.set_site("default");
  state.mutable_device()->set_id("001565aabbcc");
  state.mutable_device()->set_vendor(v1::VENDOR_YEALINK);
  state.add_accounts()->set_account("7007@pbx.example");
  ASSERT_TRUE(adapter.Publish(RetainedState("001565aabbcc", state.SerializeAsString()), 1).ok());
  grpc::Status status;
  for (int i = 0; i < 200; ++i) {  // the commander reconnects with backoff
    status = Dial("7007", "2323", "b-" + std::to_string(i + 2));
    if (status.error_code() != grpc::StatusCode::NOT_FOUND) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(status.ok()) << status.error_message();
  adapter.Close();
}

// A new replica reports ready only once it knows the devices on the bus, so
// Kubernetes sends it no Dial for a phone it has yet to learn.
TEST_F(CommanderTest, ReadyOnlyOnceTheRetainedStatesAreIn) {
  constexpr size_t kLearned = 3000;
  const size_t inventory = commander_->registry().size();
  mqtt_client::Options o;
  o.mqtt.brokers = {broker_.uri()};
  o.client_id = "test-adapter";
  mqtt_client::Client adapter(o);
  std::atomic<size_t> acked{0};
  adapter.OnDelivered([&](uint64_t, bool ok) { acked += ok; });
  ASSERT_TRUE(adapter.Connect().ok());
  for (size_t i = 0; i < kLearned; ++i) {
    while (i > acked + 100) std::this_thread::sleep_for(1ms);  // within the in-flight window
    char id[13];
    std::snprintf(id, sizeof id, "000413%06zx", i);
    v1::DeviceState state;
    state.mutable_device()->set_id(id);
    state.mutable_device()->set_vendor(v1::VENDOR_SNOM);
    state.mutable_device()->set_ip("127.0.0.1");
    ASSERT_TRUE(adapter.Publish(RetainedState(id, state.SerializeAsString()), i + 1).ok());
  }
  // On the broker once the running commander has learned them all.
  for (int i = 0; i < 400 && commander_->registry().size() < inventory + kLearned; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(commander_->registry().size(), inventory + kLearned);
  adapter.Close();

  auto s = settings_;
  Commander second(s);
  second.Start();
  const auto port = second.metrics_endpoint().port();
  testing::HttpResult ready;
  for (int i = 0; i < 3000 && ready.status != 200; ++i) {
    ready = testing::HttpGet(port, "/readyz");
    if (ready.status == 503) {
      EXPECT_NE(ready.body.find("loading device states"), std::string::npos) << ready.body;
    }
    if (ready.status != 200) std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_GE(second.registry().size(), inventory + kLearned);
}

// With the bus unreachable, start-up waits --ready-timeout-s and then serves
// the inventory's devices; commands to them work even before.
TEST_F(CommanderTest, WithoutTheBusReadyAfterTheTimeout) {
  auto s = settings_;
  s.mqtt.brokers = {"tcp://127.0.0.1:" + std::to_string(testing::FreePort())};
  s.ready_timeout_s = 1;
  const auto started = std::chrono::steady_clock::now();
  Commander second(s);
  second.Start();
  const auto port = second.metrics_endpoint().port();
  EXPECT_EQ(testing::HttpGet(port, "/readyz").status, 503);
  auto stub = v1::PhoneControl::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(second.grpc_port()), grpc::InsecureChannelCredentials()));
  v1::DialRequest req;
  req.set_device("001565aabbcc");
  req.set_number("2323");
  req.set_request_id("t-1");
  v1::DialResponse resp;
  grpc::ClientContext ctx;
  EXPECT_TRUE(stub->Dial(&ctx, req, &resp).ok());
  int status = 0;
  for (int i = 0; i < 200 && status != 200; ++i) {
    std::this_thread::sleep_for(50ms);
    status = testing::HttpGet(port, "/readyz").status;
  }
  EXPECT_EQ(status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 1s);
}

TEST_F(CommanderTest, ListsDevicesWithoutCredentials) {
  v1::ListDevicesRequest req;
  req.set_page_size(4);
  std::vector<std::string> ids;
  for (int page = 0; page < 10; ++page) {
    v1::ListDevicesResponse resp;
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ListDevices(&ctx, req, &resp).ok());
    for (const auto& d : resp.devices()) {
      ids.push_back(d.id());
      EXPECT_EQ(d.DebugString().find("secret"), std::string::npos);
    }
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_EQ(ids.size(), 10u);
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
}

// grpc.health.v1.Health/Check by hand (the health proto's client is not
// shipped by Debian): HealthCheckRequest{service} -> HealthCheckResponse{status}.
TEST_F(CommanderTest, AnswersStandardHealthChecks) {
  const auto check = [&](const std::string& service) {
    std::string request;
    request.push_back(0x0a);
    request.push_back(static_cast<char>(service.size()));
    request += service;
    grpc::Slice slice(request);
    grpc::ByteBuffer in(&slice, 1), out;
    grpc::GenericStub stub(channel_);
    grpc::ClientContext ctx;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &in, &out,
                   [&](grpc::Status s) { done.set_value(s); });
    const auto status = done.get_future().get();
    std::vector<grpc::Slice> slices;
    std::string bytes;
    if (status.ok() && out.Dump(&slices).ok()) {
      for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    return std::pair(status, bytes);
  };
  // SERVING once the retained device states are in (a moment on an empty bus).
  auto [status, bytes] = check("phonebus.v1.PhoneControl");
  for (int i = 0; i < 200 && bytes != std::string("\x08\x01", 2); ++i) {
    std::this_thread::sleep_for(50ms);
    std::tie(status, bytes) = check("phonebus.v1.PhoneControl");
  }
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));  // status: SERVING
  EXPECT_EQ(check("").second, std::string("\x08\x01", 2));
  EXPECT_EQ(check("no.such.Service").first.error_code(), grpc::StatusCode::NOT_FOUND);
}

// Server reflection by hand, as grpcurl does it: list_services over the
// bidirectional ServerReflectionInfo stream.
TEST_F(CommanderTest, ServesReflection) {
  grpc::GenericStub stub(channel_);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 10s);
  auto call =
      stub.PrepareCall(&ctx, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  const auto step = [&](int tag) {
    void* got = nullptr;
    bool ok = false;
    return cq.Next(&got, &ok) && ok && got == reinterpret_cast<void*>(tag);
  };
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(step(1));
  const std::string list_services("\x3a\x00", 2);  // field 7 (list_services) = ""
  grpc::Slice slice(list_services);
  grpc::ByteBuffer request(&slice, 1), response;
  call->Write(request, reinterpret_cast<void*>(2));
  ASSERT_TRUE(step(2));
  call->Read(&response, reinterpret_cast<void*>(3));
  ASSERT_TRUE(step(3));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  EXPECT_NE(bytes.find("phonebus.v1.PhoneControl"), std::string::npos);
  EXPECT_NE(bytes.find("grpc.health.v1.Health"), std::string::npos);
  call->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(step(4));
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(5));
  ASSERT_TRUE(step(5));
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace phonebus::command
