#include "http_client.h"

// clang-format off
#include "net.h"  // first: it fixes Boost 1.74's include order for what follows
#include <boost/asio/ssl.hpp>
// clang-format on
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "digest_auth.h"
#include "ports.h"

namespace phonebus::http_client {
namespace {

namespace ssl = net::ssl;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// A phone stand-in: blocking, one thread per connection, so a test can make
// it slow, hang, drop a connection or close idle ones at a chosen moment.

struct SeenRequest {
  std::string target;
  std::string host;
  std::string authorization;
  int connection = 0;  // 1-based, in accept order
  Clock::time_point at;
};

struct Reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body = "ok";
  bool keep_alive = true;
  std::chrono::milliseconds delay{0};
  bool hang = false;  // never answer (until the server stops)
  bool drop = false;  // close the connection without answering
};

class TestServer {
 public:
  using Handler = std::function<Reply(const SeenRequest&)>;

  explicit TestServer(Handler handler, ssl::context* tls = nullptr)
      : handler_(std::move(handler)),
        tls_(tls),
        acceptor_(io_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)) {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~TestServer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& [id, conn] : conns_) ::shutdown(conn.fd, SHUT_RDWR);
    }
    cv_.notify_all();
    // Wake the blocking accept with a connection of our own.
    beast::error_code ignored;
    tcp::socket waker(io_);
    waker.connect(acceptor_.local_endpoint(), ignored);
    accept_thread_.join();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mu_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

  uint16_t Port() const { return acceptor_.local_endpoint().port(); }

  std::vector<SeenRequest> Requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<Clock::time_point> ReplyTimes() const {
    std::lock_guard lock(mu_);
    return reply_times_;
  }
  int Connections() const {
    std::lock_guard lock(mu_);
    return accepted_;
  }

  // Closes every connection waiting for its next request, as a phone's
  // keep-alive timer does. Waits (briefly) for the connections to get there:
  // the client may have its response before this side loops back to reading.
  void CloseIdleConnections() {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 2s, [this] {
      return !conns_.empty() &&
             std::all_of(conns_.begin(), conns_.end(), [](const auto& c) { return c.second.idle; });
    });
    for (auto& [id, conn] : conns_) {
      if (conn.idle) ::shutdown(conn.fd, SHUT_RDWR);
    }
  }

 private:
  struct ConnInfo {
    int fd;
    bool idle;
  };

  void AcceptLoop() {
    while (true) {
      beast::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      std::lock_guard lock(mu_);
      if (stopping_) return;
      if (ec) continue;
      const int id = ++accepted_;
      conns_[id] = {socket.native_handle(), false};
      threads_.emplace_back(
          [this, id, s = std::move(socket)]() mutable { Serve(std::move(s), id); });
    }
  }

  void Serve(tcp::socket socket, int id) {
    if (tls_ != nullptr) {
      ssl::stream<tcp::socket&> stream(socket, *tls_);
      beast::error_code ec;
      stream.handshake(ssl::stream_base::server, ec);
      if (!ec) ServeStream(stream, id);
    } else {
      ServeStream(socket, id);
    }
    std::lock_guard lock(mu_);
    conns_.erase(id);  // before the socket closes, so its fd number is never shut down again
  }

  template <class Stream>
  void ServeStream(Stream& stream, int id) {
    beast::flat_buffer buffer;
    while (true) {
      SetIdle(id, buffer.size() == 0);
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(stream, buffer, req, ec);
      SetIdle(id, false);
      if (ec) return;
      SeenRequest seen{std::string(req.target()), std::string(req[http::field::host]),
                       std::string(req[http::field::authorization]), id, Clock::now()};
      {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        requests_.push_back(seen);
      }
      Reply reply = handler_(seen);
      if (reply.drop) return;
      if (reply.hang || reply.delay.count() > 0) {
        std::unique_lock lock(mu_);
        if (reply.hang) {
          cv_.wait(lock, [this] { return stopping_; });
          return;
        }
        if (cv_.wait_for(lock, reply.delay, [this] { return stopping_; })) return;
      }
      http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
      for (const auto& [name, value] : reply.headers) res.insert(name, value);
      res.body() = reply.body;
      res.keep_alive(reply.keep_alive);
      res.prepare_payload();
      {
        // Before writing: once written, the client may already act on it.
        std::lock_guard lock(mu_);
        reply_times_.push_back(Clock::now());
      }
      http::write(stream, res, ec);
      if (ec || !reply.keep_alive) return;
    }
  }

  void SetIdle(int id, bool idle) {
    {
      std::lock_guard lock(mu_);
      if (auto it = conns_.find(id); it != conns_.end()) it->second.idle = idle;
    }
    cv_.notify_all();
  }

  Handler handler_;
  ssl::context* tls_;
  net::io_context io_;  // only for blocking sockets; never run
  tcp::acceptor acceptor_;
  std::thread accept_thread_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  int accepted_ = 0;
  std::map<int, ConnInfo> conns_;
  std::vector<std::thread> threads_;
  std::vector<SeenRequest> requests_;
  std::vector<Clock::time_point> reply_times_;
};

