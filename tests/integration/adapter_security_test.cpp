// Who may send Action URLs: the URL secret in the path, the source allow-list,
// the hold-off for sources that keep failing, HTTPS with certificates renewed
// in place; and that no secret ever shows in what the adapter publishes, logs
// or serves. Real mosquitto, real sockets on 127.0.0.0/8.
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "adapter.h"
#include "http_get.h"
#include "mosquitto.h"
#include "ports.h"
#include "process.h"
#include "subscriber.h"
#include "temp_dir.h"

// After net.h (through adapter.h), which fixes Boost 1.74's include order.
#include <boost/beast/ssl.hpp>

namespace phonebus::adapter {
namespace {

using namespace std::chrono_literals;
using testing::HttpGet;
using testing::HttpGetFrom;
using testing::Mosquitto;
using testing::Subscriber;

constexpr const char* kSecret = "s3cr3t-Url-Token_0123456789";
const std::string kAt = std::string("/") + kSecret;
const std::string kEvent = "/yealink/incoming_call?mac=001565aabbcc&call_id=9&remote=%2B4930123";

class SecurityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    settings_.listen = "127.0.0.1:0";
    settings_.site = "sec";
    settings_.instance = "sec";
    settings_.mqtt.brokers = {broker_.uri()};
    settings_.outbox_dir = dir_.path() + "/outbox";
    settings_.drain_timeout_s = 2;
    settings_.url_secrets = {kSecret};
  }
  void TearDown() override { adapter_.reset(); }
  unsigned short Start() {
    adapter_ = std::make_unique<Adapter>(settings_);
    adapter_->Start();
    return adapter_->endpoint().port();
  }
  std::string Metrics() { return HttpGet(adapter_->endpoint().port(), "/metrics").body; }

  const testing::TempDir dir_{"sec"};
  Mosquitto broker_;
  AdapterSettings settings_;
  std::unique_ptr<Adapter> adapter_;
};

TEST_F(SecurityTest, CorrectSecretPublishesAndTheSecretIsNowhereInTheEvent) {
  Subscriber sub(broker_.uri(), "phonebus/v1/sec/#");
  const auto port = Start();
  const auto r = HttpGet(port, kAt + kEvent);
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_TRUE(sub.WaitFor(
      [](const auto& m) {
        return std::any_of(m.begin(), m.end(),
                           [](const auto& x) { return x.topic.ends_with("/event/call_incoming"); });
      },
      10s));
  for (const auto& m : sub.messages()) {
    EXPECT_EQ(m.topic.find(kSecret), std::string::npos) << m.topic;
    EXPECT_EQ(m.payload.find(kSecret), std::string::npos) << m.topic;
    for (const auto& [name, value] : m.user_properties) {
      EXPECT_EQ(value.find(kSecret), std::string::npos) << name;
    }
    if (!m.topic.ends_with("/event/call_incoming")) continue;
    v1::PhoneEvent e;
    ASSERT_TRUE(e.ParseFromString(m.payload));
    EXPECT_EQ(e.call().remote().number(), "+4930123");
    EXPECT_EQ(e.params_size(), 3);  // exactly the query: the path is not a parameter
    for (const auto& p : e.params()) {
      EXPECT_EQ(p.name().find(kSecret), std::string::npos);
      EXPECT_EQ(p.value().find(kSecret), std::string::npos);
    }
  }
  // A wrong path under the right secret is a plain 404 naming the path after it.
  const auto lost = HttpGet(port, kAt + "/nowhere");
  EXPECT_EQ(lost.status, 404);
  EXPECT_NE(lost.body.find("/nowhere"), std::string::npos);
  EXPECT_EQ(lost.body.find(kSecret), std::string::npos);
  EXPECT_EQ(HttpGet(port, kAt).status, 404);
  EXPECT_EQ(Metrics().find(kSecret), std::string::npos);
}

