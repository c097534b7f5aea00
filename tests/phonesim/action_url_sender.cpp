#include "action_url_sender.h"

#include "phone_provisioning.h"

namespace phonebus::phonesim {

std::string RequestLineSafe(std::string_view target) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(target.size());
  for (const char ch : target) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7F) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

ActionUrlSender::ActionUrlSender(net::any_io_executor executor, std::string user_agent,
                                 std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), user_agent_(std::move(user_agent)), timeout_(timeout) {}

void ActionUrlSender::Send(std::string url, Done done) {
  if (stopped_) return;
  queue_.push_back({std::move(url), std::move(done)});
  if (!busy_) Next();
}

void ActionUrlSender::Stop() {
  stopped_ = true;
  queue_.clear();
  if (resolver_) resolver_->cancel();
  if (stream_) stream_->close();
}

void ActionUrlSender::Finish(unsigned status, std::string error) {
  if (stream_) {
    beast::error_code ec;
    stream_->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_->close();
  }
  Item item = std::move(queue_.front());
  queue_.pop_front();
  busy_ = false;
  if (item.done) item.done(status, std::move(error));
  if (!stopped_ && !queue_.empty()) Next();
}

void ActionUrlSender::Next() {
  if (stopped_ || queue_.empty()) return;
  busy_ = true;
  auto url = SplitHttpUrl(queue_.front().url);
  if (!url.ok()) {
    // Through the executor, so a Done never runs inside Send.
    return net::post(executor_, [self = shared_from_this(), error = url.status().ToString()] {
      if (!self->stopped_) self->Finish(0, error);
    });
  }
  request_ = {};
  request_.method(http::verb::get);
  request_.target(RequestLineSafe(url->target));
  request_.version(11);
  request_.set(http::field::host, url->host + ":" + std::to_string(url->port));
  request_.set(http::field::user_agent, user_agent_);
  request_.set(http::field::connection, "close");
  response_ = {};
  buffer_.clear();
  stream_ = std::make_unique<beast::tcp_stream>(executor_);
  stream_->expires_after(timeout_);

  auto self = shared_from_this();
  const auto on_connect = [self](beast::error_code ec) {
    if (self->stopped_) return;
    if (ec) return self->Finish(0, "connect: " + ec.message());
    http::async_write(*self->stream_, self->request_, [self](beast::error_code ec, size_t) {
      if (self->stopped_) return;
      if (ec) return self->Finish(0, "write: " + ec.message());
      http::async_read(*self->stream_, self->buffer_, self->response_,
                       [self](beast::error_code ec, size_t) {
                         if (self->stopped_) return;
                         if (ec) return self->Finish(0, "read: " + ec.message());
                         self->Finish(self->response_.result_int(), {});
                       });
    });
  };

  beast::error_code ec;
  const auto address = net::ip::make_address(url->host, ec);
  if (!ec) {
    stream_->async_connect(tcp::endpoint(address, url->port), on_connect);
    return;
  }
  resolver_ = std::make_unique<tcp::resolver>(executor_);
  resolver_->async_resolve(
      url->host, std::to_string(url->port),
      [self, on_connect](beast::error_code ec, tcp::resolver::results_type results) {
        if (self->stopped_) return;
        if (ec) return self->Finish(0, "resolve: " + ec.message());
        self->stream_->async_connect(
            results, [on_connect](beast::error_code ec, const tcp::endpoint&) { on_connect(ec); });
      });
}

}  // namespace phonebus::phonesim
