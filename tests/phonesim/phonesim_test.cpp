// The phone simulator against a plain HTTP client on loopback: each firmware generation accepts
// its own request forms and 404s the others, the vendor encodings are reversed, the web login
// (Basic, Digest, lockout), the allow-list and the failure modes behave as real phones do, and
// calls fire the provisioned Action URLs at an HTTP listener the test runs.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "digest_auth.h"
#include "http_server.h"
#include "net.h"
#include "phone_list.h"
#include "phone_provisioning.h"
#include "simulator.h"
#include "url.h"

extern char** environ;

namespace phonebus::phonesim {
namespace {

using namespace std::chrono_literals;

// ---- A plain HTTP client ---------------------------------------------------------------------

struct HttpReply {
  int status = 0;                              // 0: no response
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool timed_out = false;
  bool closed = false;  // the phone closed the connection without answering
  std::chrono::milliseconds elapsed{0};

  std::string Header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string{} : it->second;
  }
};

HttpReply Get(unsigned short port, const std::string& target, const std::string& authorization = {},
              std::chrono::milliseconds timeout = 5s) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::connection, "close");
  if (!authorization.empty()) req.set(http::field::authorization, authorization);
  http::response<http::string_body> res;
  HttpReply reply;
  const auto start = std::chrono::steady_clock::now();
  stream.expires_after(timeout);
  const auto fail = [&](beast::error_code ec) {
    reply.timed_out = ec == beast::error::timeout;
    reply.closed = ec == http::error::end_of_stream || ec == net::error::eof ||
                   ec == net::error::connection_reset;
  };
  stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                       [&](beast::error_code ec) {
                         if (ec) return fail(ec);
                         http::async_write(stream, req, [&](beast::error_code ec, size_t) {
                           if (ec) return fail(ec);
                           http::async_read(stream, buffer, res, [&](beast::error_code ec, size_t) {
                             if (ec) return fail(ec);
                             reply.status = static_cast<int>(res.result_int());
                             for (const auto& field : res) {
                               std::string name(field.name_string());
                               for (char& c : name) c = static_cast<char>(std::tolower(c));
                               reply.headers[name] = std::string(field.value());
                             }
                             reply.body = res.body();
                           });
                         });
                       });
  ioc.run();
  reply.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return reply;
}

// Answers the phone's Digest challenge for `target` as a client would.
std::string DigestAnswer(const HttpReply& challenge_reply, const std::string& target,
                         const std::string& user, const std::string& password) {
  const auto it = challenge_reply.headers.find("www-authenticate");
  if (it == challenge_reply.headers.end()) return {};
  auto challenges = http_auth::ParseChallenges(it->second);
  if (!challenges.ok() || challenges->empty()) return {};
  auto digest = http_auth::ToDigestChallenge(challenges->front());
  if (!digest.ok()) return {};
  auto value = http_auth::DigestAuthorization(*digest, "GET", target, user, password, 1,
                                              http_auth::MakeCnonce());
  return value.ok() ? *value : std::string{};
}

// ---- An Action URL receiver standing in for the adapter ---------------------------------------

class Receiver {
 public:
  Receiver()
      : server_(ioc_, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0), {},
                [this](const http_server::Request& req, http_server::Reply reply) {
                  {
                    std::lock_guard lock(mu_);
                    targets_.emplace_back(req.target);
                  }
                  changed_.notify_all();
                  reply({200, "ok"});
                }) {
    server_.Start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~Receiver() {
    server_.Shutdown();
    ioc_.stop();
    thread_.join();
  }

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(server_.local_endpoint().port());
  }
  std::vector<std::string> targets() const {
    std::lock_guard lock(mu_);
    return targets_;
  }
  bool WaitFor(size_t n, std::chrono::milliseconds timeout = 5s) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return targets_.size() >= n; });
  }

 private:
  net::io_context ioc_;
  http_server::Server server_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::vector<std::string> targets_;
};

// Path and decoded query of a received Action URL ('+' kept, as the adapter reads it).
struct Received {
  std::string path;
  std::map<std::string, std::string> params;
};
Received Parse(const std::string& target) {
  const auto [path, query] = url::SplitTarget(target);
  Received r{std::string(path), {}};
  auto params = url::ParseQuery(query);
  EXPECT_TRUE(params.ok()) << target;
  if (params.ok()) {
    for (auto& p : *params) r.params.emplace(p.name, p.value);
  }
  return r;
}

PhoneConfig Yealink(std::string id = "001565aabbcc") {
  PhoneConfig c;
  c.id = std::move(id);
  c.family = Family::kYealinkServlet;
  c.account = "1001@pbx.example";
  c.timing.answer_delay = 20ms;
  return c;
}

// ---- Decoding: the vendor encodings reversed -------------------------------------------------

struct DecodeCase {
  Family family;
  std::string target;
  std::string expected;  // Describe() of the command, or "404", "400", "403"
};

std::string DecodeToString(Family family, const std::string& target) {
  auto command = DecodeCommand(family, target);
  if (command.ok()) return Describe(*command);
  switch (command.status().code()) {
    case absl::StatusCode::kNotFound:
      return "404";
    case absl::StatusCode::kInvalidArgument:
      return "400";
    case absl::StatusCode::kPermissionDenied:
      return "403";
    default:
      return command.status().ToString();
  }
}

