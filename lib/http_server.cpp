#include "http_server.h"  // first: its net.h fixes Boost 1.74's include order

#include <boost/beast/ssl.hpp>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "log.h"
#include "tls_files.h"

namespace phonebus::http_server {
namespace {

// What the acceptor needs to know of a session of either kind.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Called on Shutdown and to make room: an idle connection closes now; a busy
  // one is left alone.
  virtual void CloseIfIdle() = 0;

  std::atomic<bool> idle{false};     // waiting for a request's first byte
  std::atomic<bool> evicted{false};  // chosen to make room; not chosen twice
};

// How many connections a full server looks through for an idle one to close.
constexpr int kEvictionScan = 256;

}  // namespace

struct Server::State {
  net::io_context& ioc;
  tcp::acceptor acceptor;
  Limits limits;
  Handler handler;
  RejectObserver on_reject;
  const TlsFiles* tls;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> in_flight{0};
  std::atomic<bool> draining{false};
  // After a failed accept (EMFILE: out of file descriptors), a pause before the
  // next: the pending connection stays queued, so accepting again at once spins.
  net::steady_timer accept_pause;

  // Live sessions, oldest first, so Shutdown can close the idle ones and a
  // full server can make room.
  std::mutex mu;
  std::list<std::weak_ptr<SessionBase>> sessions;
  // Its own lock: a session may be destroyed while `mu` is held (the last
  // reference dropped in a loop over `sessions`).
  std::mutex source_mu;
  std::unordered_map<std::string, size_t> per_source;

  State(net::io_context& io, Limits l, Handler h, RejectObserver r, const TlsFiles* t)
      : ioc(io),
        acceptor(net::make_strand(io)),
        limits(l),
        handler(std::move(h)),
        on_reject(std::move(r)),
        tls(t),
        accept_pause(acceptor.get_executor()) {}

  void Reject(std::string_view reason, const std::string& peer) {
    if (on_reject) on_reject(reason, peer);
  }

  // Closes the oldest idle connection; false when none of the oldest is idle.
  bool EvictIdle() {
    std::lock_guard lock(mu);
    int looked = 0;
    for (auto& weak : sessions) {
      if (++looked > kEvictionScan) break;
      auto session = weak.lock();
      if (session && session->idle.load() && !session->evicted.exchange(true)) {
        session->CloseIfIdle();
        return true;
      }
    }
    return false;
  }
};

namespace {

using State = Server::State;
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Beast consumes the request line before the fields, so a parsed target
// within the limit means the fields overflowed.
bool RequestLineTooLong(const RequestParser& parser, const Limits& limits) {
  const auto target = parser.get().target();
  return target.empty() || target.size() > limits.max_url_bytes;
}

}  // namespace

size_t HeaderBufferBytes(const Limits& limits) {
  // Room for the request line and the headers; which one overflowed is told
  // apart afterwards to answer 414 or 431.
  return limits.max_url_bytes + limits.max_header_bytes + 64;
}

void LimitParser(const Limits& limits, RequestParser& parser) {
  parser.header_limit(static_cast<std::uint32_t>(HeaderBufferBytes(limits)));
  parser.body_limit(limits.max_body_bytes);
}

std::optional<Refusal> CheckRequest(beast::error_code ec, const RequestParser& parser,
                                    const Limits& limits) {
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
    if (RequestLineTooLong(parser, limits)) {
      return Refusal{"url_too_long", 414, "request URL too long"};
    }
    return Refusal{"headers_too_large", 431, "request headers too large"};
  }
  if (ec == http::error::body_limit) {
    return Refusal{"body_too_large", 413, "request body too large"};
  }
  if (ec) {
    // Bytes arrived (we only read once they do), so the peer sent something
    // that is not HTTP: say so rather than just hanging up.
    return Refusal{"malformed_request", 400, "malformed HTTP request: " + ec.message()};
  }
  const auto& req = parser.get();
  if (req.target().size() > limits.max_url_bytes) {
    return Refusal{"url_too_long", 414, "request URL too long"};
  }
  size_t header_bytes = 0;
  for (const auto& field : req)
    header_bytes += field.name_string().size() + field.value().size() + 4;
  if (header_bytes > limits.max_header_bytes) {
    return Refusal{"headers_too_large", 431, "request headers too large"};
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return Refusal{"method_not_allowed", 405, "only GET and HEAD are served"};
  }
  return std::nullopt;
}