Reply Ok(std::string body = "ok") {
  Reply r;
  r.body = std::move(body);
  return r;
}

Reply Challenge(std::string value) {
  Reply r;
  r.status = 401;
  r.headers.push_back({"WWW-Authenticate", std::move(value)});
  r.body = "401 Unauthorized";
  return r;
}

// A phone that wants Basic for admin/secret.
Reply BasicPhone(const SeenRequest& r) {
  auto auth = http_auth::ParseAuthorization(r.authorization);
  if (auth.ok() && auth->scheme == "basic" && auth->username == "admin" &&
      auth->password == "secret") {
    return Ok();
  }
  return Challenge(http_auth::MakeBasicChallenge("phone"));
}

// A phone that wants Digest MD5 qop=auth for admin/secret; the test can
// expire its nonce.
struct DigestPhone {
  std::mutex mu;
  std::string nonce = "nonce-1";
  int next_nonce = 2;
  bool stale_on_every_valid_answer = false;
  bool also_offer_basic = false;

  std::string ChallengeValue(bool stale) {
    http_auth::DigestChallenge c;
    c.realm = "phone";
    c.nonce = nonce;
    c.opaque = "opaque-1";
    c.stale = stale;
    return http_auth::MakeDigestChallenge(c);
  }

  Reply Answer(bool stale) {
    auto reply = Challenge(ChallengeValue(stale));
    if (also_offer_basic) {
      reply.headers.insert(reply.headers.begin(),
                           {"WWW-Authenticate", http_auth::MakeBasicChallenge("phone")});
    }
    return reply;
  }

  Reply operator()(const SeenRequest& r) {
    std::lock_guard lock(mu);
    auto auth = http_auth::ParseAuthorization(r.authorization);
    if (!auth.ok() || auth->scheme != "digest") return Answer(false);
    if (!http_auth::VerifyDigest(auth->params, "GET", "admin", "secret").ok()) {
      return Answer(false);
    }
    if (auth->params.at("uri") != r.target) return Reply{400, {}, "uri mismatch"};
    if (auth->params.at("opaque") != "opaque-1") return Reply{400, {}, "opaque lost"};
    if (stale_on_every_valid_answer) {
      nonce = "nonce-" + std::to_string(next_nonce++);
      return Answer(true);
    }
    if (auth->params.at("nonce") != nonce) return Answer(true);
    return Ok();
  }

  void Expire() {
    std::lock_guard lock(mu);
    nonce = "nonce-" + std::to_string(next_nonce++);
  }
};

http_auth::Params DigestParams(const SeenRequest& r) {
  auto auth = http_auth::ParseAuthorization(r.authorization);
  return auth.ok() ? auth->params : http_auth::Params{};
}

// ---------------------------------------------------------------------------
// Certificates made on the fly, so no key material lives in the tree.

struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};

TestCert MakeSelfSigned(const char* subject_alt_names) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("phonebus test phone"), -1, -1,
                             0);
  X509_set_issuer_name(cert, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, subject_alt_names);
  X509_add_ext(cert, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(cert, key, EVP_sha256());

  auto to_string = [](BIO* bio) {
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(len));
    BIO_free(bio);
    return out;
  };
  BIO* cert_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, cert);
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  TestCert out{to_string(cert_bio), to_string(key_bio)};
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

std::unique_ptr<ssl::context> ServerContext(const TestCert& cert) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  context->use_certificate_chain(net::buffer(cert.cert_pem));
  context->use_private_key(net::buffer(cert.key_pem), ssl::context::pem);
  return context;
}

std::string WriteTempFile(const std::string& name, const std::string& contents) {
  const auto path = std::filesystem::path(::testing::TempDir()) /
                    (name + "-" + std::to_string(::getpid()) + ".pem");
  std::ofstream(path) << contents;
  return path.string();
}