TEST(Decode, ReversesEachVendorsEncoding) {
  const auto kServlet = Family::kYealinkServlet;
  const auto kV70 = Family::kYealinkConfigManApp;
  const auto kT38 = Family::kYealinkCgiServer;
  const auto kSnom = Family::kSnom;
  const auto kSoft = Family::kSoftphone;
  const std::vector<DecodeCase> cases = {
      {kServlet, "/servlet?key=number=%2B4930123456&outgoing_uri=1001@pbx.example",
       R"(kind=dial number="+4930123456" account="1001@pbx.example" form=servlet-number)"},
      {kServlet, "/servlet?key=number=12%2334",
       R"(kind=dial number="12#34" account="" form=servlet-number)"},
      // A raw '+' is a space to the phone's form decoder: the encoder must send %2B.
      {kServlet, "/servlet?key=number=+4930",
       R"(kind=dial number=" 4930" account="" form=servlet-number)"},
      // A raw '#' starts the fragment: everything after it is lost.
      {kServlet, "/servlet?key=number=12#34",
       R"(kind=dial number="12" account="" form=servlet-number)"},
      {kServlet, "/servlet?key=F_HANDFREE;12$34;OK",
       R"(kind=keys keys=["F_HANDFREE","12#34","OK"] form=servlet-key)"},
      {kServlet, "/servlet?key=ASW:3", R"(kind=keys keys=["ASW:3"] form=servlet-key)"},
      {kServlet, "/servlet?outgoing_uri=1001@pbx.example&key=number=2323",
       "404"},  // key= not first
      {kServlet, "/servlet?number=2323", "404"},
      {kServlet, "/servlet?key=number=%zz", "400"},
      {kV70, "/cgi-bin/ConfigManApp.com?number=2323",
       R"(kind=dial number="2323" account="" form=configmanapp-number)"},
      {kV70, "/cgi-bin/ConfigManApp.com?key=F_HANDFREE;2323@1;OK",
       R"(kind=keys keys=["F_HANDFREE","2323@1","OK"] form=configmanapp-key)"},
      // Old firmware does not know key=number=: it is a key name it lacks.
      {kV70, "/cgi-bin/ConfigManApp.com?key=number=2323",
       R"(kind=keys keys=["number=2323"] form=configmanapp-key)"},
      {kT38, "/cgi-bin/cgiServer.exx?number=%2B4930&outgoing_uri=1001@pbx.example",
       R"(kind=dial number="+4930" account="1001@pbx.example" form=cgiserver-number)"},
      {kT38, "/cgi-bin/ConfigManApp.com?key=X", R"(kind=keys keys=["X"] form=configmanapp-key)"},
      {kT38, "/cgi-bin/ConfigManApp.com?number=2323", "404"},
      {kSnom, "/command.htm?number=%2B4930123456&outgoing_uri=1001@pbx.example",
       R"(kind=dial number="+4930123456" account="1001@pbx.example" form=snom-number)"},
      {kSnom, "/command.htm?key=%23", R"(kind=keys keys=["#"] form=snom-key)"},
      // '$' means '#' to Yealink only.
      {kSnom, "/command.htm?key=12$34", R"(kind=keys keys=["12$34"] form=snom-key)"},
      {kSnom, "/command.htm?key_dtmf=1%23", R"(kind=dtmf keys=["1","#"] form=snom-key_dtmf)"},
      {kSnom, "/command.htm?RELEASE_ALL_CALLS",
       "kind=release_all_calls form=snom-release_all_calls"},
      {kSnom, "/command.htm?foo=bar", "404"},
      {Family::kSnomNoHttpCommands, "/command.htm?number=2323", "403"},
      {Family::kSnomNoHttpCommands, "/index.htm", "kind=web_page form=snom-index"},
      {kSoft, "/?action=make_call&target=%2B4930123456",
       R"(kind=dial number="+4930123456" account="" form=softphone-make_call)"},
      {kSoft, "/?action=hangup", "404"},
      {kSoft, "/servlet?key=number=2323",
       R"(kind=dial number="2323" account="" form=servlet-number)"},
      {kSoft, "/servlet?key=OK", "404"},
      {kSoft, "/command.htm?number=2323", R"(kind=dial number="2323" account="" form=snom-number)"},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(DecodeToString(c.family, c.target), c.expected)
        << FamilyName(c.family) << " " << c.target;
  }
}

// ---- Each generation over real HTTP ----------------------------------------------------------

TEST(PhoneHttp, EachGenerationAcceptsItsFormsAndRefusesTheOthers) {
  const std::vector<std::pair<std::string, std::string>> forms = {
      {"servlet-number", "/servlet?key=number=2323&outgoing_uri=1001@pbx.example"},
      {"servlet-key", "/servlet?key=F_HANDFREE;2323@1;OK"},
      {"configmanapp-number", "/cgi-bin/ConfigManApp.com?number=2323"},
      {"configmanapp-key", "/cgi-bin/ConfigManApp.com?key=F_HANDFREE;2323@1;OK"},
      {"cgiserver-number", "/cgi-bin/cgiServer.exx?number=2323&outgoing_uri=1001@pbx.example"},
      {"snom-number", "/command.htm?number=2323&outgoing_uri=1001@pbx.example"},
      {"snom-key", "/command.htm?key=ENTER"},
      {"softphone-make_call", "/?action=make_call&target=2323"},
  };
  // Expected status per form, in the order above.
  const std::map<Family, std::vector<int>> expected = {
      {Family::kYealinkServlet, {200, 200, 404, 404, 404, 404, 404, 404}},
      {Family::kYealinkConfigManApp, {404, 404, 200, 200, 404, 404, 404, 404}},
      {Family::kYealinkCgiServer, {404, 404, 404, 200, 200, 404, 404, 404}},
      {Family::kSnom, {404, 404, 404, 404, 404, 302, 302, 404}},
      {Family::kSnomNoHttpCommands, {404, 404, 404, 404, 404, 403, 403, 404}},
      {Family::kSoftphone, {200, 404, 200, 404, 200, 200, 404, 200}},
  };
  Simulator sim;
  int n = 0;
  for (const auto& [family, statuses] : expected) {
    PhoneConfig c;
    c.family = family;
    c.id = family == Family::kSoftphone ? "agent-soft" : "00156500000" + std::to_string(n++);
    auto phone = sim.Add(c);
    ASSERT_TRUE(phone.ok()) << phone.status();
    for (size_t i = 0; i < forms.size(); ++i) {
      const auto reply = Get(phone->port(), forms[i].second);
      EXPECT_EQ(reply.status, statuses[i]) << FamilyName(family) << " " << forms[i].first;
      if (reply.status == 302) {
        EXPECT_EQ(reply.Header("location"), "/index.htm");
      }
      if (reply.status == 403) {
        EXPECT_NE(reply.body.find("HTTP commands are disabled"), std::string::npos) << reply.body;
      }
    }
    // The record holds what was understood, in neutral terms.
    const auto requests = phone->Requests();
    ASSERT_EQ(requests.size(), forms.size());
    for (size_t i = 0; i < forms.size(); ++i) {
      EXPECT_EQ(requests[i].target, forms[i].second);
      EXPECT_EQ(requests[i].source, "127.0.0.1");
      const bool accepted = statuses[i] == 200 || statuses[i] == 302;
      EXPECT_EQ(requests[i].command.has_value(), accepted) << Describe(requests[i]);
      if (accepted && requests[i].command->kind == CommandKind::kDial) {
        EXPECT_EQ(requests[i].command->number, "2323");
      }
    }
    EXPECT_EQ(phone->counters().requests, forms.size());
  }
}

TEST(PhoneHttp, KeySequenceDialPlacesACall) {
  Simulator sim;
  auto phone = sim.Add(Yealink());
  ASSERT_TRUE(phone.ok()) << phone.status();
  EXPECT_EQ(Get(phone->port(), "/servlet?key=F_HANDFREE;2;3;$;4;@1;OK").status, 200);
  ASSERT_TRUE(phone->WaitUntil(
      [&] { return !phone->Calls().empty() && phone->Calls()[0].connected.has_value(); }, 5s));
  const auto calls = phone->Calls();
  EXPECT_EQ(calls[0].number, "23#4");
  EXPECT_EQ(calls[0].account, "1001@pbx.example");
  EXPECT_EQ(calls[0].state, CallState::kConnected);
}

// ---- The web login ---------------------------------------------------------------------------

TEST(Auth, BasicAcceptsTheRightCredentialsOnly) {
  Simulator sim;
  PhoneConfig c = Yealink();
  c.auth = AuthScheme::kBasic;
  c.username = "admin";
  c.password = "secret-a";
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok()) << phone.status();
  const std::string target = "/servlet?key=OK";

  const auto none = Get(phone->port(), target);
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Header("www-authenticate").rfind("Basic realm=\"Yealink\"", 0), 0u)
      << none.Header("www-authenticate");
  EXPECT_EQ(Get(phone->port(), target, http_auth::BasicAuthorization("admin", "wrong")).status,
            401);
  EXPECT_EQ(Get(phone->port(), target, http_auth::BasicAuthorization("root", "secret-a")).status,
            401);
  EXPECT_EQ(Get(phone->port(), target, http_auth::BasicAuthorization("admin", "secret-a")).status,
            200);

  const auto requests = phone->Requests();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(requests[0].auth, AuthOutcome::kMissing);
  EXPECT_EQ(requests[1].auth, AuthOutcome::kRejected);
  EXPECT_EQ(requests[2].auth, AuthOutcome::kRejected);
  EXPECT_EQ(requests[3].auth, AuthOutcome::kAccepted);
  EXPECT_EQ(requests[3].user, "admin");
  ASSERT_TRUE(requests[3].command.has_value());
  EXPECT_FALSE(requests[1].command.has_value());
  EXPECT_EQ(phone->counters().failed_logins, 2u);
  EXPECT_EQ(phone->counters().unauthorized, 3u);
}

TEST(Auth, DigestAcceptsTheRightCredentialsOnly) {
  Simulator sim;
  PhoneConfig c;
  c.id = "000413aabbcc";
  c.family = Family::kSnom;
  c.auth = AuthScheme::kDigest;
  c.username = "admin";
  c.password = "secret-b";
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok()) << phone.status();
  const std::string target = "/command.htm?number=%2B4930123456";

  const auto challenge = Get(phone->port(), target);
  ASSERT_EQ(challenge.status, 401);
  auto parsed = http_auth::ParseChallenges(challenge.Header("www-authenticate"));
  ASSERT_TRUE(parsed.ok()) << challenge.Header("www-authenticate");
  auto digest = http_auth::ToDigestChallenge(parsed->front());
  ASSERT_TRUE(digest.ok()) << digest.status();
  EXPECT_EQ(digest->realm, "snom");

  EXPECT_EQ(Get(phone->port(), target, DigestAnswer(challenge, target, "admin", "wrong")).status,
            401);
  // An answer computed for another target does not open this one.
  const auto other = Get(phone->port(), "/command.htm?key=ENTER");
  EXPECT_EQ(
      Get(phone->port(), target, DigestAnswer(other, "/command.htm?key=ENTER", "admin", "secret-b"))
          .status,
      401);
  // Basic to a Digest phone is a challenge again, not a failed login.
  EXPECT_EQ(Get(phone->port(), target, http_auth::BasicAuthorization("admin", "secret-b")).status,
            401);
  const auto fresh = Get(phone->port(), target);
  const auto ok = Get(phone->port(), target, DigestAnswer(fresh, target, "admin", "secret-b"));
  EXPECT_EQ(ok.status, 302);

  const auto requests = phone->Requests();
  ASSERT_EQ(requests.size(), 7u);
  EXPECT_EQ(requests[1].auth, AuthOutcome::kRejected);
  EXPECT_EQ(requests[3].auth, AuthOutcome::kRejected);
  EXPECT_EQ(requests[4].auth, AuthOutcome::kMissing);
  EXPECT_EQ(requests[6].auth, AuthOutcome::kAccepted);
  ASSERT_TRUE(requests[6].command.has_value());
  EXPECT_EQ(requests[6].command->number, "+4930123456");
  EXPECT_EQ(phone->counters().failed_logins, 2u);
}

TEST(Auth, DigestWithANonceThePhoneDidNotIssueIsStale) {
  Simulator sim;
  PhoneConfig c = Yealink();
  c.auth = AuthScheme::kDigest;
  c.username = "admin";
  c.password = "pw";
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok()) << phone.status();
  const std::string target = "/servlet?key=OK";
  http_auth::DigestChallenge forged;
  forged.realm = "Yealink";
  forged.nonce = "00000000000000000000000000000000";
  auto answer =
      http_auth::DigestAuthorization(forged, "GET", target, "admin", "pw", 1, "abcdef0123456789");
  ASSERT_TRUE(answer.ok());
  const auto reply = Get(phone->port(), target, *answer);
  EXPECT_EQ(reply.status, 401);
  EXPECT_NE(reply.Header("www-authenticate").find("stale=true"), std::string::npos)
      << reply.Header("www-authenticate");
  EXPECT_EQ(phone->Requests().at(0).auth, AuthOutcome::kStale);
  EXPECT_EQ(phone->counters().failed_logins, 0u);
}