namespace {

template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  // `tls` is null for a plain connection.
  Session(tcp::socket&& socket, std::shared_ptr<State> state, std::string peer_ip,
          std::shared_ptr<net::ssl::context> tls)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        state_(std::move(state)),
        buffer_(HeaderBufferBytes(state_->limits) + state_->limits.max_body_bytes),
        peer_ip_(std::move(peer_ip)) {}
  ~Session() override {
    state_->connections.fetch_sub(1, std::memory_order_relaxed);
    std::lock_guard lock(state_->source_mu);
    if (auto it = state_->per_source.find(peer_ip_);
        it != state_->per_source.end() && --it->second == 0) {
      state_->per_source.erase(it);
    }
  }

  void Run(std::list<std::weak_ptr<SessionBase>>::iterator self_entry) {
    self_entry_ = self_entry;
    registered_ = true;
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->Handshake([self] { self->WaitForRequest(); });
    });
  }

  // Refuses the connection at once, saying why (too many connections).
  void RunOverloaded(std::string_view reason, std::string text) {
    net::dispatch(stream_.get_executor(),
                  [self = this->shared_from_this(), reason, text = std::move(text)]() mutable {
                    self->state_->Reject(reason, self->peer_ip_);
                    self->Handshake([self, text = std::move(text)]() mutable {
                      self->Send({503, std::move(text)}, /*keep_alive=*/false);
                    });
                  });
  }

  void CloseIfIdle() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->idle.load()) return self->Close();
      self->evicted = false;  // busy after all: may be chosen again later
    });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, net::ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  auto& Lowest() { return beast::get_lowest_layer(stream_); }

  // TLS first (within the request deadline: a handshake is part of a request);
  // plain connections go straight on.
  template <class Next>
  void Handshake(Next next) {
    if constexpr (kTls) {
      Lowest().expires_after(state_->limits.request_timeout);
      // Evictable like an idle connection: a phone's handshake takes
      // milliseconds, a flood's silent sockets never finish one.
      idle = true;
      auto done = [self = this->shared_from_this(),
                   next = std::move(next)](beast::error_code ec) mutable {
        self->idle = false;
        if (ec) {
          self->state_->Reject("tls_handshake_failed", self->peer_ip_);
          log::Debug("TLS handshake failed", {{"peer", self->peer_ip_}, {"error", ec.message()}});
          return self->Close();
        }
        next();
      };
      stream_.async_handshake(net::ssl::stream_base::server, std::move(done));
    } else {
      next();
    }
  }

  // Between keep-alive requests the connection may idle; once bytes arrive the
  // whole request must follow within request_timeout.
  void WaitForRequest() {
    if (state_->draining) return Close();
    if (buffer_.size() > 0) return ReadRequest();
    idle = true;
    Lowest().expires_after(state_->limits.idle_timeout);
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->idle = false;
                              if (ec)
                                return self->Close();  // idle timeout, peer closed, or shutdown
                              self->buffer_.commit(n);
                              self->ReadRequest();
                            });
  }

  void ReadRequest() {
    parser_.emplace();
    LimitParser(state_->limits, *parser_);
    // A timer of our own rather than the stream's expiry: an expired
    // tcp_stream is closed, and the slow client should still read its 408.
    Lowest().expires_never();
    timed_out_ = false;
    request_timer_.expires_after(state_->limits.request_timeout);
    request_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the request arrived
      self->timed_out_ = true;
      beast::error_code ignored;
      self->Lowest().socket().cancel(ignored);
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->request_timer_.cancel();
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (timed_out_) return Refuse("timeout", 408, "request not received in time");
    if (ec == http::error::end_of_stream || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::ssl::error::stream_truncated) {
      return Close();
    }
    if (auto refusal = CheckRequest(ec, *parser_, state_->limits)) {
      return Refuse(refusal->reason, refusal->status, std::move(refusal->text));
    }
    Dispatch(parser_->get());
  }

  void Dispatch(const http::request<http::string_body>& req) {
    keep_alive_ = req.keep_alive() && !state_->draining;
    head_ = req.method() == http::verb::head;
    Lowest().expires_never();  // the reply comes from us, not the peer
    state_->in_flight.fetch_add(1, std::memory_order_relaxed);
    Request request{req.method(), req.target(), peer_ip_, keep_alive_};
    // The reply may come from another thread: hop back onto this strand. When
    // it comes at once, from this strand (the adapter's default durability),
    // dispatch sends it right away: no queueing, no wake-up of another thread.
    state_->handler(request, [self = this->shared_from_this()](Response response) {
      net::dispatch(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->state_->in_flight.fetch_sub(1, std::memory_order_relaxed);
        self->Send(std::move(response), self->keep_alive_ && !self->state_->draining);
      });
    });
  }

  void Refuse(std::string_view reason, unsigned status, std::string text) {
    state_->Reject(reason, peer_ip_);
    log::Debug("request refused", {{"reason", reason}, {"peer", peer_ip_}});
    Send({status, std::move(text)}, /*keep_alive=*/false);
  }

  void Send(Response response, bool keep_alive) {
    keep_alive_ = keep_alive;
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, "phonebus");
    res->set(http::field::content_type, response.content_type);
    res->keep_alive(keep_alive);
    if (response.body.empty() || response.body.back() != '\n') response.body.push_back('\n');
    res->body() = std::move(response.body);
    res->prepare_payload();
    if (head_) res->body().clear();  // Content-Length stays that of the GET
    Lowest().expires_after(state_->limits.request_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !self->keep_alive_) return self->Close();
                        self->head_ = false;
                        self->WaitForRequest();
                      });
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
    Lowest().close();
    idle = false;
    std::lock_guard lock(state_->mu);
    if (registered_) {
      state_->sessions.erase(self_entry_);
      registered_ = false;
    }
  }

  std::shared_ptr<net::ssl::context> tls_;  // outlives stream_, which uses it
  Stream stream_;
  net::steady_timer request_timer_{stream_.get_executor()};
  std::shared_ptr<State> state_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::string peer_ip_;
  bool keep_alive_ = false;
  bool timed_out_ = false;
  bool head_ = false;
  bool registered_ = false;  // in state_->sessions (refused ones never are)
  std::list<std::weak_ptr<SessionBase>>::iterator self_entry_;
};