// ---------------------------------------------------------------------------

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    work_.emplace(net::make_work_guard(io_));
    // Two threads, so strands matter.
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }

  void TearDown() override {
    client_.reset();
    work_.reset();
    for (auto& t : threads_) t.join();
  }

  Client& GetClient(Client::Options options = {}) {
    if (!client_) client_ = std::make_unique<Client>(io_, std::move(options));
    return *client_;
  }

  std::future<Outcome> Start(const Endpoint& endpoint, std::string target,
                             const Credentials& credentials = {},
                             std::chrono::milliseconds deadline = 5s) {
    auto promise = std::make_shared<std::promise<Outcome>>();
    auto future = promise->get_future();
    auto calls = std::make_shared<std::atomic<int>>(0);
    const auto caller = std::this_thread::get_id();
    GetClient().Get(endpoint, std::move(target), credentials, deadline,
                    [promise, calls, caller](Outcome outcome) {
                      // Exactly once, and never inline in Get (which ran on `caller`).
                      EXPECT_EQ(calls->fetch_add(1), 0);
                      EXPECT_NE(std::this_thread::get_id(), caller);
                      promise->set_value(std::move(outcome));
                    });
    return future;
  }

  Outcome Fetch(const Endpoint& endpoint, std::string target, const Credentials& credentials = {},
                std::chrono::milliseconds deadline = 5s) {
    return Start(endpoint, std::move(target), credentials, deadline).get();
  }

  static Endpoint Local(uint16_t port) { return {"127.0.0.1", port}; }

  net::io_context io_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  std::unique_ptr<Client> client_;
};

const Credentials kAdmin{"admin", "secret"};

TEST(HostHeaderValue, PortOnlyWhenNotDefaultAndIpv6InBrackets) {
  EXPECT_EQ(HostHeaderValue({"phone.example", 80}), "phone.example");
  EXPECT_EQ(HostHeaderValue({"phone.example", 8080}), "phone.example:8080");
  EXPECT_EQ(HostHeaderValue({"phone.example", 443, true}), "phone.example");
  EXPECT_EQ(HostHeaderValue({"phone.example", 80, true}), "phone.example:80");
  EXPECT_EQ(HostHeaderValue({"::1", 80}), "[::1]");
  EXPECT_EQ(HostHeaderValue({"[fe80::1]", 8080}), "[fe80::1]:8080");
}

TEST_F(HttpClientTest, PlainGet) {
  TestServer server([](const SeenRequest&) { return Ok("hello"); });
  auto outcome = Fetch(Local(server.Port()), "/servlet?key=OK");
  EXPECT_EQ(outcome.failure, Failure::kNone) << outcome.detail;
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body, "hello");
  EXPECT_TRUE(outcome.request_sent);
  const auto seen = server.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/servlet?key=OK");
  EXPECT_EQ(seen[0].host, "127.0.0.1:" + std::to_string(server.Port()));
  EXPECT_TRUE(seen[0].authorization.empty());
}

TEST_F(HttpClientTest, RedirectIsReportedNotFollowed) {
  TestServer server([](const SeenRequest&) {
    Reply r;
    r.status = 302;
    r.headers.push_back({"Location", "/index.htm"});
    return r;
  });
  auto outcome = Fetch(Local(server.Port()), "/command.htm?number=2323");
  EXPECT_EQ(outcome.failure, Failure::kNone) << outcome.detail;
  EXPECT_EQ(outcome.status, 302);
  EXPECT_EQ(outcome.location, "/index.htm");
  EXPECT_EQ(server.Requests().size(), 1u);
}

TEST_F(HttpClientTest, KeepsOneConnectionAlive) {
  TestServer server([](const SeenRequest&) { return Ok(); });
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Fetch(Local(server.Port()), "/").status, 200);
  EXPECT_EQ(server.Connections(), 1);
}

TEST_F(HttpClientTest, ConnectionCloseMeansANewConnection) {
  TestServer server([](const SeenRequest&) {
    auto r = Ok();
    r.keep_alive = false;
    return r;
  });
  for (int i = 0; i < 2; ++i) EXPECT_EQ(Fetch(Local(server.Port()), "/").status, 200);
  EXPECT_EQ(server.Connections(), 2);
}

TEST_F(HttpClientTest, BasicChallengeIsAnsweredThenSentPreemptively) {
  TestServer server(BasicPhone);
  auto first = Fetch(Local(server.Port()), "/a", kAdmin);
  EXPECT_EQ(first.status, 200) << first.detail;
  ASSERT_EQ(server.Requests().size(), 2u);
  EXPECT_TRUE(server.Requests()[0].authorization.empty());  // no password volunteered
  EXPECT_EQ(server.Requests()[1].authorization, http_auth::BasicAuthorization("admin", "secret"));

  auto second = Fetch(Local(server.Port()), "/b", kAdmin);
  EXPECT_EQ(second.status, 200) << second.detail;
  ASSERT_EQ(server.Requests().size(), 3u);  // one request, not two
  EXPECT_EQ(server.Requests()[2].authorization, http_auth::BasicAuthorization("admin", "secret"));
}