TEST(Auth, LocksTheLoginAfterRepeatedFailures) {
  Simulator sim;
  PhoneConfig c = Yealink();
  c.auth = AuthScheme::kBasic;
  c.username = "admin";
  c.password = "pw";
  c.lockout = {.max_failures = 3, .window = 60s, .duration = 1s};
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok()) << phone.status();
  const std::string target = "/servlet?key=OK";
  const std::string wrong = http_auth::BasicAuthorization("admin", "guess");
  const std::string right = http_auth::BasicAuthorization("admin", "pw");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Get(phone->port(), target, wrong).status, 401) << i;
  // Locked: even the right password is refused, without a challenge to answer.
  const auto locked = Get(phone->port(), target, right);
  EXPECT_EQ(locked.status, 403);
  EXPECT_EQ(locked.headers.count("www-authenticate"), 0u);
  EXPECT_NE(locked.body.find("locked"), std::string::npos) << locked.body;
  EXPECT_EQ(phone->Requests().back().auth, AuthOutcome::kLockedOut);
  EXPECT_EQ(phone->counters().lockouts, 1u);
  EXPECT_EQ(phone->counters().failed_logins, 3u);
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(Get(phone->port(), target, right).status, 200);
}

TEST(AllowList, RefusesSourcesNotListed) {
  Simulator sim;
  PhoneConfig refused = Yealink("001565000001");
  refused.allowed_ips = {"10.9.9.9"};
  PhoneConfig allowed = Yealink("001565000002");
  allowed.allowed_ips = {"10.9.9.9", "127.0.0.1"};
  PhoneConfig any = Yealink("001565000003");
  any.allowed_ips = {"any"};
  auto a = sim.Add(refused);
  auto b = sim.Add(allowed);
  auto d = sim.Add(any);
  ASSERT_TRUE(a.ok() && b.ok() && d.ok());
  const auto reply = Get(a->port(), "/servlet?key=OK");
  EXPECT_EQ(reply.status, 403);
  EXPECT_NE(reply.body.find("127.0.0.1"), std::string::npos) << reply.body;
  EXPECT_EQ(a->Requests().at(0).auth, AuthOutcome::kNotChecked);
  EXPECT_EQ(a->counters().forbidden, 1u);
  EXPECT_EQ(Get(b->port(), "/servlet?key=OK").status, 200);
  EXPECT_EQ(Get(d->port(), "/servlet?key=OK").status, 200);
}

