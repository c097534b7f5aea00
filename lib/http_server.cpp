#include "http_server.h"

#include <list>
#include <mutex>
#include <optional>

#include "log.h"

namespace phonebus::http_server {

struct Server::State {
  net::io_context& ioc;
  tcp::acceptor acceptor;
  Limits limits;
  Handler handler;
  RejectObserver on_reject;
  std::atomic<size_t> connections{0};
  std::atomic<size_t> in_flight{0};
  std::atomic<bool> draining{false};

  // Live sessions, so Shutdown can close the idle ones.
  std::mutex mu;
  std::list<std::weak_ptr<class Session>> sessions;

  State(net::io_context& io, Limits l, Handler h, RejectObserver r)
      : ioc(io),
        acceptor(net::make_strand(io)),
        limits(l),
        handler(std::move(h)),
        on_reject(std::move(r)) {}

  void Reject(std::string_view reason, const std::string& peer) {
    if (on_reject) on_reject(reason, peer);
  }
};

namespace {

using State = Server::State;

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

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<State> state)
      : stream_(std::move(socket)),
        state_(std::move(state)),
        buffer_(HeaderBufferBytes(state_->limits) + state_->limits.max_body_bytes) {
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ip_ = ep.address().to_string();
    state_->connections.fetch_add(1, std::memory_order_relaxed);
  }
  ~Session() { state_->connections.fetch_sub(1, std::memory_order_relaxed); }

  void Run(std::list<std::weak_ptr<Session>>::iterator self_entry) {
    self_entry_ = self_entry;
    registered_ = true;
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
  }

  // Refuses the connection at once (too many connections).
  void RunOverloaded() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      self->state_->Reject("too_many_connections", self->peer_ip_);
      self->Send({503, "too many connections"}, /*keep_alive=*/false);
    });
  }

  // Called on Shutdown: an idle connection closes now; a busy one after its reply.
  void CloseIfIdle() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) self->Close();
    });
  }

 private:
  // Between keep-alive requests the connection may idle; once bytes arrive the
  // whole request must follow within request_timeout.
  void WaitForRequest() {
    if (state_->draining) return Close();
    if (buffer_.size() > 0) return ReadRequest();
    idle_ = true;
    stream_.expires_after(state_->limits.idle_timeout);
    stream_.async_read_some(buffer_.prepare(1024),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->idle_ = false;
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
    stream_.expires_never();
    timed_out_ = false;
    request_timer_.expires_after(state_->limits.request_timeout);
    request_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the request arrived
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->request_timer_.cancel();
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (timed_out_) return Refuse("timeout", 408, "request not received in time");
    if (ec == http::error::end_of_stream || ec == net::error::connection_reset ||
        ec == net::error::operation_aborted) {
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
    stream_.expires_never();  // the reply comes from us, not the peer
    state_->in_flight.fetch_add(1, std::memory_order_relaxed);
    Request request{req.method(), req.target(), peer_ip_, keep_alive_};
    // The reply may come from another thread: hop back onto this strand.
    state_->handler(request, [self = shared_from_this()](Response response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
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
    stream_.expires_after(state_->limits.request_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !self->keep_alive_) return self->Close();
                        self->head_ = false;
                        self->WaitForRequest();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
    std::lock_guard lock(state_->mu);
    if (registered_) {
      state_->sessions.erase(self_entry_);
      registered_ = false;
    }
  }

  beast::tcp_stream stream_;
  net::steady_timer request_timer_{stream_.get_executor()};
  std::shared_ptr<State> state_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  std::string peer_ip_;
  bool keep_alive_ = false;
  bool timed_out_ = false;
  bool head_ = false;
  bool idle_ = false;
  bool registered_ = false;  // in state_->sessions (refused ones never are)
  std::list<std::weak_ptr<Session>>::iterator self_entry_;
};

namespace {

void Accept(std::shared_ptr<State> state) {
  state->acceptor.async_accept(
      net::make_strand(state->ioc), [state](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !state->acceptor.is_open()) return;
        if (!ec) {
          socket.set_option(tcp::no_delay(true), ec);
          auto session = std::make_shared<Session>(std::move(socket), state);
          if (state->connections.load() > state->limits.max_connections) {
            session->RunOverloaded();
          } else {
            std::list<std::weak_ptr<Session>>::iterator entry;
            {
              std::lock_guard lock(state->mu);
              entry = state->sessions.insert(state->sessions.end(), session);
            }
            session->Run(entry);
          }
        } else {
          // EMFILE and friends: log and keep accepting rather than dying.
          log::Warn("accept failed", {{"error", ec.message()}});
        }
        Accept(state);
      });
}

}  // namespace

Server::Server(net::io_context& ioc, const tcp::endpoint& endpoint, Limits limits, Handler handler,
               RejectObserver on_reject)
    : state_(std::make_shared<State>(ioc, limits, std::move(handler), std::move(on_reject))) {
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
  });
  std::lock_guard lock(state_->mu);
  for (auto& weak : state_->sessions) {
    if (auto session = weak.lock()) session->CloseIfIdle();
  }
}

size_t Server::in_flight() const { return state_->in_flight.load(); }

}  // namespace phonebus::http_server
