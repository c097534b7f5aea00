// Who may drive which phone: the real commander (in-process, real gRPC) with a
// tokens file, TLS and mutual TLS from a throw-away CA, and simulated phones
// at two sites. A call without a valid token gets UNAUTHENTICATED and reaches
// no phone; a token scoped to one site gets PERMISSION_DENIED for the other;
// health stays open (probes send no token); reflection can be turned off; TLS
// serves only clients that trust the commander's CA, mutual TLS only clients
// with a certificate from the client CA.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <fstream>
#include <future>

#include "commander.h"
#include "mosquitto.h"
#include "phonebus/v1/control.grpc.pb.h"
#include "pki.h"
#include "simulator.h"
#include "temp_dir.h"

namespace phonebus::command {
namespace {

using namespace std::chrono_literals;
using phonesim::AuthScheme;
using phonesim::Family;
using phonesim::PhoneHandle;

constexpr char kHqToken[] = "hq-crm-token-5b1e0c";
constexpr char kOpsToken[] = "ops-token-e27d94";

class CommanderSecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hq_ = Add({.id = "001565aa0001",
               .family = Family::kYealinkServlet,
               .auth = AuthScheme::kDigest,
               .username = "admin",
               .password = "secret-hq"});
    branch_ = Add({.id = "001565bb0001",
                   .family = Family::kYealinkServlet,
                   .auth = AuthScheme::kDigest,
                   .username = "admin",
                   .password = "secret-branch"});
    const auto entry = [](const PhoneHandle& p, const std::string& site,
                          const std::string& password) {
      return R"({"id": ")" + p.id() + R"(", "vendor": "yealink", "site": ")" + site +
             R"(", "address": "127.0.0.1:)" + std::to_string(p.port()) +
             R"(", "username": "admin", "password": ")" + password + "\"}";
    };
    std::ofstream(dir_.path() + "/inventory.json")
        << "{\"devices\": [" << entry(hq_, "hq", "secret-hq") << ",\n"
        << entry(branch_, "branch", "secret-branch") << "]}\n";
    std::ofstream(dir_.path() + "/tokens") << "# test clients\n"
                                           << "crm-hq  hq  " << Sha256Hex(kHqToken) << "\n"
                                           << "ops     *   " << Sha256Hex(kOpsToken) << "\n";
  }

  void TearDown() override {
    commander_.reset();
    sim_.Stop();
  }

  // SHA-256 by the openssl CLI, as an administrator would make the file.
  std::string Sha256Hex(const std::string& token) {
    const std::string in = dir_.path() + "/token.in", out = dir_.path() + "/token.out";
    std::ofstream(in) << token;
    const std::string command = "openssl dgst -sha256 -r " + in + " > " + out;
    EXPECT_EQ(std::system(command.c_str()), 0);
    return testing::ReadAll(out).substr(0, 64);
  }

  PhoneHandle Add(phonesim::PhoneConfig config) {
    auto phone = sim_.Add(std::move(config));
    EXPECT_TRUE(phone.ok()) << phone.status();
    return phone.ok() ? *phone : PhoneHandle{};
  }

  CommanderSettings Settings() {
    CommanderSettings s;
    s.listen = "127.0.0.1:0";
    s.metrics_listen = "127.0.0.1:0";
    s.instance = "sec-test";
    s.site = "hq";
    s.inventory = dir_.path() + "/inventory.json";
    s.tokens_file = dir_.path() + "/tokens";
    s.mqtt.brokers = {broker_.uri()};
    s.log_level = "error";
    return s;
  }

  void Start(CommanderSettings s) {
    Finish(s);
    commander_ = std::make_unique<Commander>(s);
    commander_->Start();
  }

  std::string Target() const { return "127.0.0.1:" + std::to_string(commander_->grpc_port()); }

  std::unique_ptr<v1::PhoneControl::Stub> Stub(
      std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials()) {
    return v1::PhoneControl::NewStub(grpc::CreateChannel(Target(), credentials));
  }

  static grpc::Status Dial(v1::PhoneControl::Stub& stub, const std::string& token,
                           const std::string& device, const std::string& site = "",
                           const std::string& number = "2323") {
    static int n = 0;
    v1::DialRequest req;
    req.set_device(device);
    req.set_site(site);
    req.set_number(number);
    req.set_request_id("sec-" + std::to_string(++n));
    v1::DialResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    return stub.Dial(&ctx, req, &resp);
  }

  static grpc::Status List(v1::PhoneControl::Stub& stub, const std::string& token,
                           const std::string& site, std::vector<std::string>* ids) {
    v1::ListDevicesRequest req;
    req.set_site(site);
    v1::ListDevicesResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    ctx.AddMetadata("authorization", "Bearer " + token);
    const auto status = stub.ListDevices(&ctx, req, &resp);
    for (const auto& d : resp.devices()) ids->push_back(d.site() + "/" + d.id());
    return status;
  }

  static size_t Dials(const PhoneHandle& phone) {
    size_t n = 0;
    for (const auto& r : phone.Requests()) n += r.command.has_value();
    return n;
  }

  testing::Mosquitto broker_;
  phonesim::Simulator sim_;
  const testing::TempDir dir_{"commander-sec"};
  PhoneHandle hq_, branch_;
  std::unique_ptr<Commander> commander_;
};