// ---- Failure modes ---------------------------------------------------------------------------

TEST(Failure, HangNeverAnswers) {
  Simulator sim;
  PhoneConfig c = Yealink();
  c.failure = Failure::kHang;
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  const auto reply = Get(phone->port(), "/servlet?key=number=2323", {}, 300ms);
  EXPECT_EQ(reply.status, 0);
  EXPECT_TRUE(reply.timed_out);
  ASSERT_TRUE(phone->WaitForRequests(1, 2s));
  EXPECT_EQ(phone->Requests()[0].status, 0u);
  EXPECT_TRUE(phone->Calls().empty());  // a wedged phone does nothing
  EXPECT_EQ(phone->counters().unanswered, 1u);
}

TEST(Failure, CloseDropsTheConnection) {
  Simulator sim;
  PhoneConfig c = Yealink();
  c.failure = Failure::kClose;
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  const auto reply = Get(phone->port(), "/servlet?key=OK", {}, 3s);
  EXPECT_EQ(reply.status, 0);
  EXPECT_TRUE(reply.closed);
  EXPECT_FALSE(reply.timed_out);
  EXPECT_LT(reply.elapsed, 2s);
}

TEST(Failure, FixedStatusAndSwitchingAtRunTime) {
  Simulator sim;
  PhoneConfig c = Yealink();
  c.failure = Failure::kStatus;
  c.failure_status = 500;
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  EXPECT_EQ(Get(phone->port(), "/servlet?key=OK").status, 500);
  phone->SetFailure(Failure::kNone);
  EXPECT_EQ(Get(phone->port(), "/servlet?key=OK").status, 200);
  phone->SetFailure(Failure::kStatus, 503);
  EXPECT_EQ(Get(phone->port(), "/servlet?key=OK").status, 503);
}

TEST(Failure, DelayedAnswerAfterTheCommandTookEffect) {
  Simulator sim;
  PhoneConfig c = Yealink();
  c.response_delay = 400ms;
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  const auto slow = Get(phone->port(), "/servlet?key=OK", {}, 5s);
  EXPECT_EQ(slow.status, 200);
  EXPECT_GE(slow.elapsed, 380ms);
  // A client that gives up early cannot tell: the phone dialed anyway.
  const auto gave_up = Get(phone->port(), "/servlet?key=number=2323", {}, 100ms);
  EXPECT_TRUE(gave_up.timed_out);
  ASSERT_TRUE(phone->WaitUntil([&] { return phone->Calls().size() == 1; }, 2s));
  EXPECT_EQ(phone->Calls()[0].number, "2323");
}