TEST_F(HttpClientTest, ChallengeOnAClosingConnectionIsAnsweredOnANewOne) {
  TestServer server([](const SeenRequest& r) {
    auto reply = BasicPhone(r);
    reply.keep_alive = false;
    return reply;
  });
  auto outcome = Fetch(Local(server.Port()), "/", kAdmin);
  EXPECT_EQ(outcome.status, 200) << outcome.detail;
  EXPECT_EQ(server.Requests().size(), 2u);
  EXPECT_EQ(server.Connections(), 2);
}

TEST_F(HttpClientTest, CallbacksForOnePhoneRunOneAtATimeInOrder) {
  TestServer server([](const SeenRequest& r) { return Ok(r.target); });
  // No lock around `order`: the callbacks are serialized, and if they were
  // not, ThreadSanitizer builds would say so.
  std::vector<std::string> order;
  std::atomic<int> running{0};
  std::promise<void> all_done;
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    GetClient().Get(Local(server.Port()), "/" + std::to_string(i), {}, 5s, [&](const Outcome& o) {
      EXPECT_EQ(running.fetch_add(1), 0);  // never two at once
      std::this_thread::sleep_for(1ms);
      order.push_back(o.body);
      const bool last = order.size() == kRequests;
      running.fetch_sub(1);
      if (last) all_done.set_value();  // the last touch of the test's stack
    });
  }
  all_done.get_future().wait();
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(order[i], "/" + std::to_string(i));
}

TEST_F(HttpClientTest, DigestChallengeIsAnsweredThenSentPreemptivelyWithRisingNc) {
  auto phone = std::make_shared<DigestPhone>();
  TestServer server([phone](const SeenRequest& r) { return (*phone)(r); });
  for (int i = 0; i < 3; ++i) {
    auto outcome = Fetch(Local(server.Port()), "/servlet?key=" + std::to_string(i), kAdmin);
    EXPECT_EQ(outcome.status, 200) << outcome.detail << " " << outcome.body;
  }
  const auto seen = server.Requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_TRUE(seen[0].authorization.empty());
  EXPECT_EQ(DigestParams(seen[1]).at("nc"), "00000001");
  EXPECT_EQ(DigestParams(seen[2]).at("nc"), "00000002");
  EXPECT_EQ(DigestParams(seen[3]).at("nc"), "00000003");
  EXPECT_EQ(DigestParams(seen[3]).at("uri"), "/servlet?key=2");
  EXPECT_NE(DigestParams(seen[2]).at("cnonce"), DigestParams(seen[3]).at("cnonce"));
}

TEST_F(HttpClientTest, DigestIsPreferredOverBasic) {
  auto phone = std::make_shared<DigestPhone>();
  phone->also_offer_basic = true;
  TestServer server([phone](const SeenRequest& r) { return (*phone)(r); });
  auto outcome = Fetch(Local(server.Port()), "/", kAdmin);
  EXPECT_EQ(outcome.status, 200) << outcome.detail;
  ASSERT_EQ(server.Requests().size(), 2u);
  EXPECT_EQ(server.Requests()[1].authorization.rfind("Digest ", 0), 0u);
}

TEST_F(HttpClientTest, WrongPasswordIsTriedOnceThenNotAgainWithinTheHoldOff) {
  for (bool digest : {false, true}) {
    SCOPED_TRACE(digest ? "digest" : "basic");
    client_.reset();  // a fresh client: the refusal below is remembered per client
    auto phone = std::make_shared<DigestPhone>();
    TestServer server(
        [phone, digest](const SeenRequest& r) { return digest ? (*phone)(r) : BasicPhone(r); });
    const Credentials wrong{"admin", "hunter2-wrong"};
    auto outcome = Fetch(Local(server.Port()), "/", wrong);
    EXPECT_EQ(outcome.failure, Failure::kNone);
    EXPECT_EQ(outcome.status, 401);
    EXPECT_TRUE(outcome.credentials_refused);
    EXPECT_TRUE(outcome.request_sent);
    EXPECT_EQ(server.Requests().size(), 2u);
    EXPECT_EQ(outcome.detail.find("hunter2"), std::string::npos);
    EXPECT_FALSE(outcome.detail.empty());

    // Within the hold-off the phone is not asked with them again at all.
    auto again = Fetch(Local(server.Port()), "/", wrong);
    EXPECT_EQ(again.status, 401);
    EXPECT_TRUE(again.credentials_refused);
    EXPECT_FALSE(again.request_sent);
    EXPECT_NE(again.detail.find("refused these credentials"), std::string::npos) << again.detail;
    EXPECT_EQ(server.Requests().size(), 2u);

    // New credentials are tried, and the refused ones were not kept to send unasked.
    auto right = Fetch(Local(server.Port()), "/", kAdmin);
    EXPECT_EQ(right.status, 200) << right.detail;
    ASSERT_EQ(server.Requests().size(), 4u);
    EXPECT_TRUE(server.Requests()[2].authorization.empty());
  }
}

