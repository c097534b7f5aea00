// Fires a phone's Action URLs the way phones do (PROTOCOLS.md section 1): a plain HTTP GET on a
// new TCP connection per event, no retries, the answer ignored except for the record. A phone
// fires one at a time in the order things happened, so the adapter sees "outgoing" before
// "established".
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "net.h"

namespace phonebus::phonesim {

class ActionUrlSender : public std::enable_shared_from_this<ActionUrlSender> {
 public:
  // status: the adapter's HTTP status, 0 when there was none; error: why not.
  using Done = std::function<void(unsigned status, std::string error)>;

  // Every operation and every Done runs on `executor` (the phone's strand).
  ActionUrlSender(net::any_io_executor executor, std::string user_agent,
                  std::chrono::milliseconds timeout);

  // Queues one GET of `url` ("http://host:port/path?query"). Call on the executor.
  void Send(std::string url, Done done);
  // Drops the queue and aborts the request in flight. Call on the executor.
  void Stop();

 private:
  struct Item {
    std::string url;
    Done done;
  };
  void Next();
  void Finish(unsigned status, std::string error);

  net::any_io_executor executor_;
  std::string user_agent_;
  std::chrono::milliseconds timeout_;
  std::deque<Item> queue_;
  bool busy_ = false;
  bool stopped_ = false;
  std::unique_ptr<beast::tcp_stream> stream_;
  std::unique_ptr<tcp::resolver> resolver_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  http::response<http::string_body> response_;
};

// Percent-encodes the bytes a request line cannot carry (space, control characters, DEL) and
// leaves everything else as the phone put it: phones do not encode their values, but their HTTP
// stacks cannot send a space in a request line either.
std::string RequestLineSafe(std::string_view target);

}  // namespace phonebus::phonesim