// ---- Action URLs -----------------------------------------------------------------------------

TEST(ActionUrls, YealinkDialFiresOutgoingThenEstablishedAndHangupTerminated) {
  Receiver adapter;
  Simulator sim;
  PhoneConfig c = Yealink();
  c.adapter_url = adapter.url();
  c.display_name = "Agent 7";
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok()) << phone.status();
  EXPECT_GE(phone->provisioned().size(), 40u);

  ASSERT_EQ(
      Get(phone->port(), "/servlet?key=number=%2B4930123456&outgoing_uri=1001@pbx.example").status,
      200);
  ASSERT_TRUE(adapter.WaitFor(2));
  ASSERT_EQ(phone->Calls().size(), 1u);
  const std::string call_id = phone->Calls()[0].id;
  EXPECT_FALSE(call_id.empty());

  auto received = adapter.targets();
  const auto outgoing = Parse(received[0]);
  const auto established = Parse(received[1]);
  EXPECT_EQ(outgoing.path, "/yealink/outgoing_call");
  EXPECT_EQ(established.path, "/yealink/call_established");
  for (const auto& r : {outgoing, established}) {
    EXPECT_EQ(r.params.at("remote"), "+4930123456");
    EXPECT_EQ(r.params.at("call_id"), call_id);
    EXPECT_EQ(r.params.at("mac"), "001565aabbcc");
    EXPECT_EQ(r.params.at("model"), "T46S");
    EXPECT_EQ(r.params.at("active_url"), "1001@pbx.example");
    EXPECT_EQ(r.params.at("display_local"), "Agent 7");
  }
  EXPECT_EQ(outgoing.params.at("calledNumber"), "+4930123456");

  EXPECT_EQ(Get(phone->port(), "/servlet?key=X").status, 200);
  ASSERT_TRUE(adapter.WaitFor(3));
  const auto terminated = Parse(adapter.targets()[2]);
  EXPECT_EQ(terminated.path, "/yealink/call_terminated");
  EXPECT_EQ(terminated.params.at("call_id"), call_id);
  EXPECT_EQ(phone->Calls()[0].state, CallState::kEnded);
  EXPECT_EQ(phone->Calls()[0].end_reason, "hangup");

  ASSERT_TRUE(phone->WaitForFired(3, 2s));
  const auto fired = phone->Fired();
  ASSERT_EQ(fired.size(), 3u);
  EXPECT_EQ(fired[0].event, "outgoing_call");
  EXPECT_EQ(fired[1].event, "call_established");
  EXPECT_EQ(fired[2].event, "call_terminated");
  for (const auto& f : fired) {
    EXPECT_EQ(f.status, 200u) << f.error;
    EXPECT_EQ(f.call_id, call_id);
  }
}

TEST(ActionUrls, TalkTimeEndsTheCallByItself) {
  Receiver adapter;
  Simulator sim;
  PhoneConfig c = Yealink();
  c.family = Family::kYealinkConfigManApp;
  c.adapter_url = adapter.url();
  c.timing.talk_time = 50ms;
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  EXPECT_EQ(Get(phone->port(), "/cgi-bin/ConfigManApp.com?key=F_HANDFREE;2323@1;OK").status, 200);
  ASSERT_TRUE(adapter.WaitFor(3));
  const auto received = adapter.targets();
  EXPECT_EQ(Parse(received[0]).path, "/yealink/outgoing_call");
  EXPECT_EQ(Parse(received[0]).params.at("remote"), "2323");
  EXPECT_EQ(Parse(received[1]).path, "/yealink/call_established");
  EXPECT_EQ(Parse(received[2]).path, "/yealink/call_terminated");
  EXPECT_EQ(phone->Calls().at(0).end_reason, "remote_hangup");
}

TEST(ActionUrls, SnomKeysDialAndCancelHangsUp) {
  Receiver adapter;
  Simulator sim;
  PhoneConfig c;
  c.id = "00:04:13:AA:BB:CC";
  c.family = Family::kSnom;
  c.account = "1002@pbx.example";
  c.adapter_url = adapter.url();
  c.timing.answer_delay = 10ms;
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok()) << phone.status();
  EXPECT_EQ(phone->id(), "000413aabbcc");
  EXPECT_EQ(Get(phone->port(), "/command.htm?key=OFFHOOK;2;3;4;ENTER").status, 302);
  ASSERT_TRUE(adapter.WaitFor(2));
  EXPECT_EQ(Get(phone->port(), "/command.htm?key=CANCEL").status, 302);
  ASSERT_TRUE(adapter.WaitFor(3));
  const auto received = adapter.targets();
  const std::string call_id = phone->Calls().at(0).id;
  const char* paths[] = {"/snom/outgoing", "/snom/connected", "/snom/disconnected"};
  for (int i = 0; i < 3; ++i) {
    const auto r = Parse(received[static_cast<size_t>(i)]);
    EXPECT_EQ(r.path, paths[i]);
    EXPECT_EQ(r.params.at("call_id"), call_id);
    EXPECT_EQ(r.params.at("remote"), "sip:234@pbx.example");
    EXPECT_EQ(r.params.at("mac"), "000413AABBCC");
  }
}