TEST_F(SecurityTest, WrongOrMissingSecretGetsTheSame403AndNothingIsPublished) {
  settings_.refuse_after_failures = 1000;  // this test is about the answer, not the hold-off
  Subscriber sub(broker_.uri(), "phonebus/v1/sec/#");
  const auto port = Start();
  const std::string near(kSecret, std::strlen(kSecret) - 1);
  std::vector<testing::HttpResult> answers;
  for (const std::string& target : std::vector<std::string>{
           kEvent, "/" + near + kEvent, "/" + near + "X" + kEvent,
           "/x" + std::string(kSecret) + kEvent, "/wrong-secret-0123456789" + kEvent, "/nowhere",
           "/wrong-secret-0123456789/nowhere/deep", "/", "/yealink", "/softphone?action=incoming",
           kAt + "x" + kEvent, kEvent + "&s=" + kSecret,
           "/%73" + std::string(kSecret).substr(1) + kEvent}) {
    answers.push_back(HttpGet(port, target));
    EXPECT_EQ(answers.back().status, 403) << target;
  }
  for (const auto& a : answers) EXPECT_EQ(a.body, answers.front().body);
  EXPECT_EQ(answers.front().body, "forbidden\n");
  // Operations stay open: probes and scrapers know no secret.
  EXPECT_EQ(HttpGet(port, "/healthz").status, 200);
  EXPECT_EQ(HttpGet(port, "/readyz").status, 200);
  const auto metrics = Metrics();
  EXPECT_NE(metrics.find("phonebus_rejects_total{reason=\"bad_secret\"} 13"), std::string::npos)
      << metrics;
  std::this_thread::sleep_for(500ms);
  for (const auto& m : sub.messages()) {
    EXPECT_EQ(m.topic.find("/device/"), std::string::npos) << "published: " << m.topic;
  }
}

TEST_F(SecurityTest, SourcesOutsideTheAllowListGetTheSame403) {
  settings_.allow_sources = {"127.0.0.1/32", "::1"};
  Subscriber sub(broker_.uri(), "phonebus/v1/sec/device/#");
  const auto port = Start();
  const auto refused = HttpGetFrom("127.0.0.2", port, kAt + kEvent);
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(refused.body, HttpGetFrom("127.0.0.1", port, kEvent).body);
  EXPECT_EQ(HttpGetFrom("127.0.0.2", port, "/healthz").status, 200);
  EXPECT_EQ(HttpGetFrom("127.0.0.1", port, kAt + kEvent).status, 200);
  ASSERT_TRUE(sub.WaitForCount(1, 10s));
  std::this_thread::sleep_for(300ms);
  for (const auto& m : sub.messages()) {
    v1::PhoneEvent e;
    if (m.topic.find("/event/") != std::string::npos && e.ParseFromString(m.payload)) {
      EXPECT_EQ(e.source_ip(), "127.0.0.1");
    }
  }
  EXPECT_NE(Metrics().find("phonebus_rejects_total{reason=\"source_not_allowed\"} 1"),
            std::string::npos);
}

TEST_F(SecurityTest, ASourceThatKeepsFailingIsRefusedOthersAreNot) {
  settings_.refuse_after_failures = 3;
  settings_.refuse_for_s = 60;
  const auto port = Start();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(
        HttpGetFrom("127.0.0.3", port, "/guess-" + std::to_string(i) + "-0123456789abcdef" + kEvent)
            .status,
        403);
  }
  // Refused now without being evaluated: even the right secret gets nowhere.
  const auto held = HttpGetFrom("127.0.0.3", port, kAt + kEvent);
  EXPECT_EQ(held.status, 429);
  EXPECT_EQ(held.body.find(kSecret), std::string::npos);
  EXPECT_EQ(HttpGetFrom("127.0.0.4", port, kAt + kEvent).status, 200);
  EXPECT_EQ(HttpGetFrom("127.0.0.3", port, "/healthz").status, 200);
  const auto metrics = Metrics();
  EXPECT_NE(metrics.find("phonebus_rejects_total{reason=\"bad_secret\"} 3"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("phonebus_rejects_total{reason=\"source_refused\"} 1"), std::string::npos)
      << metrics;
}

// --- HTTPS ------------------------------------------------------------------

