#include "phone_listener.h"

#include <mutex>
#include <optional>
#include <unordered_set>

#include "absl/status/status.h"

namespace phonebus::phonesim {
namespace {

constexpr std::chrono::seconds kReadTimeout{30};
constexpr std::chrono::seconds kWriteTimeout{10};
constexpr uint32_t kHeaderLimit = 16 * 1024;
constexpr uint64_t kBodyLimit = 8 * 1024;

class Session;

}  // namespace

struct Listener::State {
  net::io_context& ioc;
  tcp::acceptor acceptor;
  std::string server_header;
  ListenerHandler handler;
  std::mutex mu;
  bool stopped = false;
  // Strong references, so that a hung connection (no operation pending) stays open until Stop.
  std::unordered_set<std::shared_ptr<Session>> sessions;

  State(net::io_context& io, std::string server, ListenerHandler h)
      : ioc(io),
        acceptor(net::make_strand(io)),
        server_header(std::move(server)),
        handler(std::move(h)) {}
};

namespace {

using State = Listener::State;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<State> state)
      : stream_(std::move(socket)), state_(std::move(state)) {
    beast::error_code ec;
    const auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ip_ = ep.address().to_string();
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoRead(); });
  }

  void Close() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->DoClose(); });
  }

  // Only while no thread runs the io_context: closes at once instead of through the strand.
  void CloseNow() {
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void DoRead() {
    parser_.emplace();
    parser_->header_limit(kHeaderLimit);
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kReadTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return DoClose();  // peer closed, timeout, garbage: a phone just hangs up
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    ListenerRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.peer_ip = peer_ip_;
    if (const auto it = req.find(http::field::authorization); it != req.end()) {
      request.authorization = std::string(it->value());
    }
    stream_.expires_never();  // the answer comes from the phone, which may hang on purpose
    state_->handler(std::move(request), [self = shared_from_this()](ListenerResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->OnResponse(std::move(response));
      });
    });
  }

  void OnResponse(ListenerResponse response) {
    switch (response.action) {
      case ListenerResponse::Action::kClose:
        return DoClose();
      case ListenerResponse::Action::kHang:
        return;  // kept alive by State::sessions until Stop
      case ListenerResponse::Action::kAnswer:
        break;
    }
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), 11);
    res->set(http::field::server, state_->server_header);
    res->set(http::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) res->set(name, value);
    res->keep_alive(keep_alive_);
    res->body() = std::move(response.body);
    res->prepare_payload();
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !self->keep_alive_) return self->DoClose();
                        self->DoRead();
                      });
  }

  void DoClose() {
    if (closed_) return;
    const auto self = shared_from_this();  // the erase below may drop the last other reference
    closed_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    std::lock_guard lock(state_->mu);
    state_->sessions.erase(self);
  }

  beast::tcp_stream stream_;
  std::shared_ptr<State> state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_ip_;
  bool keep_alive_ = false;
  bool closed_ = false;
};

void Accept(std::shared_ptr<State> state) {
  state->acceptor.async_accept(
      net::make_strand(state->ioc), [state](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !state->acceptor.is_open()) return;
        if (!ec) {
          socket.set_option(tcp::no_delay(true), ec);
          auto session = std::make_shared<Session>(std::move(socket), state);
          {
            std::lock_guard lock(state->mu);
            if (state->stopped) return;
            state->sessions.insert(session);
          }
          session->Run();
        }
        Accept(state);
      });
}

}  // namespace

absl::StatusOr<std::unique_ptr<Listener>> Listener::Open(net::io_context& ioc,
                                                         const tcp::endpoint& endpoint,
                                                         std::string server_header,
                                                         ListenerHandler handler) {
  auto state = std::make_shared<State>(ioc, std::move(server_header), std::move(handler));
  beast::error_code ec;
  auto& acceptor = state->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError("cannot listen on " + endpoint.address().to_string() + ":" +
                                  std::to_string(endpoint.port()) + ": " + ec.message());
  }
  return std::unique_ptr<Listener>(new Listener(std::move(state)));
}

Listener::Listener(std::shared_ptr<State> state) : state_(std::move(state)) {}

Listener::~Listener() {
  std::unordered_set<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(state_->mu);
    state_->stopped = true;
    sessions.swap(state_->sessions);  // breaks the session <-> state cycle
  }
  // Closed here rather than through their strands, which no thread runs any more: a client of a
  // hung phone sees the connection close now, not when the io_context is destroyed.
  beast::error_code ec;
  state_->acceptor.close(ec);
  for (const auto& session : sessions) session->CloseNow();
}

tcp::endpoint Listener::local_endpoint() const {
  beast::error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

void Listener::Start() {
  net::dispatch(state_->acceptor.get_executor(), [state = state_] { Accept(state); });
}

void Listener::Stop() {
  std::vector<std::shared_ptr<Session>> sessions;
  {
    std::lock_guard lock(state_->mu);
    if (state_->stopped) return;
    state_->stopped = true;
    sessions.assign(state_->sessions.begin(), state_->sessions.end());
  }
  net::dispatch(state_->acceptor.get_executor(), [state = state_] {
    beast::error_code ec;
    state->acceptor.close(ec);
  });
  for (auto& session : sessions) session->Close();
}

}  // namespace phonebus::phonesim