TEST(ActionUrls, SoftphoneCallCarriesItsGuidAndKinds) {
  Receiver adapter;
  Simulator sim;
  PhoneConfig c;
  c.id = "agent17-soft";
  c.family = Family::kSoftphone;
  c.account = "1017@pbx.example";
  c.adapter_url = adapter.url();
  c.timing.answer_delay = 10ms;
  c.timing.talk_time = 1100ms;  // a whole second, so the duration is not 0
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok()) << phone.status();
  EXPECT_EQ(Get(phone->port(), "/?action=make_call&target=%2B4930123456").status, 200);
  ASSERT_TRUE(adapter.WaitFor(3, 5s));
  const auto received = adapter.targets();
  const std::string guid = phone->Calls().at(0).id;
  EXPECT_EQ(guid.size(), 36u) << guid;
  const char* kinds[] = {"outgoing", "connected", "disconnected"};
  for (int i = 0; i < 3; ++i) {
    const auto r = Parse(received[static_cast<size_t>(i)]);
    EXPECT_EQ(r.path, "/softphone");
    EXPECT_EQ(r.params.at("action"), kinds[i]);
    EXPECT_EQ(r.params.at("call_guid"), guid);
    EXPECT_EQ(r.params.at("remote_party"), "+4930123456");
    EXPECT_EQ(r.params.at("call_direction"), "outbound");
    EXPECT_EQ(r.params.at("device"), "agent17-soft");
  }
  EXPECT_EQ(Parse(received[2]).params.at("call_duration_seconds"), "1");
}

TEST(ActionUrls, RingAnswerHoldDnd) {
  Receiver adapter;
  Simulator sim;
  PhoneConfig c = Yealink();
  c.adapter_url = adapter.url();
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  phone->Ring("+4940999", "J\xC3\xBCrgen");
  ASSERT_TRUE(adapter.WaitFor(1));
  const std::string id = phone->Calls().at(0).id;
  EXPECT_EQ(Get(phone->port(), "/servlet?key=ASW:" + id).status, 200);
  EXPECT_EQ(Get(phone->port(), "/servlet?key=F_HOLD").status, 200);
  EXPECT_EQ(Get(phone->port(), "/servlet?key=F_HOLD").status, 200);
  EXPECT_EQ(Get(phone->port(), "/servlet?key=DNDOn").status, 200);
  EXPECT_EQ(Get(phone->port(), "/servlet?key=DNDOn").status, 200);  // no change: no URL
  EXPECT_EQ(Get(phone->port(), "/servlet?key=DNDOff").status, 200);
  ASSERT_TRUE(adapter.WaitFor(6));
  std::vector<std::string> paths;
  for (const auto& t : adapter.targets()) paths.push_back(Parse(t).path);
  EXPECT_EQ(paths, (std::vector<std::string>{"/yealink/incoming_call", "/yealink/call_established",
                                             "/yealink/hold", "/yealink/unhold", "/yealink/dnd_on",
                                             "/yealink/dnd_off"}));
  const auto incoming = Parse(adapter.targets()[0]);
  EXPECT_EQ(incoming.params.at("remote"), "+4940999");
  EXPECT_EQ(incoming.params.at("display_remote"), "J\xC3\xBCrgen");
  EXPECT_EQ(incoming.params.at("callerID"), "+4940999");
  EXPECT_FALSE(phone->dnd());
}

TEST(ActionUrls, MuteTransferAndReject) {
  Receiver adapter;
  Simulator sim;
  PhoneConfig c = Yealink();
  c.adapter_url = adapter.url();
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  EXPECT_EQ(Get(phone->port(), "/servlet?key=number=2323").status, 200);
  ASSERT_TRUE(adapter.WaitFor(2));
  EXPECT_EQ(Get(phone->port(), "/servlet?key=MUTE;MUTE;F_TRANSFER;2;0;0;OK").status, 200);
  ASSERT_TRUE(adapter.WaitFor(7));
  phone->Ring("+4940999");
  ASSERT_TRUE(adapter.WaitFor(8));
  EXPECT_EQ(Get(phone->port(), "/servlet?key=X").status, 200);
  ASSERT_TRUE(adapter.WaitFor(9));
  std::vector<std::string> paths;
  for (const auto& t : adapter.targets()) paths.push_back(Parse(t).path);
  EXPECT_EQ(paths, (std::vector<std::string>{
                       "/yealink/outgoing_call", "/yealink/call_established", "/yealink/mute",
                       "/yealink/unmute", "/yealink/blind_transfer_call",
                       "/yealink/transfer_finished", "/yealink/call_terminated",
                       "/yealink/incoming_call", "/yealink/reject_incoming_call"}));
  const auto calls = phone->Calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].end_reason, "transferred");
  EXPECT_EQ(calls[1].end_reason, "rejected");
  EXPECT_NE(phone->Requests()[1].note.find("transferred call 1 to 200"), std::string::npos)
      << phone->Requests()[1].note;
}

TEST(ActionUrls, SnomRejectFiresNothing) {
  Receiver adapter;
  Simulator sim;
  PhoneConfig c;
  c.id = "000413aabbcc";
  c.family = Family::kSnom;
  c.adapter_url = adapter.url();
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  phone->Ring("+4940999");
  ASSERT_TRUE(adapter.WaitFor(1));
  EXPECT_EQ(Get(phone->port(), "/command.htm?key=CANCEL").status, 302);
  ASSERT_TRUE(
      phone->WaitUntil([&] { return phone->Calls().at(0).state == CallState::kEnded; }, 2s));
  std::this_thread::sleep_for(100ms);  // long enough for a wrongly fired URL to arrive
  EXPECT_EQ(adapter.targets().size(), 1u);
  EXPECT_EQ(phone->Calls()[0].end_reason, "rejected");
}

TEST(ActionUrls, APhoneWithoutAnAdapterUrlFiresNothing) {
  Simulator sim;
  auto phone = sim.Add(Yealink());
  ASSERT_TRUE(phone.ok());
  EXPECT_TRUE(phone->provisioned().empty());
  EXPECT_EQ(Get(phone->port(), "/servlet?key=number=2323").status, 200);
  ASSERT_TRUE(phone->WaitUntil(
      [&] { return !phone->Calls().empty() && phone->Calls()[0].connected.has_value(); }, 2s));
  EXPECT_TRUE(phone->Fired().empty());
  EXPECT_EQ(phone->counters().action_urls_ok + phone->counters().action_urls_failed, 0u);
}