// A self-signed certificate for 127.0.0.1 with `cn` as its subject, made by the
// openssl command so no key material lives in the tree.
void MakeCert(const std::string& dir, const std::string& cn) {
  const std::string cmd =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "
      "/CN=" +
      cn + " -addext subjectAltName=IP:127.0.0.1 -keyout " + dir + "/" + cn + ".key -out " + dir +
      "/" + cn + ".pem 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// Replaces `to` at once (a rename), as certificate tools do.
void Install(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to + ".tmp", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::rename(to + ".tmp", to);
}

class TlsClient {
 public:
  TlsClient(unsigned short port, const std::string& ca_file)
      : ctx_(net::ssl::context::tls_client), stream_(ioc_, ctx_) {
    ctx_.load_verify_file(ca_file);
    stream_.set_verify_mode(net::ssl::verify_peer);
    beast::get_lowest_layer(stream_).expires_after(5s);
    beast::get_lowest_layer(stream_).connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    stream_.handshake(net::ssl::stream_base::client);
  }
  // One keep-alive GET; the status, 0 on failure.
  int Get(const std::string& target) {
    beast::error_code ec;
    http::request<http::empty_body> req(http::verb::get, target, 11);
    req.set(http::field::host, "127.0.0.1");
    beast::get_lowest_layer(stream_).expires_after(5s);
    http::write(stream_, req, ec);
    if (ec) return 0;
    http::response<http::string_body> res;
    beast::flat_buffer buffer;
    http::read(stream_, buffer, res, ec);
    return ec ? 0 : static_cast<int>(res.result_int());
  }
  std::string PeerCn() {
    X509* cert = SSL_get_peer_certificate(stream_.native_handle());
    if (!cert) return {};
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    X509_free(cert);
    return cn;
  }

 private:
  net::io_context ioc_;
  net::ssl::context ctx_;
  beast::ssl_stream<beast::tcp_stream> stream_;
};

// The CN a new connection is served, or "" when it failed.
std::string ServedCn(unsigned short port, const std::string& ca_file) {
  try {
    TlsClient client(port, ca_file);
    return client.Get(kAt + kEvent) == 200 ? client.PeerCn() : std::string{};
  } catch (const std::exception&) {
    return {};
  }
}

TEST_F(SecurityTest, HttpsServesEventsAndPicksUpARenewedCertificate) {
  MakeCert(dir_.path(), "first");
  MakeCert(dir_.path(), "second");
  Install(dir_.path() + "/first.pem", dir_.path() + "/tls.pem");
  Install(dir_.path() + "/first.key", dir_.path() + "/tls.key");
  settings_.tls_listen = "127.0.0.1:0";
  settings_.tls_cert_file = dir_.path() + "/tls.pem";
  settings_.tls_key_file = dir_.path() + "/tls.key";
  settings_.tls_reload_ms = 50;
  Subscriber sub(broker_.uri(), "phonebus/v1/sec/device/+/event/+");
  Start();
  const auto port = adapter_->tls_endpoint().port();

  EXPECT_EQ(ServedCn(port, dir_.path() + "/first.pem"), "first");
  ASSERT_TRUE(sub.WaitForCount(1, 10s));
  // Plain HTTP to the HTTPS port is no request.
  EXPECT_EQ(testing::HttpGet(port, kAt + kEvent, 2s).status, 0);
  // Secrets and allow-list hold on HTTPS as well.
  {
    TlsClient client(port, dir_.path() + "/first.pem");
    EXPECT_EQ(client.Get(kEvent), 403);
  }

  TlsClient open_before(port, dir_.path() + "/first.pem");
  ASSERT_EQ(open_before.Get("/healthz"), 200);
  Install(dir_.path() + "/second.key", dir_.path() + "/tls.key");
  Install(dir_.path() + "/second.pem", dir_.path() + "/tls.pem");
  std::string cn;
  for (int i = 0; i < 100 && cn != "second"; ++i) {
    std::this_thread::sleep_for(50ms);
    cn = ServedCn(port, dir_.path() + "/second.pem");
  }
  EXPECT_EQ(cn, "second");
  // The connection opened before the renewal was not dropped.
  EXPECT_EQ(open_before.Get(kAt + kEvent), 200);

  // A broken renewal is refused and the last good pair kept.
  std::ofstream(dir_.path() + "/broken.pem") << "-----BEGIN CERTIFICATE-----\nnope\n";
  Install(dir_.path() + "/broken.pem", dir_.path() + "/tls.pem");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ServedCn(port, dir_.path() + "/second.pem"), "second");
  // And a mismatched pair too (a new certificate whose key is not there yet).
  Install(dir_.path() + "/first.pem", dir_.path() + "/tls.pem");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ServedCn(port, dir_.path() + "/second.pem"), "second");
  // Once the key follows, the pair is good again.
  Install(dir_.path() + "/first.key", dir_.path() + "/tls.key");
  for (int i = 0; i < 100 && cn != "first"; ++i) {
    std::this_thread::sleep_for(50ms);
    cn = ServedCn(port, dir_.path() + "/first.pem");
  }
  EXPECT_EQ(cn, "first");
}

