#include "http_get.h"

#include "net.h"

namespace phonebus::testing {

HttpResult SendRaw(unsigned short port, const std::string& bytes,
                   std::chrono::milliseconds timeout) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  HttpResult result;
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

HttpResult HttpGet(unsigned short port, const std::string& target,
                   std::chrono::milliseconds timeout) {
  return SendRaw(
      port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout);
}

}  // namespace phonebus::testing
