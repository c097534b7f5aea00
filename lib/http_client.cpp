#include "http_client.h"

// clang-format off
#include "net.h"  // first: it fixes Boost 1.74's include order for what follows
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
// clang-format on
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <unordered_map>
#include <variant>

#include "digest_auth.h"
#include "log.h"
#include "string_util.h"
#include "tls_client.h"

namespace phonebus::http_client {

namespace ssl = net::ssl;
using Clock = std::chrono::steady_clock;
using Strand = net::strand<net::io_context::executor_type>;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

using strings::Append;
using strings::Cat;
using strings::ToLower;

constexpr uint32_t kMaxResponseHeaderBytes = 16 * 1024;
// What may cross the wire in a body; only Options::max_body_bytes of it is kept.
constexpr uint64_t kMaxResponseBodyOnWire = uint64_t{8} * 1024 * 1024;

// A string body that keeps the first `cap` bytes and reads past the rest, so
// an oversized page still leaves the connection reusable and memory bounded.
// Lower-case names are Beast's Body concept.
// NOLINTBEGIN(readability-identifier-naming)
struct CappedBody {
  struct value_type {
    std::string data;
    size_t cap = 0;
    bool truncated = false;
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>&, beast::error_code& ec) { ec = {}; }

    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      ec = {};
      size_t consumed = 0;
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
           ++it) {
        const net::const_buffer buffer = *it;
        consumed += buffer.size();
        const size_t room = body_.cap - std::min(body_.cap, body_.data.size());
        const size_t keep = std::min(room, buffer.size());
        body_.data.append(static_cast<const char*>(buffer.data()), keep);
        if (keep < buffer.size()) body_.truncated = true;
      }
      return consumed;
    }

    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};
// NOLINTEND(readability-identifier-naming)

std::string_view StripBrackets(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    return host.substr(1, host.size() - 2);
  }
  return host;
}

// "host:port" for messages, IPv6 in brackets.
std::string Authority(std::string_view host, uint16_t port) {
  if (host.find(':') != std::string_view::npos) return Cat("[", host, "]:", port);
  return Cat(host, ":", port);
}

// Empty when fine; a reason otherwise. The target goes verbatim into the
// request line, so anything that could split it is refused, not escaped.
std::string Validate(const Endpoint& endpoint, std::string_view target) {
  const auto host = StripBrackets(endpoint.host);
  if (host.empty()) return "empty host";
  for (char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '/' || c == '@' || c == '?' || c == '#') {
      return "host contains a character not allowed in a host name";
    }
  }
  if (endpoint.port == 0) return "port 0";
  if (target.empty() || target.front() != '/') return "target must start with '/'";
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return "target contains a space, control or non-ASCII byte";
  }
  return {};
}

bool IsPeerClose(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == ssl::error::stream_truncated;
}

bool IsHttpParseError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_version).category();
}

// One TCP or TLS connection to a phone.
struct Connection {
  using Stream = std::variant<beast::tcp_stream, TlsStream>;

  Connection(const Strand& strand, ssl::context* tls_context, bool tls_verify)
      : stream(MakeStream(strand, tls_context)), tls(tls_context != nullptr), verify(tls_verify) {}

  static Stream MakeStream(const Strand& strand, ssl::context* tls_context) {
    if (tls_context != nullptr) return Stream(std::in_place_type<TlsStream>, strand, *tls_context);
    return Stream(std::in_place_type<beast::tcp_stream>, strand);
  }

  beast::tcp_stream& Tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                      stream);
  }

  // Cancels pending operations; the object stays valid for their handlers.
  void Close() {
    beast::error_code ignored;
    Tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Tcp().socket().close(ignored);
  }

  // An idle connection must have nothing to read: a readable socket means the
  // phone closed it (EOF, reset, TLS close_notify) or sent stray bytes, and a
  // request written into it would be lost or answered by the wrong response.
  bool LooksReusable() {
    auto& socket = Tcp().socket();
    if (!socket.is_open() || buffer.size() > 0) return false;
    // One recv, leaving the socket's mode alone: switching asio's socket to
    // non-blocking and back costs two ioctls, and a third on the next write.
    char byte = 0;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  Stream stream;
  beast::flat_buffer buffer;
  const bool tls;
  const bool verify;
  int responses = 0;  // complete responses read; above 0 the connection is a reused one
};