// --- what the operator sees -------------------------------------------------

TEST_F(SecurityTest, LogsOfARunNeverContainTheSecret) {
  const auto port = testing::FreePort();
  std::ofstream(dir_.path() + "/url-secret") << kSecret << "\n";
  testing::Process adapter(
      PHONEBUS_ADAPTER_BIN,
      {"--listen=127.0.0.1:" + std::to_string(port), "--site=sec", "--mqtt-broker=" + broker_.uri(),
       "--outbox-dir=" + dir_.path() + "/outbox",
       "--url-secret-file=" + dir_.path() + "/url-secret", "--log-level=debug",
       "--refuse-after-failures=2"});
  ASSERT_TRUE(adapter.WaitStderr("adapter listening", 10s)) << adapter.err();
  EXPECT_EQ(HttpGet(port, kAt + kEvent).status, 200);
  EXPECT_EQ(HttpGet(port, kAt + "/nowhere").status, 404);
  EXPECT_EQ(HttpGet(port, kAt + "/yealink/dnd_on?mac=%zz").status, 400);
  EXPECT_EQ(HttpGet(port, kAt + "/yealink/a/b").status, 404);
  EXPECT_EQ(HttpGet(port, kAt + "/yealink/x?" + std::string(5000, 'q')).status, 414);
  // Near misses must not be echoed either: they give most of the secret away.
  const std::string near = std::string(kSecret).substr(0, std::strlen(kSecret) - 1);
  EXPECT_EQ(HttpGet(port, "/" + near + kEvent).status, 403);
  EXPECT_EQ(HttpGet(port, "/" + near + "/nowhere").status, 403);
  EXPECT_EQ(HttpGet(port, kAt + kEvent).status, 429);
  EXPECT_EQ(HttpGet(port, "/metrics").body.find(near), std::string::npos);
  adapter.Signal(SIGTERM);
  EXPECT_EQ(adapter.Wait(20s), 0);
  EXPECT_NE(adapter.err().find("bad_secret"), std::string::npos) << adapter.err();
  EXPECT_NE(adapter.err().find("refusing an address"), std::string::npos) << adapter.err();
  EXPECT_EQ(adapter.err().find(near), std::string::npos) << adapter.err();
  EXPECT_EQ(adapter.out().find(near), std::string::npos) << adapter.out();
  // --help shows settings, never their values from the environment.
  const auto help = testing::RunProcess(
      PHONEBUS_ADAPTER_BIN, {"--help"},
      {std::string("PHONEBUS_URL_SECRET=") + kSecret, "PHONEBUS_MQTT_PASSWORD=Mqtt-Secret-77c1"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--url-secret-file"), std::string::npos) << help.out;
  for (const std::string& secret : {std::string(kSecret), std::string("Mqtt-Secret-77c1")}) {
    EXPECT_EQ((help.out + help.err).find(secret), std::string::npos) << secret;
  }
}

}  // namespace
}  // namespace phonebus::adapter
