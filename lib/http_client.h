// Asynchronous HTTP/1.1 GET client for desk phones (the command service's
// transport). Phones are small embedded web servers that act on a GET (dial,
// press a key), lock their login after a few bad passwords, and drop idle
// connections whenever they like, so the client:
//   - runs the requests to one phone strictly one after another, in
//     submission order (a phone given two key presses at once may drop one),
//     while different phones run in parallel;
//   - answers a 401 challenge (Digest preferred, else Basic) once, never in a
//     loop, and then authenticates later requests to that phone pre-emptively;
//   - once a phone refused a login, sends it nothing with those credentials
//     for a while, not even the requests already queued behind the refused
//     one: each would cost a failed login, and phones lock theirs after a few;
//   - keeps one idle keep-alive connection per phone;
//   - reports whether the request may have reached the phone, so the caller
//     can decide whether a retry could act twice.
//
// The namespace is http_client rather than http: phonebus::http is Beast's
// (net.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "net.h"

namespace phonebus::http_client {

struct Endpoint {
  std::string host;  // DNS name, IPv4 or IPv6 literal ("::1" or "[::1]")
  uint16_t port = 80;
  bool tls = false;
  // False for phones with self-signed certificates (set per device): the
  // connection is encrypted but not authenticated.
  bool tls_verify = true;
};

struct Credentials {
  std::string username;  // empty: send no credentials
  std::string password;
};

enum class Failure {
  kNone,            // the phone answered; see `status`
  kInvalidRequest,  // bad host, port or target; nothing was sent
  kQueueFull,       // too many requests to this phone already waiting
  kConnect,         // name lookup, connect, or the connection broke
  kTimeout,         // the deadline passed (possibly while still queued)
  kTls,             // handshake or certificate verification failed
  kProtocol,        // the phone's answer was not valid HTTP
};

std::string_view FailureName(Failure failure);

struct Outcome {
  Failure failure = Failure::kNone;
  std::string detail;         // one line for people; never contains credentials
  bool request_sent = false;  // whether the phone may have acted (matters for retries)
  int status = 0;             // HTTP status when the phone answered
  // The phone refused the credentials: it answered 401 to them, now or (with
  // request_sent false, status 401) within Options::refused_holdoff. A 401
  // without this means no credentials were configured, or the phone's
  // challenge could not be answered (`detail` says why).
  bool credentials_refused = false;
  std::string body;  // capped at Options::max_body_bytes
  bool body_truncated = false;
  std::string location;  // Location header, if any
};

class Client {
 public:
  struct Options {
    // Requests to one phone not yet finished (running plus waiting); more get kQueueFull.
    size_t max_queue_per_endpoint = 64;
    // PEM trust anchors for tls_verify endpoints; empty: the system store.
    std::string ca_file;
    std::string user_agent = "phonebus";
    // An idle keep-alive connection is closed after this; phones drop theirs
    // after a few seconds anyway.
    std::chrono::milliseconds idle_timeout{10000};
    size_t max_body_bytes = size_t{64} * 1024;
    // After a phone refused a login, requests to it with the same credentials
    // fail at once for this long (new credentials are tried).
    std::chrono::milliseconds refused_holdoff{60000};
  };

  // Throws std::runtime_error when ca_file cannot be loaded (start-up only).
  Client(net::io_context& io, Options options);
  // Closes idle connections. Requests in flight still complete and call back;
  // the io_context must keep running until they have.
  // clang-tidy reports at the declaration as well as at the definition.
  // NOLINTNEXTLINE(bugprone-exception-escape): only allocation failure, which may terminate
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  using Callback = std::function<void(Outcome)>;

  // GET `target` ("/servlet?key=OK", already percent-encoded) from `endpoint`.
  // `done` is called exactly once, on a thread running the io_context, never
  // inside Get. Callbacks for one endpoint run one at a time in the order
  // their requests finished, apart from the endpoint's I/O (a callback may
  // block briefly or call Get again). `deadline` counts from this call and
  // covers queueing, name lookup, connect, TLS, write and read: `done` comes
  // within it.
  void Get(const Endpoint& endpoint, std::string target, const Credentials& credentials,
           std::chrono::milliseconds deadline, Callback done);

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

// The Host header for `endpoint`: IPv6 literals in brackets, the port only
// when it is not the scheme's default.
std::string HostHeaderValue(const Endpoint& endpoint);

}  // namespace phonebus::http_client