enum class Scheme { kNone, kBasic, kDigest };

// What a phone asked for last time, so later requests authenticate without
// the extra 401 round trip.
struct AuthCache {
  Scheme scheme = Scheme::kNone;
  http_auth::DigestChallenge digest;
  uint32_t nc = 0;  // requests sent with digest.nonce
};

class Exchange;

// Everything about one phone (host:port). The fields below `unfinished` are
// touched only on `strand`.
struct EndpointState {
  explicit EndpointState(net::io_context& io)
      : strand(net::make_strand(io)),
        callbacks(net::make_strand(io)),
        idle_timer(strand),
        deadline_timer(strand) {}

  Strand strand;
  // Callbacks run here: one at a time per phone, in the order the requests
  // finished, and a slow callback never holds up the phone's I/O.
  Strand callbacks;
  std::atomic<size_t> unfinished{0};

  std::deque<std::shared_ptr<Exchange>> waiting;
  std::shared_ptr<Exchange> running;
  std::unique_ptr<Connection> idle;
  Clock::time_point idle_since;
  // Timers are per phone, not per request, and only re-armed when they go off
  // or an earlier deadline comes: cancelling a timer completes its wait on
  // another io thread, a wake-up per request that a request finishing in
  // time need not cost.
  net::steady_timer idle_timer;
  bool idle_timer_armed = false;
  // Armed for the earliest deadline of the requests running and waiting.
  net::steady_timer deadline_timer;
  std::optional<Clock::time_point> deadline_armed_for;
  AuthCache auth;
  // The credentials this phone last refused (a hash of user and password), and when.
  struct Refusal {
    size_t credentials = 0;
    Clock::time_point at;
  };
  std::optional<Refusal> refused;
};

void RunNext(EndpointState& ep);
// Once the client is closing: a deadline timer with nothing left to time out
// would keep io_context::run() going until it went off.
void StopDeadlineTimerIfIdle(EndpointState& ep) {
  if (ep.running || !ep.waiting.empty()) return;
  ep.deadline_armed_for.reset();
  ep.deadline_timer.cancel();
}
void ArmDeadline(const std::shared_ptr<EndpointState>& ep, Clock::time_point at);
void ArmIdleTimer(const std::shared_ptr<EndpointState>& ep, std::chrono::milliseconds timeout);

}  // namespace

struct Client::Shared {
  Shared(net::io_context& io_context, Options opts)
      : io(io_context),
        options(std::move(opts)),
        verify_context(ssl::context::tls_client),
        no_verify_context(ssl::context::tls_client) {
    for (auto* context : {&verify_context, &no_verify_context}) {
      context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_compression);
    }
    if (auto loaded = tls_client::LoadTrustAnchors(verify_context, options.ca_file); !loaded.ok()) {
      throw std::runtime_error(std::string(loaded.message()));
    }
    verify_context.set_verify_mode(ssl::verify_peer);
    no_verify_context.set_verify_mode(ssl::verify_none);
  }

  std::shared_ptr<EndpointState> EndpointFor(const Endpoint& endpoint) {
    // One entry per phone ever addressed; a call center has a bounded number.
    const std::string key = Authority(ToLower(StripBrackets(endpoint.host)), endpoint.port);
    std::lock_guard lock(mu);
    auto& slot = endpoints[key];
    if (!slot) slot = std::make_shared<EndpointState>(io);
    return slot;
  }

  net::io_context& io;
  const Options options;
  ssl::context verify_context;
  ssl::context no_verify_context;
  std::atomic<bool> closing{false};

  std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<EndpointState>> endpoints;
};

