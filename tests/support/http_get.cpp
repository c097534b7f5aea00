#include "http_get.h"

#include "net.h"

namespace phonebus::testing {

HttpResult SendRawFrom(const std::string& source, unsigned short port, const std::string& bytes,
                       std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  HttpResult result;
  if (!source.empty()) {
    beast::error_code ec;
    stream.socket().open(tcp::v4(), ec);
    if (!ec) stream.socket().bind(tcp::endpoint(net::ip::make_address(source), 0), ec);
    if (ec) return result;
  }
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  stream.expires_after(timeout);
  stream.async_connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), port), [&](beast::error_code ec) {
        if (ec) return;
        // Read while writing: a server may answer (414, 431) before it has it all.
        net::async_write(stream, net::buffer(bytes), [](beast::error_code, size_t) {});
        http::async_read(stream, buffer, res, [&](beast::error_code ec, size_t) {
          if (ec) return;
          result.status = static_cast<int>(res.result_int());
          result.body = res.body();
        });
      });
  ioc.run();
  return result;
}

HttpResult SendRaw(unsigned short port, const std::string& bytes,
                   std::chrono::milliseconds timeout) {
  return SendRawFrom("", port, bytes, timeout);
}

HttpResult HttpGetFrom(const std::string& source, unsigned short port, const std::string& target,
                       std::chrono::milliseconds timeout) {
  return SendRawFrom(source, port,
                     "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                     timeout);
}

HttpResult HttpGet(unsigned short port, const std::string& target,
                   std::chrono::milliseconds timeout) {
  return HttpGetFrom("", port, target, timeout);
}

}  // namespace phonebus::testing