TEST_F(HttpClientTest, RequestsQueuedBehindARefusedLoginAreNotSent) {
  // A burst of commands to a phone with a wrong password: only the first may cost a failed
  // login, or the phone locks it.
  TestServer server([](const SeenRequest& r) {
    auto reply = BasicPhone(r);
    reply.delay = 100ms;  // so the others are queued before the refusal
    return reply;
  });
  const Credentials wrong{"admin", "hunter2-wrong"};
  std::vector<std::future<Outcome>> outcomes;
  for (int i = 0; i < 5; ++i) outcomes.push_back(Start(Local(server.Port()), "/", wrong));
  int sent = 0;
  for (auto& f : outcomes) {
    const auto o = f.get();
    EXPECT_EQ(o.status, 401);
    EXPECT_TRUE(o.credentials_refused);
    sent += o.request_sent ? 1 : 0;
  }
  EXPECT_EQ(sent, 1);
  EXPECT_EQ(server.Requests().size(), 2u);  // the first's challenge and its one answer
}

TEST_F(HttpClientTest, TheRefusalIsForgottenAfterTheHoldOff) {
  Client::Options options;
  options.refused_holdoff = 200ms;
  GetClient(options);
  TestServer server(BasicPhone);
  const Credentials wrong{"admin", "hunter2-wrong"};
  EXPECT_TRUE(Fetch(Local(server.Port()), "/", wrong).credentials_refused);
  EXPECT_EQ(server.Requests().size(), 2u);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(Fetch(Local(server.Port()), "/", wrong).request_sent);
  EXPECT_EQ(server.Requests().size(), 4u);
}

TEST_F(HttpClientTest, AnUnusableChallengeIsNotARefusal) {
  TestServer server([](const SeenRequest&) { return Challenge("Negotiate"); });
  auto outcome = Fetch(Local(server.Port()), "/", kAdmin);
  EXPECT_EQ(outcome.status, 401);
  EXPECT_FALSE(outcome.credentials_refused);
  EXPECT_NE(outcome.detail.find("not supported"), std::string::npos) << outcome.detail;
  // The password was never sent, so nothing holds the next request back.
  EXPECT_TRUE(Fetch(Local(server.Port()), "/", kAdmin).request_sent);
  EXPECT_EQ(server.Requests().size(), 2u);
  EXPECT_TRUE(server.Requests()[1].authorization.empty());
}

TEST_F(HttpClientTest, NoCredentialsMeansTheChallengeIsTheOutcome) {
  TestServer server(BasicPhone);
  auto outcome = Fetch(Local(server.Port()), "/");
  EXPECT_EQ(outcome.status, 401);
  EXPECT_EQ(server.Requests().size(), 1u);
}

TEST_F(HttpClientTest, StaleNonceGetsOneFreshAnswer) {
  auto phone = std::make_shared<DigestPhone>();
  TestServer server([phone](const SeenRequest& r) { return (*phone)(r); });
  EXPECT_EQ(Fetch(Local(server.Port()), "/1", kAdmin).status, 200);
  phone->Expire();
  auto outcome = Fetch(Local(server.Port()), "/2", kAdmin);
  EXPECT_EQ(outcome.status, 200) << outcome.detail;
  const auto seen = server.Requests();
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(DigestParams(seen[2]).at("nonce"), "nonce-1");  // pre-emptive, old nonce
  EXPECT_EQ(DigestParams(seen[3]).at("nonce"), "nonce-2");
  EXPECT_EQ(DigestParams(seen[3]).at("nc"), "00000001");
}

TEST_F(HttpClientTest, StaleIsHonouredOnlyOnce) {
  auto phone = std::make_shared<DigestPhone>();
  phone->stale_on_every_valid_answer = true;
  TestServer server([phone](const SeenRequest& r) { return (*phone)(r); });
  auto outcome = Fetch(Local(server.Port()), "/", kAdmin);
  EXPECT_EQ(outcome.status, 401);
  EXPECT_EQ(server.Requests().size(), 3u);  // unauthenticated, answer, one stale answer
}