namespace {

// One Get, from queueing to the callback. Lives on the endpoint's strand.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<Client::Shared> shared, std::shared_ptr<EndpointState> ep,
           const Endpoint& endpoint, std::string target, const Credentials& credentials,
           Clock::time_point deadline, Client::Callback done)
      : shared_(std::move(shared)),
        ep_(std::move(ep)),
        endpoint_(endpoint),
        host_(StripBrackets(endpoint.host)),
        target_(std::move(target)),
        credentials_(credentials),
        deadline_(deadline),
        done_(std::move(done)) {}

  void Enqueue() {
    ArmDeadline(ep_, deadline_);
    ep_->waiting.push_back(shared_from_this());
    if (!ep_->running) RunNext(*ep_);
  }

  void Start() {
    started_ = true;
    if (RefusedBefore()) return;
    BuildRequest();
    if (auto idle = TakeIdle()) {
      if (idle->tls == endpoint_.tls && idle->verify == endpoint_.tls_verify &&
          idle->LooksReusable()) {
        conn_ = std::move(idle);
        return Write();
      }
      idle->Close();
    }
    Connect();
  }

  Clock::time_point deadline() const { return deadline_; }

  // On the strand, from the endpoint's deadline timer.
  void OnDeadline() {
    if (finished_) return;
    if (!started_) {
      auto& waiting = ep_->waiting;
      waiting.erase(std::remove(waiting.begin(), waiting.end(), shared_from_this()), waiting.end());
      return Finish(Failure::kTimeout,
                    "deadline passed while waiting behind earlier requests to this phone");
    }
    std::string_view what = "waiting for the response";
    switch (phase_) {
      case Phase::kQueued:
      case Phase::kResolve:
        what = "resolving the host name";
        break;
      case Phase::kConnect:
        what = "connecting";
        break;
      case Phase::kHandshake:
        what = "in the TLS handshake";
        break;
      case Phase::kWrite:
        what = "sending the request";
        break;
      case Phase::kRead:
        break;
    }
    Finish(Failure::kTimeout, Cat("deadline passed ", what, " (", Where(), ")"));
  }

 private:
  enum class Phase { kQueued, kResolve, kConnect, kHandshake, kWrite, kRead };

  std::unique_ptr<Connection> TakeIdle() { return std::move(ep_->idle); }

  std::string Where() const { return Authority(host_, endpoint_.port); }

  size_t CredentialsHash() const {
    return std::hash<std::string>{}(Cat(credentials_.username, "\n", credentials_.password));
  }

  // Finishes the exchange unsent when the phone refused these credentials
  // within the hold-off.
  bool RefusedBefore() {
    auto& refused = ep_->refused;
    if (credentials_.username.empty() || !refused || refused->credentials != CredentialsHash()) {
      return false;
    }
    const auto ago = Clock::now() - refused->at;
    if (ago >= shared_->options.refused_holdoff) {
      refused.reset();
      return false;
    }
    outcome_.status = 401;
    outcome_.credentials_refused = true;
    Finish(Failure::kNone,
           Cat("not sent: the phone refused these credentials ",
               std::to_string(std::chrono::duration_cast<std::chrono::seconds>(ago).count()),
               " s ago"));
    return true;
  }

  void BuildRequest() {
    req_.method(http::verb::get);
    req_.target(target_);
    req_.version(11);
    req_.set(http::field::host, HostHeaderValue(endpoint_));
    req_.set(http::field::user_agent, shared_->options.user_agent);
    req_.set(http::field::accept, "*/*");
    if (credentials_.username.empty()) return;
    auto& cache = ep_->auth;
    std::optional<std::string> value;
    if (cache.scheme == Scheme::kBasic) {
      value = http_auth::BasicAuthorization(credentials_.username, credentials_.password);
    } else if (cache.scheme == Scheme::kDigest) {
      auto digest = http_auth::DigestAuthorization(cache.digest, "GET", target_,
                                                   credentials_.username, credentials_.password,
                                                   ++cache.nc, http_auth::MakeCnonce());
      if (digest.ok()) {
        value = *std::move(digest);
      } else {
        cache = {};
      }
    }
    if (value) {
      req_.set(http::field::authorization, *value);
      sent_credentials_ = preemptive_ = true;
      sent_scheme_ = cache.scheme;
    }
  }

  void Connect() {
    phase_ = Phase::kResolve;
    // Literals resolve without DNS; names go through the resolver's own thread.
    if (!resolver_) resolver_.emplace(ep_->strand);
    resolver_->async_resolve(host_, std::to_string(endpoint_.port),
                             [self = shared_from_this()](
                                 beast::error_code ec, const tcp::resolver::results_type& results) {
                               self->OnResolve(ec, results);
                             });
  }

  void OnResolve(beast::error_code ec, const tcp::resolver::results_type& results) {
    if (finished_) return;
    if (ec) return Finish(Failure::kConnect, Cat("cannot resolve ", host_, ": ", ec.message()));
    ssl::context* context = nullptr;
    if (endpoint_.tls) {
      context = endpoint_.tls_verify ? &shared_->verify_context : &shared_->no_verify_context;
    }
    conn_ = std::make_unique<Connection>(ep_->strand, context, endpoint_.tls_verify);
    phase_ = Phase::kConnect;
    conn_->Tcp().async_connect(
        results, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          self->OnConnect(ec);
        });
  }

  void OnConnect(beast::error_code ec) {
    if (finished_) return;
    if (ec)
      return Finish(Failure::kConnect, Cat("cannot connect to ", Where(), ": ", ec.message()));
    if (!endpoint_.tls) return Write();
    phase_ = Phase::kHandshake;
    auto& stream = std::get<TlsStream>(conn_->stream);
    if (!tls_client::SetPeerName(stream.native_handle(), host_, endpoint_.tls_verify)) {
      return Finish(Failure::kTls, Cat("cannot verify a certificate for ", host_));
    }
    stream.async_handshake(
        ssl::stream_base::client,
        [self = shared_from_this()](beast::error_code ec) { self->OnHandshake(ec); });
  }

  void OnHandshake(beast::error_code ec) {
    if (finished_) return;
    if (ec) {
      return Finish(Failure::kTls,
                    tls_client::HandshakeFailure(
                        std::get<TlsStream>(conn_->stream).native_handle(),
                        Cat("TLS handshake with ", Where(), " failed: ", ec.message())));
    }
    Write();
  }

  void Write() {
    phase_ = Phase::kWrite;
    parser_.emplace();
    parser_->header_limit(kMaxResponseHeaderBytes);
    parser_->body_limit(kMaxResponseBodyOnWire);
    parser_->get().body().cap = shared_->options.max_body_bytes;
    // From here the phone may act on the request even if we never hear back.
    outcome_.request_sent = true;
    std::visit(
        [this](auto& stream) {
          http::async_write(
              stream, req_,
              [self = shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
        },
        conn_->stream);
  }

  void OnWrite(beast::error_code ec) {
    if (finished_) return;
    if (ec) return OnTransportError(ec);
    phase_ = Phase::kRead;
    std::visit(
        [this](auto& stream) {
          http::async_read(
              stream, conn_->buffer, *parser_,
              [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
        },
        conn_->stream);
  }

  void OnRead(beast::error_code ec) {
    if (finished_) return;
    if (ec) return OnTransportError(ec);
    ++conn_->responses;
    OnResponse();
  }

  void OnTransportError(beast::error_code ec) {
    // Why one resend is safe here: a phone closes an idle keep-alive
    // connection on its own timer, and when that close crosses our request on
    // a reused connection the request lands in a socket the phone has stopped
    // reading (its kernel answers with RST), so the phone never saw it. A
    // phone that did read a request answers it, so "reused connection, peer
    // closed, not one byte of a response" is that race. (LooksReusable already
    // catches the close that arrived before we wrote.) Only once, and only on
    // a reused connection: a fresh connection that fails like this is a phone
    // that read the request and dropped it, which may have acted.
    // request_sent stays true, as the caller cannot tell the cases apart.
    if (conn_->responses > 0 && !resent_ && !parser_->got_some() && IsPeerClose(ec)) {
      resent_ = true;
      log::Debug("phone closed a reused connection; resending on a new one",
                 {{"endpoint", Where()}});
      conn_->Close();
      conn_.reset();  // no operation is pending on it: the failed one just completed
      return Connect();
    }
    const std::string_view when =
        phase_ == Phase::kWrite ? "sending the request" : "reading the response";
    if (IsHttpParseError(ec) && ec != http::error::end_of_stream &&
        ec != http::error::partial_message) {
      return Finish(Failure::kProtocol,
                    Cat("malformed response from ", Where(), ": ", ec.message()));
    }
    if (IsPeerClose(ec) || ec == http::error::partial_message) {
      return Finish(Failure::kConnect, Cat(Where(), " closed the connection while ", when));
    }
    if (ec.category() == net::error::get_ssl_category() ||
        ec.category() == ssl::error::get_stream_category()) {
      return Finish(Failure::kTls,
                    Cat("TLS error from ", Where(), " while ", when, ": ", ec.message()));
    }
    Finish(Failure::kConnect, Cat("error while ", when, " to ", Where(), ": ", ec.message()));
  }

  void OnResponse() {
    auto& res = parser_->get();
    keep_alive_ = parser_->keep_alive();
    const int status = static_cast<int>(res.result_int());
    if (status == 401 && !credentials_.username.empty() && AnswerChallenge(res)) return;
    if (status == 401) {
      // Never present refused credentials again, pre-emptively or not: each
      // costs a failed login on the phone. (With detail_ set, the phone's
      // challenge was unusable: that says nothing about the password.)
      if (sent_credentials_) {
        ep_->auth = {};
        if (detail_.empty()) {
          ep_->refused = EndpointState::Refusal{CredentialsHash(), Clock::now()};
          outcome_.credentials_refused = true;
        }
      }
      if (detail_.empty()) {
        detail_ = credentials_.username.empty()
                      ? "the phone requires credentials and none are configured"
                      : "the phone refused the credentials";
      }
    } else if (sent_credentials_ && sent_scheme_ == Scheme::kDigest) {
      AdoptNextNonce(res);
    }
    outcome_.status = status;
    outcome_.body = std::move(res.body().data);
    outcome_.body_truncated = res.body().truncated;
    outcome_.location = std::string(res[http::field::location]);
    Finish(Failure::kNone, std::move(detail_));
  }

  // Returns true when an answer is on its way.
  bool AnswerChallenge(const http::response<CappedBody>& res) {
    std::optional<http_auth::DigestChallenge> digest;
    bool basic = false;
    std::string unusable;
    const auto [first, last] = res.equal_range(http::field::www_authenticate);
    for (auto field = first; field != last; ++field) {
      auto challenges = http_auth::ParseChallenges(field->value());
      if (!challenges.ok()) {
        unusable = std::string(challenges.status().message());
        continue;
      }
      for (const auto& challenge : *challenges) {
        if (challenge.scheme == "digest" && !digest) {
          // The first Digest challenge we can answer: servers list theirs in preference order.
          auto typed = http_auth::ToDigestChallenge(challenge);
          if (typed.ok()) {
            digest = *std::move(typed);
          } else {
            unusable = std::string(typed.status().message());
          }
        } else if (challenge.scheme == "basic") {
          basic = true;
        } else if (challenge.scheme != "digest") {
          unusable = Cat("auth scheme ", challenge.scheme, " is not supported");
        }
      }
    }
    if (!digest && !basic) {
      detail_ = unusable.empty() ? "the phone answered 401 without a usable challenge"
                                 : Cat("the phone's challenge is unusable: ", unusable);
      return false;
    }
    const Scheme scheme = digest ? Scheme::kDigest : Scheme::kBasic;
    if (!ShouldAnswer(digest ? &*digest : nullptr, scheme)) return false;
    answered_ = true;
    preemptive_ = false;

    auto& cache = ep_->auth;
    cache.scheme = scheme;
    std::string value;
    if (digest) {
      cache.digest = *digest;
      cache.nc = 0;
      auto computed = http_auth::DigestAuthorization(cache.digest, "GET", target_,
                                                     credentials_.username, credentials_.password,
                                                     ++cache.nc, http_auth::MakeCnonce());
      if (!computed.ok()) {
        cache = {};
        detail_ = Cat("cannot answer the phone's digest challenge: ",
                      std::string(computed.status().message()));
        return false;
      }
      value = *std::move(computed);
    } else {
      value = http_auth::BasicAuthorization(credentials_.username, credentials_.password);
    }
    req_.set(http::field::authorization, value);
    sent_credentials_ = true;
    sent_scheme_ = scheme;
    if (keep_alive_) {
      Write();
    } else {
      conn_->Close();
      conn_.reset();  // no operation pending: the read just completed
      Connect();
    }
    return true;
  }

  // Bounds how often one exchange presents the password: phones lock their
  // login after a few failures. At most: the pre-emptive try, one answer, and
  // one answer to a stale=true.
  bool ShouldAnswer(const http_auth::DigestChallenge* digest, Scheme scheme) {
    if (!sent_credentials_) return true;  // the ordinary first challenge
    if (digest != nullptr && digest->stale && !stale_answered_) {
      stale_answered_ = true;  // the password was right; only the nonce had expired
      return true;
    }
    // A cached nonce the phone forgot without saying stale, or a phone that
    // switched schemes: the cached state was stale, not necessarily the
    // password. A pre-emptive Basic that fails can only be the password.
    return preemptive_ && !answered_ && (scheme == Scheme::kDigest || scheme != sent_scheme_);
  }

  // RFC 7616 section 3.5: the phone may hand out the next nonce with a success.
  void AdoptNextNonce(const http::response<CappedBody>& res) {
    const auto info = res[http::field::authentication_info];
    if (info.empty()) return;
    auto parsed = http_auth::ParseChallenges(Cat("x ", info));
    if (!parsed.ok() || parsed->size() != 1) return;
    const auto& params = parsed->front().params;
    if (const auto it = params.find("nextnonce"); it != params.end() && !it->second.empty()) {
      ep_->auth.digest.nonce = it->second;
      ep_->auth.nc = 0;
    }
  }

  void Finish(Failure failure, std::string detail) {
    if (finished_) return;
    finished_ = true;
    if (resolver_) resolver_->cancel();
    outcome_.failure = failure;
    outcome_.detail = std::move(detail);
    if (conn_) {
      if (failure == Failure::kNone && keep_alive_ && parser_ && parser_->is_done()) {
        ReturnIdle(std::move(conn_));
      } else {
        conn_->Close();  // pending handlers still hold this exchange, and so the connection
      }
    }
    if (started_) {
      ep_->running.reset();  // whoever called holds this exchange
      if (shared_->closing.load()) StopDeadlineTimerIfIdle(*ep_);
      // Deferred, so a long queue never recurses through Finish and Start.
      // Deferred rather than posted: this thread runs it next, without waking
      // another io thread for it.
      if (!ep_->waiting.empty()) {
        net::defer(ep_->strand, [ep = ep_] {
          if (!ep->running) RunNext(*ep);
        });
      }
    }
    // Before the callback, so a Get from inside it sees the room.
    ep_->unfinished.fetch_sub(1, std::memory_order_acq_rel);
    net::defer(ep_->callbacks, [done = std::move(done_), outcome = std::move(outcome_)]() mutable {
      done(std::move(outcome));
    });
  }

  void ReturnIdle(std::unique_ptr<Connection> conn) {
    if (shared_->closing.load()) return conn->Close();
    ep_->idle = std::move(conn);
    ep_->idle_since = Clock::now();
    if (!ep_->idle_timer_armed) ArmIdleTimer(ep_, shared_->options.idle_timeout);
  }

  const std::shared_ptr<Client::Shared> shared_;
  const std::shared_ptr<EndpointState> ep_;
  const Endpoint endpoint_;
  const std::string host_;
  const std::string target_;
  const Credentials credentials_;
  const Clock::time_point deadline_;
  Client::Callback done_;

  std::optional<tcp::resolver> resolver_;  // only for a new connection
  std::unique_ptr<Connection> conn_;
  http::request<http::empty_body> req_;
  std::optional<http::response_parser<CappedBody>> parser_;
  Outcome outcome_;
  std::string detail_;
  Phase phase_ = Phase::kQueued;

  bool started_ = false;
  bool finished_ = false;
  bool keep_alive_ = false;
  bool resent_ = false;
  // Auth state of this exchange: whether the request in flight carries
  // credentials, whether they came from the cache, and which answers were used.
  bool sent_credentials_ = false;
  bool preemptive_ = false;
  Scheme sent_scheme_ = Scheme::kNone;
  bool answered_ = false;
  bool stale_answered_ = false;
};

void RunNext(EndpointState& ep) {
  if (ep.waiting.empty()) return;
  auto next = std::move(ep.waiting.front());
  ep.waiting.pop_front();
  ep.running = next;
  next->Start();
}

void ArmDeadline(const std::shared_ptr<EndpointState>& ep, Clock::time_point at) {
  if (ep->deadline_armed_for && *ep->deadline_armed_for <= at) return;  // it re-arms for `at`
  ep->deadline_armed_for = at;
  // Replaces a later wait, whose handler then finds itself superseded.
  ep->deadline_timer.expires_at(at);
  ep->deadline_timer.async_wait([ep, at](beast::error_code ec) {
    if (ec || ep->deadline_armed_for != at) return;
    ep->deadline_armed_for.reset();
    const auto now = Clock::now();
    std::vector<std::shared_ptr<Exchange>> due;  // OnDeadline changes running and waiting
    std::optional<Clock::time_point> next;
    const auto consider = [&](const std::shared_ptr<Exchange>& exchange) {
      if (!exchange) return;
      if (exchange->deadline() <= now) {
        due.push_back(exchange);
      } else if (!next || exchange->deadline() < *next) {
        next = exchange->deadline();
      }
    };
    consider(ep->running);
    for (const auto& exchange : ep->waiting) consider(exchange);
    for (const auto& exchange : due) exchange->OnDeadline();
    if (next) ArmDeadline(ep, *next);
  });
}

// Closes the idle connection once it has been idle for `timeout`; a
// connection taken and returned meanwhile gets the rest of its time.
void ArmIdleTimer(const std::shared_ptr<EndpointState>& ep, std::chrono::milliseconds timeout) {
  ep->idle_timer_armed = true;
  ep->idle_timer.expires_at(ep->idle_since + timeout);
  ep->idle_timer.async_wait([ep, timeout](beast::error_code ec) {
    ep->idle_timer_armed = false;
    if (ec || !ep->idle) return;
    if (Clock::now() - ep->idle_since < timeout) return ArmIdleTimer(ep, timeout);
    ep->idle->Close();
    ep->idle.reset();
  });
}

}  // namespace

std::string_view FailureName(Failure failure) {
  switch (failure) {
    case Failure::kNone:
      return "none";
    case Failure::kInvalidRequest:
      return "invalid_request";
    case Failure::kQueueFull:
      return "queue_full";
    case Failure::kConnect:
      return "connect";
    case Failure::kTimeout:
      return "timeout";
    case Failure::kTls:
      return "tls";
    case Failure::kProtocol:
      return "protocol";
  }
  return "unknown";
}

std::string HostHeaderValue(const Endpoint& endpoint) {
  const auto host = StripBrackets(endpoint.host);
  std::string out =
      host.find(':') != std::string_view::npos ? Cat("[", host, "]") : std::string(host);
  const uint16_t default_port = endpoint.tls ? 443 : 80;
  if (endpoint.port != default_port) Append(out, ":", endpoint.port);
  return out;
}

Client::Client(net::io_context& io, Options options)
    : shared_(std::make_shared<Shared>(io, std::move(options))) {}

// NOLINTNEXTLINE(bugprone-exception-escape): only allocation failure, which may terminate
Client::~Client() {
  shared_->closing.store(true);
  std::lock_guard lock(shared_->mu);
  for (auto& [key, ep] : shared_->endpoints) {
    net::post(ep->strand, [ep = ep] {
      ep->idle_timer.cancel();
      if (ep->idle) ep->idle->Close();
      ep->idle.reset();
      StopDeadlineTimerIfIdle(*ep);
    });
  }
}

void Client::Get(const Endpoint& endpoint, std::string target, const Credentials& credentials,
                 std::chrono::milliseconds deadline, Callback done) {
  const auto fail_now = [&](const auto& executor, Failure failure, std::string detail) {
    Outcome outcome;
    outcome.failure = failure;
    outcome.detail = std::move(detail);
    net::post(executor, [done = std::move(done), outcome = std::move(outcome)]() mutable {
      done(std::move(outcome));
    });
  };
  if (auto why = Validate(endpoint, target); !why.empty()) {
    return fail_now(shared_->io.get_executor(), Failure::kInvalidRequest, std::move(why));
  }
  auto ep = shared_->EndpointFor(endpoint);
  const size_t limit = shared_->options.max_queue_per_endpoint;
  if (ep->unfinished.fetch_add(1, std::memory_order_acq_rel) >= limit) {
    ep->unfinished.fetch_sub(1, std::memory_order_acq_rel);
    return fail_now(
        ep->callbacks, Failure::kQueueFull,
        Cat(limit, " requests to ", Authority(StripBrackets(endpoint.host), endpoint.port),
            " are already unfinished"));
  }
  auto exchange = std::make_shared<Exchange>(shared_, ep, endpoint, std::move(target), credentials,
                                             Clock::now() + deadline, std::move(done));
  net::post(ep->strand, [exchange = std::move(exchange)] { exchange->Enqueue(); });
}

}  // namespace phonebus::http_client