TEST_F(CommanderSecurityTest, CallsWithoutAValidTokenAreUnauthenticatedAndReachNoPhone) {
  Start(Settings());
  auto stub = Stub();
  for (const std::string& token :
       std::vector<std::string>{"", "not-a-token", std::string(kHqToken) + "x"}) {
    const auto status = Dial(*stub, token, hq_.id());
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << token;
    EXPECT_EQ(status.error_message().find("not-a-token"), std::string::npos);
  }
  // Not even whether the request was well-formed.
  EXPECT_EQ(Dial(*stub, "", hq_.id(), "", "1;2").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Dials(hq_), 0u);

  v1::GetDeviceRequest get;
  get.set_device(hq_.id());
  v1::DeviceInfo info;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub->GetDevice(&ctx, get, &info).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  std::vector<std::string> ids;
  EXPECT_EQ(List(*stub, "wrong", "*", &ids).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ids.empty());

  const auto ok = Dial(*stub, kHqToken, hq_.id());
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(Dials(hq_), 1u);
}

TEST_F(CommanderSecurityTest, ATokenScopedToOneSiteCannotDriveAnotherSitesPhones) {
  Start(Settings());
  auto stub = Stub();
  const auto denied = Dial(*stub, kHqToken, branch_.id(), "branch");
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(), "client 'crm-hq' may not act on site 'branch' (its sites: hq)");
  EXPECT_EQ(Dials(branch_), 0u);
  // "*" means every site only for listings; for a command it is no wildcard.
  EXPECT_EQ(Dial(*stub, kHqToken, branch_.id(), "*").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // Named without a site it is looked for at the default site, hq: not there.
  EXPECT_EQ(Dial(*stub, kHqToken, branch_.id()).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Dials(branch_), 0u);

  v1::GetDeviceRequest get;
  get.set_device(branch_.id());
  get.set_site("branch");
  v1::DeviceInfo info;
  grpc::ClientContext get_ctx;
  get_ctx.AddMetadata("authorization", std::string("Bearer ") + kHqToken);
  EXPECT_EQ(stub->GetDevice(&get_ctx, get, &info).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);

  // Listing every site shows only the caller's; naming a foreign one is refused.
  std::vector<std::string> ids;
  ASSERT_TRUE(List(*stub, kHqToken, "*", &ids).ok());
  EXPECT_EQ(ids, std::vector<std::string>{"hq/" + hq_.id()});
  ids.clear();
  EXPECT_EQ(List(*stub, kHqToken, "branch", &ids).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ids.clear();
  ASSERT_TRUE(List(*stub, kOpsToken, "*", &ids).ok());
  EXPECT_EQ(ids.size(), 2u);

  // The all-sites client may.
  const auto ops = Dial(*stub, kOpsToken, branch_.id(), "branch");
  EXPECT_TRUE(ops.ok()) << ops.error_message();
  EXPECT_EQ(Dials(branch_), 1u);
}

// grpc.health.v1.Health/Check and reflection by hand (Debian ships neither client).
// Reflection describes the API to tools; --no-reflection silences it.
TEST_F(CommanderSecurityTest, HealthNeedsNoTokenAndReflectionCanBeTurnedOff) {
  auto settings = Settings();
  settings.no_reflection = true;
  Start(settings);
  auto channel = grpc::CreateChannel(Target(), grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  const auto call = [&](const std::string& method, const std::string& request) {
    grpc::Slice slice(request);
    grpc::ByteBuffer in(&slice, 1), out;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 5s);
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, method, grpc::StubOptions(), &in, &out,
                      [&](grpc::Status s) { done.set_value(s); });
    return done.get_future().get();
  };
  const std::string service = "phonebus.v1.PhoneControl";
  const auto health = call("/grpc.health.v1.Health/Check",
                           std::string("\x0a", 1) + static_cast<char>(service.size()) + service);
  EXPECT_TRUE(health.ok()) << health.error_message();
  EXPECT_EQ(call("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(CommanderSecurityTest, TlsServesOnlyClientsThatTrustItsCertificate) {
  testing::Pki pki;
  auto s = Settings();
  s.tls_cert_file = pki.server_cert();
  s.tls_key_file = pki.server_key();
  Start(s);
  grpc::SslCredentialsOptions trusting;
  trusting.pem_root_certs = testing::ReadAll(pki.ca_file());
  auto tls = Stub(grpc::SslCredentials(trusting));
  const auto ok = Dial(*tls, kHqToken, hq_.id());
  EXPECT_TRUE(ok.ok()) << ok.error_message();

  grpc::SslCredentialsOptions other;
  other.pem_root_certs = testing::ReadAll(pki.other_ca_file());
  EXPECT_EQ(Dial(*Stub(grpc::SslCredentials(other)), kHqToken, hq_.id()).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Dial(*Stub(), kHqToken, hq_.id()).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Dials(hq_), 1u);
}

TEST_F(CommanderSecurityTest, MutualTlsRequiresAClientCertificateFromTheClientCa) {
  testing::Pki pki;
  const std::string crm = pki.Client("crm");
  const std::string stranger = pki.ForeignClient("stranger");
  auto s = Settings();
  s.tls_cert_file = pki.server_cert();
  s.tls_key_file = pki.server_key();
  s.tls_client_ca_file = pki.ca_file();
  Start(s);
  const auto credentials = [&](const std::string& cert) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = testing::ReadAll(pki.ca_file());
    if (!cert.empty()) {
      o.pem_cert_chain = testing::ReadAll(cert);
      o.pem_private_key = testing::ReadAll(testing::Pki::KeyOf(cert));
    }
    return grpc::SslCredentials(o);
  };
  EXPECT_NE(Dial(*Stub(credentials("")), kHqToken, hq_.id()).error_code(), grpc::StatusCode::OK);
  EXPECT_NE(Dial(*Stub(credentials(stranger)), kHqToken, hq_.id()).error_code(),
            grpc::StatusCode::OK);
  EXPECT_EQ(Dials(hq_), 0u);
  auto stub = Stub(credentials(crm));
  // A certificate is not a token: both are needed.
  EXPECT_EQ(Dial(*stub, "", hq_.id()).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  const auto ok = Dial(*stub, kHqToken, hq_.id());
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(Dials(hq_), 1u);
}

}  // namespace
}  // namespace phonebus::command
