// A plain HTTP/1.1 client for tests: one GET per new connection, as phones do,
// and raw bytes for malformed-request tests.
#pragma once

#include <chrono>
#include <string>

namespace phonebus::testing {

struct HttpResult {
  int status = 0;  // 0: no response (connection failed or closed)
  std::string body;
};

HttpResult HttpGet(unsigned short port, const std::string& target,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

// Sends `bytes` as they are and returns the status line's code and body of the
// first response (status 0 if the server closed without one).
HttpResult SendRaw(unsigned short port, const std::string& bytes,
                   std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The same from a chosen loopback source address ("127.0.0.2": all of
// 127.0.0.0/8 is loopback on Linux), to play phones and attackers apart.
HttpResult HttpGetFrom(const std::string& source, unsigned short port, const std::string& target,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));
HttpResult SendRawFrom(const std::string& source, unsigned short port, const std::string& bytes,
                       std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace phonebus::testing
