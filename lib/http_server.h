// HTTP/1.1 server plumbing on Boost.Beast, plain or over TLS: accept, limits,
// timeouts, keep-alive, and a one-line reason with every error status. The
// application sees only whole, size-checked GET/HEAD requests and answers
// through a callback that may run on any thread (the adapter answers after its
// outbox write).
//
// Hostile clients: every connection has a deadline for each request (slow
// senders get 408), at most max_connections_per_source come from one address,
// and at max_connections a new connection closes the oldest idle one rather
// than being refused, so a flood of idle sockets cannot lock phones out.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "net.h"

namespace phonebus {
class TlsFiles;
}

namespace phonebus::http_server {

struct Limits {
  size_t max_url_bytes = 4096;     // request target; over it: 414
  size_t max_header_bytes = 8192;  // all header fields; over it: 431
  size_t max_body_bytes = 8192;    // Action URLs carry none; over it: 413
  // Time a client has to deliver a whole request once it started one: 408.
  std::chrono::milliseconds request_timeout{10000};
  // Time a keep-alive connection may sit idle between requests: closed.
  std::chrono::milliseconds idle_timeout{30000};
  size_t max_connections = 20000;         // over it, with none idle to close: 503 and close
  size_t max_connections_per_source = 0;  // from one IP address; over it: 503. 0: no limit
};

struct Request {
  http::verb method;
  std::string_view target;  // valid until the reply is sent
  std::string peer_ip;
  bool keep_alive;
};

struct Response {
  unsigned status = 200;
  std::string body;  // a short reason line for errors
  std::string content_type = "text/plain; charset=utf-8";
};

// The checks every connection makes on what it read, before the handler sees a request; apart
// from the sockets so that raw request bytes can be fuzzed (tests/fuzz/fuzz_adapter_http.cpp).
using RequestParser = http::request_parser<http::string_body>;

// What the server answers by itself instead of handing a request on.
struct Refusal {
  std::string_view reason;  // the RejectObserver's reason: "url_too_long", ...
  unsigned status;
  std::string text;
};

// Bytes of request line plus header fields a connection buffers before giving up; its read
// buffer holds this plus max_body_bytes.
size_t HeaderBufferBytes(const Limits& limits);
// Sets the parser's header and body limits for one request.
void LimitParser(const Limits& limits, RequestParser& parser);
// The server's answer to a read that ended with `ec` (not a timeout, and not one of the errors
// that mean the peer went away), or nullopt when the request goes to the handler.
std::optional<Refusal> CheckRequest(beast::error_code ec, const RequestParser& parser,
                                    const Limits& limits);

// Must be called exactly once per request, from any thread.
using Reply = std::function<void(Response)>;
using Handler = std::function<void(const Request&, Reply)>;
// Told of every request the server itself refuses ("url_too_long", "timeout", ...).
using RejectObserver = std::function<void(std::string_view reason, const std::string& peer_ip)>;

class Server {
 public:
  // Binds and listens at once, so a bad address fails start-up with a clear error.
  // With `tls` (which must outlive the server) every connection speaks HTTPS,
  // each with the certificate current when it was accepted.
  Server(net::io_context& ioc, const tcp::endpoint& endpoint, Limits limits, Handler handler,
         RejectObserver on_reject = nullptr, const TlsFiles* tls = nullptr);
  ~Server();

  tcp::endpoint local_endpoint() const;
  void Start();
  // Stops accepting and closes idle keep-alive connections; requests being
  // handled finish and their connections close after the reply.
  void Shutdown();
  // Requests accepted by the handler and not yet answered.
  size_t in_flight() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace phonebus::http_server