TEST_F(HttpClientTest, RequestsToOnePhoneRunOneAfterAnother) {
  TestServer server([](const SeenRequest& r) {
    auto reply = Ok(r.target);
    if (r.target == "/1") reply.delay = 300ms;
    return reply;
  });
  std::vector<std::string> order;
  std::mutex mu;
  auto record = [&](std::future<Outcome> f) {
    auto o = f.get();
    std::lock_guard lock(mu);
    order.push_back(o.body);
  };
  auto f1 = Start(Local(server.Port()), "/1");
  auto f2 = Start(Local(server.Port()), "/2");
  auto f3 = Start(Local(server.Port()), "/3");
  record(std::move(f1));
  record(std::move(f2));
  record(std::move(f3));
  EXPECT_EQ(order, (std::vector<std::string>{"/1", "/2", "/3"}));
  const auto seen = server.Requests();
  const auto replies = server.ReplyTimes();
  ASSERT_EQ(seen.size(), 3u);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(seen[1].target, "/2");
  EXPECT_GE(seen[1].at, replies[0]);  // /2 reached the phone only after /1 was answered
  EXPECT_GE(seen[2].at, replies[1]);
}

TEST_F(HttpClientTest, AHungPhoneDoesNotDelayAnother) {
  TestServer hung([](const SeenRequest&) {
    Reply r;
    r.hang = true;
    return r;
  });
  TestServer fine([](const SeenRequest&) { return Ok(); });
  auto stuck = Start(Local(hung.Port()), "/", {}, 2s);
  const auto start = Clock::now();
  auto outcome = Fetch(Local(fine.Port()), "/");
  EXPECT_EQ(outcome.status, 200);
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(stuck.wait_for(0s), std::future_status::timeout);
  EXPECT_EQ(stuck.get().failure, Failure::kTimeout);
}

TEST_F(HttpClientTest, QueueBoundRefusesAtOnce) {
  TestServer server([](const SeenRequest&) {
    Reply r;
    r.hang = true;
    return r;
  });
  Client::Options options;
  options.max_queue_per_endpoint = 2;
  GetClient(options);
  auto a = Start(Local(server.Port()), "/a", {}, 600ms);
  auto b = Start(Local(server.Port()), "/b", {}, 600ms);
  const auto start = Clock::now();
  auto c = Fetch(Local(server.Port()), "/c", {}, 600ms);
  EXPECT_LT(Clock::now() - start, 200ms);
  EXPECT_EQ(c.failure, Failure::kQueueFull);
  EXPECT_FALSE(c.request_sent);
  EXPECT_EQ(a.get().failure, Failure::kTimeout);
  auto queued = b.get();
  EXPECT_EQ(queued.failure, Failure::kTimeout);
  // Room again once they finished.
  EXPECT_EQ(Fetch(Local(server.Port()), "/d", {}, 100ms).failure, Failure::kTimeout);
}

TEST_F(HttpClientTest, DeadlineAgainstAPhoneThatNeverAnswers) {
  TestServer server([](const SeenRequest&) {
    Reply r;
    r.hang = true;
    return r;
  });
  GetClient();  // made before the clock starts: the deadline counts from Get
  const auto start = Clock::now();
  auto outcome = Fetch(Local(server.Port()), "/", {}, 300ms);
  const auto elapsed = Clock::now() - start;
  EXPECT_EQ(outcome.failure, Failure::kTimeout) << outcome.detail;
  EXPECT_TRUE(outcome.request_sent);
  EXPECT_GE(elapsed, 300ms);
  // The margin allows for a loaded machine (ctest -j); without a working
  // deadline this call would not return until the stand-in is torn down.
  EXPECT_LT(elapsed, 300ms + 400ms);
}

TEST_F(HttpClientTest, DeadlineInTheTlsHandshake) {
  // Listening but never accepting: the kernel completes TCP, nobody speaks TLS.
  net::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  Endpoint endpoint = Local(silent.local_endpoint().port());
  endpoint.tls = true;
  endpoint.tls_verify = false;
  auto outcome = Fetch(endpoint, "/", {}, 300ms);
  EXPECT_EQ(outcome.failure, Failure::kTimeout);
  EXPECT_FALSE(outcome.request_sent);
  EXPECT_NE(outcome.detail.find("TLS"), std::string::npos) << outcome.detail;
}