TEST(ActionUrls, AnUnreachableAdapterIsCountedAsFailed) {
  Simulator sim;
  PhoneConfig c = Yealink();
  {
    // A port that was free a moment ago and has no listener now.
    net::io_context ioc;
    tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    c.adapter_url = "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
  }
  auto phone = sim.Add(c);
  ASSERT_TRUE(phone.ok());
  EXPECT_EQ(Get(phone->port(), "/servlet?key=number=2323").status, 200);
  ASSERT_TRUE(phone->WaitForFired(2, 5s));
  const auto fired = phone->Fired();
  EXPECT_EQ(fired[0].status, 0u);
  EXPECT_NE(fired[0].error.find("connect"), std::string::npos) << fired[0].error;
  EXPECT_EQ(phone->counters().action_urls_failed, 2u);
}

// ---- Provisioning as the phone reads it ------------------------------------------------------

TEST(Provisioning, ParsesEachVendorsTextAndFillsVariables) {
  PhoneConfig c = Yealink();
  c.adapter_url = "http://10.0.0.5:8080/";
  auto yealink = ParseProvisioning(Vendor::kYealink, ProvisioningFor(c));
  ASSERT_TRUE(yealink.ok());
  ASSERT_GE(yealink->size(), 40u);
  EXPECT_EQ(yealink->front().event, "setup_completed");
  EXPECT_EQ(yealink->front().url.rfind("http://10.0.0.5:8080/yealink/setup_completed?", 0), 0u);

  c.family = Family::kSnom;
  auto snom = ParseProvisioning(Vendor::kSnom, ProvisioningFor(c));
  ASSERT_TRUE(snom.ok());
  ASSERT_EQ(snom->size(), 20u);
  for (const auto& t : *snom) {
    EXPECT_EQ(t.event.rfind("action_", 0), 0u);
    EXPECT_EQ(t.url.find("&amp;"), std::string::npos) << t.url;
  }

  c.family = Family::kSoftphone;
  c.id = "soft-1";
  auto soft = ParseProvisioning(Vendor::kSoftphone, ProvisioningFor(c));
  ASSERT_TRUE(soft.ok()) << soft.status();
  ASSERT_EQ(soft->size(), 5u);
  EXPECT_EQ((*soft)[0].event, "incoming");
  EXPECT_EQ((*soft)[4].event, "disconnected");
  EXPECT_NE((*soft)[0].url.find("device=soft-1"), std::string::npos);

  EXPECT_FALSE(ParseProvisioning(Vendor::kSoftphone, "Kaffee kochen: http://x/").ok());

  const Variables vars = {{"call-id", "7@h"}, {"action", "hold"}, {"remote", "+49 1"}};
  const auto filled = Fill("http://a/x?c=$call-id&a=<$action>&r=$remote&u=$unknown&m=$", vars);
  EXPECT_EQ(filled.url, "http://a/x?c=7@h&a=hold&r=+49 1&u=&m=$");
  EXPECT_EQ(filled.unset, std::vector<std::string>{"unknown"});
  EXPECT_EQ(Fill("x=$unknown", vars, /*keep_unset=*/true).url, "x=$unknown");

  auto split = SplitHttpUrl("http://[::1]:8080/yealink/x?a=1");
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->host, "::1");
  EXPECT_EQ(split->port, 8080);
  EXPECT_EQ(split->target, "/yealink/x?a=1");
  EXPECT_FALSE(SplitHttpUrl("https://a/").ok());
}

// ---- Configuration ---------------------------------------------------------------------------

TEST(PhoneList, ParsesTheExampleAndNamesTheBadField) {
  auto ok = ParsePhoneList(R"({"phones": [{"id": "001565aabbcc", "family": "yealink-servlet",
      "model": "T46S", "firmware": "66.86.0.15", "port": 9001, "username": "admin",
      "password": "secret-a", "auth": "digest", "account": "1001@pbx.example",
      "adapter_url": "http://127.0.0.1:8080"}]})");
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 1u);
  EXPECT_EQ((*ok)[0].auth, AuthScheme::kDigest);
  EXPECT_EQ((*ok)[0].port, 9001);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"phones": [{"id": "001565aabbcc", "family": "yealink-servlet"},
                      {"id": "001565aabbcd", "family": "polycom"}]})",
       "phones[1].family: 'polycom' is not one of"},
      {R"({"phones": [{"id": "001565aabbcc", "family": "snom", "port": 70000}]})",
       "phones[0].port: must be between 0 and 65535"},
      {R"({"phones": [{"id": "001565aabbcc", "family": "snom", "pasword": "x"}]})",
       "phones[0].pasword: unknown field"},
      {R"({"phones": [{"family": "snom"}]})", "phones[0].id: missing"},
      {R"({"phones": [{"id": "nope", "family": "snom"}]})", "phones[0].id: 'nope' is not a MAC"},
      {R"({"phones": [{"id": "001565aabbcc", "family": "snom", "auth": "basic"}]})",
       "phones[0].username: required"},
      {R"({"phones": [{"id": "x", "family": "softphone", "auth": "digest", "username": "u"}]})",
       "phones[0].auth:"},
      {R"({"phones": [{"id": "001565aabbcc", "family": "snom", "adapter_url": "https://a"}]})",
       "phones[0].adapter_url:"},
      {R"({"phones": {}})", "phones: must be a list"},
      {R"({"phones": [}")", "not valid JSON"},
  };
  for (const auto& [json, message] : bad) {
    auto parsed = ParsePhoneList(json);
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_NE(parsed.status().message().find(message), std::string::npos)
        << parsed.status() << " should contain " << message;
  }
}

