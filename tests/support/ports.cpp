#include "ports.h"

#include "net.h"

namespace phonebus::testing {

unsigned short FreePort() {
  net::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

}  // namespace phonebus::testing