TEST_F(HttpClientTest, ConnectionRefused) {
  const auto port = testing::FreePort();
  auto outcome = Fetch(Local(port), "/");
  EXPECT_EQ(outcome.failure, Failure::kConnect);
  EXPECT_FALSE(outcome.request_sent);
  EXPECT_NE(outcome.detail.find(std::to_string(port)), std::string::npos) << outcome.detail;
}

TEST_F(HttpClientTest, Ipv6LiteralIsAcceptedAsAHost) {
  // Nothing listens there (and the host may have no IPv6 at all): what
  // matters is that the address is tried, not refused as malformed.
  auto outcome = Fetch({"[::1]", testing::FreePort()}, "/");
  EXPECT_EQ(outcome.failure, Failure::kConnect) << outcome.detail;
  EXPECT_NE(outcome.detail.find("[::1]:"), std::string::npos) << outcome.detail;
}

TEST_F(HttpClientTest, InvalidRequestsAreRefusedWithoutSending) {
  for (const char* target : {"", "servlet", "/a b", "/a\r\nX-Injected: 1"}) {
    auto outcome = Fetch(Local(1), target);
    EXPECT_EQ(outcome.failure, Failure::kInvalidRequest) << target;
    EXPECT_FALSE(outcome.request_sent);
  }
  EXPECT_EQ(Fetch({"", 80}, "/").failure, Failure::kInvalidRequest);
  EXPECT_EQ(Fetch({"127.0.0.1", 0}, "/").failure, Failure::kInvalidRequest);
  EXPECT_EQ(Fetch({"user@host", 80}, "/").failure, Failure::kInvalidRequest);
}

TEST_F(HttpClientTest, IdleConnectionClosedByThePhone) {
  TestServer server([](const SeenRequest&) { return Ok(); });
  EXPECT_EQ(Fetch(Local(server.Port()), "/1").status, 200);
  server.CloseIdleConnections();
  std::this_thread::sleep_for(50ms);
  auto outcome = Fetch(Local(server.Port()), "/2");
  EXPECT_EQ(outcome.status, 200) << outcome.detail;
  EXPECT_EQ(server.Connections(), 2);
  EXPECT_EQ(server.Requests().size(), 2u);  // seen closed before sending: no resend needed
}

TEST_F(HttpClientTest, ReusedConnectionClosedUnderTheRequestIsResentOnce) {
  // The race a peek cannot catch: the phone closes the idle connection as the
  // request arrives. The stand-in reads it first to make the race certain.
  TestServer server([](const SeenRequest& r) {
    Reply reply = Ok(r.target);
    reply.drop = r.target == "/2" && r.connection == 1;
    return reply;
  });
  EXPECT_EQ(Fetch(Local(server.Port()), "/1").status, 200);
  auto outcome = Fetch(Local(server.Port()), "/2");
  EXPECT_EQ(outcome.status, 200) << outcome.detail;
  EXPECT_EQ(outcome.body, "/2");
  const auto seen = server.Requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[2].connection, 2);
}

TEST_F(HttpClientTest, FreshConnectionClosedUnderTheRequestIsNotResent) {
  TestServer server([](const SeenRequest&) {
    Reply reply;
    reply.drop = true;
    return reply;
  });
  auto outcome = Fetch(Local(server.Port()), "/dial");
  EXPECT_EQ(outcome.failure, Failure::kConnect) << outcome.detail;
  EXPECT_TRUE(outcome.request_sent);
  EXPECT_EQ(server.Requests().size(), 1u);
}

TEST_F(HttpClientTest, LargeBodyIsCappedAndTheConnectionStillReused) {
  TestServer server([](const SeenRequest&) { return Ok(std::string(200000, 'x')); });
  Client::Options options;
  options.max_body_bytes = 1000;
  GetClient(options);
  auto outcome = Fetch(Local(server.Port()), "/");
  EXPECT_EQ(outcome.status, 200);
  EXPECT_EQ(outcome.body.size(), 1000u);
  EXPECT_TRUE(outcome.body_truncated);
  EXPECT_EQ(Fetch(Local(server.Port()), "/").status, 200);
  EXPECT_EQ(server.Connections(), 1);
}

TEST_F(HttpClientTest, MalformedResponseIsAProtocolFailure) {
  net::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  std::thread phone([&] {
    tcp::socket socket(io);
    acceptor.accept(socket);
    char buf[1024];
    beast::error_code ec;
    socket.read_some(net::buffer(buf), ec);
    net::write(socket, net::buffer(std::string("HTTP/1.1 two hundred OK\r\n\r\n")), ec);
    socket.read_some(net::buffer(buf), ec);  // until the client gives up
  });
  auto outcome = Fetch(Local(acceptor.local_endpoint().port()), "/");
  phone.join();
  EXPECT_EQ(outcome.failure, Failure::kProtocol) << outcome.detail;
  EXPECT_TRUE(outcome.request_sent);
}