TEST(PhoneList, GeneratesConsecutivePhones) {
  PhoneConfig first;
  first.family = Family::kYealinkServlet;
  first.id = "0015650000fe";
  first.port = 9001;
  first.account = "1001@pbx.example";
  auto phones = GeneratePhones(first, 3);
  ASSERT_TRUE(phones.ok());
  ASSERT_EQ(phones->size(), 3u);
  EXPECT_EQ((*phones)[2].id, "001565000100");
  EXPECT_EQ((*phones)[2].port, 9003);
  EXPECT_EQ((*phones)[2].account, "1003@pbx.example");
  first.port = 65535;
  EXPECT_FALSE(GeneratePhones(first, 2).ok());
}

TEST(Simulator, RefusesDuplicatesAndTakenPorts) {
  Simulator sim;
  auto a = sim.Add(Yealink("00:15:65:aa:bb:cc"));
  ASSERT_TRUE(a.ok());
  auto dup = sim.Add(Yealink("001565AABBCC"));
  EXPECT_EQ(dup.status().code(), absl::StatusCode::kAlreadyExists) << dup.status();
  PhoneConfig taken = Yealink("001565aabbcd");
  taken.port = a->port();
  EXPECT_EQ(sim.Add(taken).status().code(), absl::StatusCode::kUnavailable);
  PhoneConfig bad = Yealink("xyz");
  EXPECT_EQ(sim.Add(bad).status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(sim.Find("001565aabbcc").has_value());
  EXPECT_FALSE(sim.Find("001565aabbcd").has_value());
}

TEST(Simulator, BoundedRecordsKeepTheNewestAndCountEverything) {
  SimulatorOptions options;
  options.max_records_per_phone = 4;
  Simulator sim(options);
  auto phone = sim.Add(Yealink());
  ASSERT_TRUE(phone.ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(Get(phone->port(), "/servlet?key=number=" + std::to_string(100 + i)).status, 200);
  }
  const auto requests = phone->Requests();
  ASSERT_LE(requests.size(), 4u);
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests.back().command->number, "109");
  EXPECT_LE(phone->Calls().size(), 4u);
  EXPECT_EQ(phone->counters().requests, 10u);
  EXPECT_EQ(phone->counters().calls, 10u);
}

TEST(Simulator, HundredsOfPhonesAnswerAndStopCleanly) {
  constexpr int kPhones = 300;
  PhoneHandle last;
  {
    SimulatorOptions options;
    options.threads = 2;
    Simulator sim(options);
    PhoneConfig first = Yealink("001565000000");
    first.account = "2001@pbx.example";
    auto configs = GeneratePhones(first, kPhones);
    ASSERT_TRUE(configs.ok());
    for (const auto& c : *configs) {
      auto phone = sim.Add(c);
      ASSERT_TRUE(phone.ok()) << phone.status();
      last = *phone;
    }
    for (const auto& phone : sim.phones()) {
      ASSERT_EQ(Get(phone.port(), "/servlet?key=number=2323").status, 200) << phone.id();
    }
    EXPECT_EQ(sim.Totals().requests, static_cast<uint64_t>(kPhones));
    EXPECT_EQ(sim.Totals().calls, static_cast<uint64_t>(kPhones));
    // A hung connection must not keep Stop from returning.
    last.SetFailure(Failure::kHang);
    std::thread hung([&] { Get(last.port(), "/servlet?key=OK", {}, 10s); });
    ASSERT_TRUE(last.WaitForRequests(2, 5s));
    const auto start = std::chrono::steady_clock::now();
    sim.Stop();
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
    hung.join();
  }
  // Records outlive the simulator.
  EXPECT_EQ(last.Requests().size(), 2u);
  EXPECT_EQ(last.Calls().at(0).account, "2300@pbx.example");
}

// ---- The binary ------------------------------------------------------------------------------

struct Process {
  pid_t pid = -1;
  int out = -1;  // its stdout
};

Process Spawn(const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  Process p;
  if (posix_spawn(&p.pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) p.pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  p.out = pipe_fds[0];
  return p;
}

// Reads until `lines` lines arrived or `timeout` passed.
std::vector<std::string> ReadLines(int fd, size_t lines, std::chrono::milliseconds timeout) {
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) < lines) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  std::vector<std::string> out;
  size_t pos = 0;
  while (true) {
    const auto nl = text.find('\n', pos);
    if (nl == std::string::npos) break;
    out.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return out;
}

TEST(Binary, GeneratesAFleetAndStopsOnSigterm) {
  Process p =
      Spawn({PHONESIM_BIN, "--count", "3", "--family", "snom", "--first-id", "000413000010"});
  ASSERT_GT(p.pid, 0);
  const auto lines = ReadLines(p.out, 3, 10s);
  ASSERT_EQ(lines.size(), 3u);
  const char* ids[] = {"000413000010", "000413000011", "000413000012"};
  for (size_t i = 0; i < 3; ++i) {
    const auto space = lines[i].find(' ');
    ASSERT_NE(space, std::string::npos) << lines[i];
    EXPECT_EQ(lines[i].substr(0, space), ids[i]);
    const int port = std::stoi(lines[i].substr(space + 1));
    EXPECT_EQ(Get(static_cast<unsigned short>(port), "/command.htm?key=ENTER").status, 302);
  }
  ASSERT_EQ(kill(p.pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(waitpid(p.pid, &status, 0), p.pid);
  close(p.out);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(Binary, BadConfigNamesTheEntryAndFieldAndExitsTwo) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("phonesim-bad-" + std::to_string(getpid()) + ".json");
  {
    std::ofstream out(path);
    out << R"({"phones": [{"id": "001565aabbcc", "family": "yealink-servlet"},
                          {"id": "001565aabbcd", "family": "yealink-servlet", "port": "x"}]})";
  }
  FILE* pipe =
      popen((std::string(PHONESIM_BIN) + " --config " + path.string() + " 2>&1").c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[1024];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = pclose(pipe);
  std::filesystem::remove(path);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2) << output;
  EXPECT_NE(output.find("phones[1].port: must be an integer"), std::string::npos) << output;
}

}  // namespace
}  // namespace phonebus::phonesim