template <class S>
void Admit(const std::shared_ptr<State>& state, std::shared_ptr<S> session, bool over_total,
           bool over_source) {
  if (over_source) {
    return session->RunOverloaded("too_many_connections_from_source",
                                  "too many connections from one address");
  }
  if (over_total) return session->RunOverloaded("too_many_connections", "too many connections");
  std::list<std::weak_ptr<SessionBase>>::iterator entry;
  {
    std::lock_guard lock(state->mu);
    entry = state->sessions.insert(state->sessions.end(), session);
  }
  session->Run(entry);
}

void Accept(const std::shared_ptr<State>& state) {
  state->acceptor.async_accept(net::make_strand(state->ioc), [state](beast::error_code ec,
                                                                     tcp::socket socket) {
    if (ec == net::error::operation_aborted || !state->acceptor.is_open()) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::string peer;
      if (const auto ep = socket.remote_endpoint(ec); !ec) peer = ep.address().to_string();
      // At the limit, an idle connection makes room: sockets that send
      // nothing must not keep phones out.
      const bool over_total =
          state->connections.fetch_add(1) >= state->limits.max_connections && !state->EvictIdle();
      bool over_source = false;
      {
        std::lock_guard lock(state->source_mu);
        const size_t n = ++state->per_source[peer];
        over_source = state->limits.max_connections_per_source > 0 &&
                      n > state->limits.max_connections_per_source;
      }
      if (state->tls) {
        Admit(state,
              std::make_shared<Session<TlsStream>>(std::move(socket), state, peer,
                                                   state->tls->Current()),
              over_total, over_source);
      } else {
        Admit(state,
              std::make_shared<Session<PlainStream>>(std::move(socket), state, peer, nullptr),
              over_total, over_source);
      }
    } else {
      // EMFILE and friends: keep accepting rather than dying, after a pause.
      log::Warn("accept failed; trying again in 100 ms", {{"error", ec.message()}});
      state->accept_pause.expires_after(std::chrono::milliseconds(100));
      state->accept_pause.async_wait([state](beast::error_code wait_ec) {
        if (!wait_ec && state->acceptor.is_open()) Accept(state);
      });
      return;
    }
    Accept(state);
  });
}

}  // namespace

Server::Server(net::io_context& ioc, const tcp::endpoint& endpoint, Limits limits, Handler handler,
               RejectObserver on_reject, const TlsFiles* tls)
    : state_(std::make_shared<State>(ioc, limits, std::move(handler), std::move(on_reject), tls)) {
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol());
  acceptor.set_option(net::socket_base::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(net::socket_base::max_listen_connections);
}

Server::~Server() = default;

tcp::endpoint Server::local_endpoint() const { return state_->acceptor.local_endpoint(); }

void Server::Start() {
  net::dispatch(state_->acceptor.get_executor(), [state = state_] { Accept(state); });
}

void Server::Shutdown() {
  state_->draining = true;
  net::dispatch(state_->acceptor.get_executor(), [state = state_] {
    beast::error_code ec;
    state->acceptor.close(ec);
    state->accept_pause.cancel();
  });
  std::lock_guard lock(state_->mu);
  for (auto& weak : state_->sessions) {
    if (auto session = weak.lock()) session->CloseIfIdle();
  }
}

size_t Server::in_flight() const { return state_->in_flight.load(); }

}  // namespace phonebus::http_server