TEST_F(HttpClientTest, CallbackMayCallGetAgain) {
  TestServer server([](const SeenRequest& r) { return Ok(r.target); });
  std::promise<Outcome> second;
  GetClient().Get(Local(server.Port()), "/1", {}, 5s, [&](const Outcome& first) {
    EXPECT_EQ(first.body, "/1");
    GetClient().Get(Local(server.Port()), "/2", {}, 5s,
                    [&](Outcome o) { second.set_value(std::move(o)); });
  });
  EXPECT_EQ(second.get_future().get().body, "/2");
}

class HttpsTest : public HttpClientTest {
 protected:
  static void SetUpTestSuite() {
    cert_ = new TestCert(MakeSelfSigned("IP:127.0.0.1,DNS:localhost"));
    ca_file_ = new std::string(WriteTempFile("phonebus-test-ca", cert_->cert_pem));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove(*ca_file_);
    delete cert_;
    delete ca_file_;
  }

  static TestCert* cert_;
  static std::string* ca_file_;
};
TestCert* HttpsTest::cert_ = nullptr;
std::string* HttpsTest::ca_file_ = nullptr;

TEST_F(HttpsTest, SelfSignedWithoutVerification) {
  auto context = ServerContext(*cert_);
  TestServer server([](const SeenRequest& r) { return Ok(r.host); }, context.get());
  Endpoint endpoint{"127.0.0.1", server.Port(), /*tls=*/true, /*tls_verify=*/false};
  for (int i = 0; i < 2; ++i) {
    auto outcome = Fetch(endpoint, "/", kAdmin);
    EXPECT_EQ(outcome.failure, Failure::kNone) << outcome.detail;
    EXPECT_EQ(outcome.status, 200);
    EXPECT_EQ(outcome.body, "127.0.0.1:" + std::to_string(server.Port()));
  }
  EXPECT_EQ(server.Connections(), 1);  // TLS connections are reused too
}

TEST_F(HttpsTest, SelfSignedFailsVerificationAgainstTheSystemStore) {
  auto context = ServerContext(*cert_);
  TestServer server([](const SeenRequest&) { return Ok(); }, context.get());
  Endpoint endpoint{"127.0.0.1", server.Port(), /*tls=*/true, /*tls_verify=*/true};
  auto outcome = Fetch(endpoint, "/", kAdmin);
  EXPECT_EQ(outcome.failure, Failure::kTls) << outcome.detail;
  EXPECT_FALSE(outcome.request_sent);
  EXPECT_NE(outcome.detail.find("certificate"), std::string::npos) << outcome.detail;
  EXPECT_TRUE(server.Requests().empty());
}

TEST_F(HttpsTest, VerifiesAgainstCaFileByIpAndByName) {
  auto context = ServerContext(*cert_);
  TestServer server([](const SeenRequest&) { return Ok(); }, context.get());
  Client::Options options;
  options.ca_file = *ca_file_;
  GetClient(options);
  for (const char* host : {"127.0.0.1", "localhost"}) {
    Endpoint endpoint{host, server.Port(), /*tls=*/true, /*tls_verify=*/true};
    auto outcome = Fetch(endpoint, "/");
    EXPECT_EQ(outcome.failure, Failure::kNone) << host << ": " << outcome.detail;
    EXPECT_EQ(outcome.status, 200);
  }
}

TEST_F(HttpsTest, NameMismatchFailsVerification) {
  const auto other = MakeSelfSigned("DNS:phone.example");
  const auto ca = WriteTempFile("phonebus-test-other-ca", other.cert_pem);
  auto context = ServerContext(other);
  TestServer server([](const SeenRequest&) { return Ok(); }, context.get());
  Client::Options options;
  options.ca_file = ca;
  GetClient(options);
  auto outcome = Fetch({"127.0.0.1", server.Port(), true, true}, "/");
  EXPECT_EQ(outcome.failure, Failure::kTls) << outcome.detail;
  std::filesystem::remove(ca);
}

TEST(ClientOptions, UnreadableCaFileFailsAtStartUp) {
  net::io_context io;
  Client::Options options;
  options.ca_file = "/nonexistent/phonebus-ca.pem";
  EXPECT_THROW(Client(io, options), std::runtime_error);
  try {
    Client client(io, options);
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "cannot load TLS trust anchors from /nonexistent/phonebus-ca.pem: "),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace phonebus::http_client
