// A phone's embedded web server: one listener per simulated phone, HTTP/1.1 with keep-alive, in
// the callback/strand style of the Beast examples. It hands each request (target, peer, the
// Authorization header) to the phone and writes whatever the phone decides, including the things
// a broken phone does: never answering, or dropping the connection unanswered.
//
// lib/http_server is the adapter's server and does not expose request headers, set response
// headers or drop connections on purpose, all of which a phone needs (Digest challenges, SNOM's
// 302, failure modes); this stays small and test-only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "net.h"

namespace phonebus::phonesim {

struct ListenerRequest {
  std::string method;
  std::string target;
  std::string peer_ip;
  std::string authorization;  // the Authorization header, empty when absent
};

struct ListenerResponse {
  enum class Action {
    kAnswer,  // write the response
    kClose,   // drop the connection without a response
    kHang,    // never answer; the connection stays open until the listener stops
  };
  Action action = Action::kAnswer;
  unsigned status = 200;
  std::string body;
  std::string content_type = "text/html";
  std::vector<std::pair<std::string, std::string>> headers;
};

// Called exactly once per request, from any thread.
using Respond = std::function<void(ListenerResponse)>;
using ListenerHandler = std::function<void(ListenerRequest, Respond)>;

class Listener {
 public:
  // Binds and listens at once so a taken port fails Add() with a clear error.
  static absl::StatusOr<std::unique_ptr<Listener>> Open(net::io_context& ioc,
                                                        const tcp::endpoint& endpoint,
                                                        std::string server_header,
                                                        ListenerHandler handler);
  // Closes everything at once; only while no thread runs the io_context.
  ~Listener();

  tcp::endpoint local_endpoint() const;
  void Start();
  // Closes the acceptor and every connection, hung ones included. Thread-safe.
  void Stop();

  struct State;

 private:
  explicit Listener(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace phonebus::phonesim
