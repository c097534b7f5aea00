// Hostile traffic against the real adapter on loopback: slow-loris, connection
// floods, header floods and huge query strings, each from attacker addresses
// (127.0.0.1x) while a well-behaved phone (127.0.0.2) fires Action URLs. The
// phone must keep getting 200 within a bounded time and every event it was
// answered for must reach mosquitto.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "adapter.h"
#include "http_get.h"
#include "mosquitto.h"
#include "subscriber.h"
#include "temp_dir.h"

namespace phonebus::adapter {
namespace {

using namespace std::chrono_literals;
using testing::Mosquitto;
using testing::Subscriber;

constexpr const char* kSecret = "hostile-test-secret-0123456789";
const std::string kAt = std::string("/") + kSecret;

enum class Attack { kSlowLoris, kConnectionFlood, kHeaderFlood, kHugeQuery, kAllAtOnce };

std::string Name(Attack a) {
  switch (a) {
    case Attack::kSlowLoris:
      return "SlowLoris";
    case Attack::kConnectionFlood:
      return "ConnectionFlood";
    case Attack::kHeaderFlood:
      return "HeaderFlood";
    case Attack::kHugeQuery:
      return "HugeQuery";
    case Attack::kAllAtOnce:
      return "AllAtOnce";
  }
  return "?";
}

// A blocking socket from `source` that gives up within a second, so an
// attacker thread never hangs the test.
struct RawSocket {
  RawSocket(net::io_context& ioc, const std::string& source, unsigned short port) : socket(ioc) {
    beast::error_code ec;
    socket.open(tcp::v4(), ec);
    socket.bind(tcp::endpoint(net::ip::make_address(source), 0), ec);
    timeval wait{1, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait);
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    ok = !ec;
  }
  bool Send(std::string_view bytes) {
    beast::error_code ec;
    net::write(socket, net::buffer(bytes), ec);
    return !ec;
  }
  tcp::socket socket;
  bool ok = false;
};

// Runs one attack in its own threads until destroyed.
class Attacker {
 public:
  Attacker(Attack attack, unsigned short port) : port_(port) {
    if (attack == Attack::kSlowLoris || attack == Attack::kAllAtOnce) {
      threads_.emplace_back([this] { SlowLoris("127.0.0.11", 300); });
    }
    if (attack == Attack::kConnectionFlood || attack == Attack::kAllAtOnce) {
      // Many addresses, each within the per-source limit, together past max_connections.
      for (int i = 0; i < 4; ++i) {
        threads_.emplace_back([this, i] { Flood("127.0.0." + std::to_string(20 + i), 60); });
      }
    }
    if (attack == Attack::kHeaderFlood || attack == Attack::kAllAtOnce) {
      threads_.emplace_back([this] { HeaderFlood("127.0.0.12"); });
    }
    if (attack == Attack::kHugeQuery || attack == Attack::kAllAtOnce) {
      threads_.emplace_back([this] { HugeQuery("127.0.0.13"); });
    }
  }
  ~Attacker() {
    stop_ = true;
    for (auto& t : threads_) t.join();
  }
  int sent() const { return sent_; }

 private:
  // Connections that start a request and send one byte at a time, reopened
  // whenever the server closes them.
  void SlowLoris(const std::string& source, int connections) {
    net::io_context ioc;
    std::vector<std::unique_ptr<RawSocket>> sockets;
    const std::string start =
        "GET " + kAt + "/yealink/dnd_on?mac=001565aabbcc HTTP/1.1\r\nHost: x\r\n";
    while (!stop_) {
      while (static_cast<int>(sockets.size()) < connections && !stop_) {
        auto s = std::make_unique<RawSocket>(ioc, source, port_);
        if (s->ok && s->Send(start)) sockets.push_back(std::move(s));
        ++sent_;
      }
      for (auto it = sockets.begin(); it != sockets.end() && !stop_;) {
        it = (*it)->Send("X") ? std::next(it) : sockets.erase(it);
      }
      std::this_thread::sleep_for(200ms);
    }
  }

  // Connections that send nothing at all.
  void Flood(const std::string& source, int connections) {
    net::io_context ioc;
    std::vector<std::unique_ptr<RawSocket>> sockets;
    while (!stop_) {
      // Drop those the server closed: a non-blocking peek sees end of stream.
      std::erase_if(sockets, [](const auto& s) {
        beast::error_code ec;
        char byte;
        s->socket.non_blocking(true, ec);
        const size_t n = s->socket.receive(net::buffer(&byte, 1), tcp::socket::message_peek, ec);
        return (!ec && n == 0) || (ec && ec != net::error::would_block);
      });
      while (static_cast<int>(sockets.size()) < connections && !stop_) {
        auto s = std::make_unique<RawSocket>(ioc, source, port_);
        if (s->ok) sockets.push_back(std::move(s));
        ++sent_;
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  // Whole requests with far too many and far too large header fields.
  void HeaderFlood(const std::string& source) {
    std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 2000; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
    many += "\r\n";
    const std::string huge =
        "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
    for (int i = 0; !stop_; ++i) {
      testing::SendRawFrom(source, port_, i % 2 ? many : huge, 1s);
      ++sent_;
    }
  }

  void HugeQuery(const std::string& source) {
    const std::string target =
        kAt + "/yealink/dnd_on?mac=001565aabbcc&x=" + std::string(1 << 20, 'q');
    while (!stop_) {
      testing::HttpGetFrom(source, port_, target, 1s);
      ++sent_;
    }
  }

  unsigned short port_;
  std::atomic<bool> stop_{false};
  std::atomic<int> sent_{0};
  std::vector<std::thread> threads_;
};

class HostileTest : public ::testing::TestWithParam<Attack> {
 protected:
  const testing::TempDir dir_{"hostile"};
  Mosquitto broker_;
};

TEST_P(HostileTest, WellBehavedPhoneKeepsBeingAnswered) {
  AdapterSettings s;
  s.listen = "127.0.0.1:0";
  s.site = "hostile";
  s.mqtt.brokers = {broker_.uri()};
  s.outbox_dir = dir_.path() + "/outbox";
  s.drain_timeout_s = 2;
  s.log_level = "error";
  s.url_secrets = {kSecret};
  s.request_timeout_ms = 1000;
  s.idle_timeout_ms = 5000;
  s.max_connections = 200;
  s.max_connections_per_source = 64;
  s.max_url_bytes = 1024;
  s.max_header_bytes = 4096;
  Subscriber sub(broker_.uri(), "phonebus/v1/hostile/device/+/event/+");
  Adapter adapter(s);
  adapter.Start();
  const auto port = adapter.endpoint().port();

  std::set<std::string> acked;
  {
    Attacker attacker(GetParam(), port);
    std::this_thread::sleep_for(500ms);  // let the attack take hold first
    for (int i = 0; i < 30; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      const auto r = testing::HttpGetFrom(
          "127.0.0.2", port,
          kAt + "/yealink/incoming_call?mac=001565aabbcc&call_id=" + std::to_string(i), 3s);
      const auto took = std::chrono::steady_clock::now() - t0;
      EXPECT_EQ(r.status, 200) << "event " << i << ": " << r.body;
      EXPECT_LT(took, 1s) << "event " << i;
      if (r.status == 200) acked.insert(r.body.substr(3, 36));
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_GT(attacker.sent(), 0);
  }
  ASSERT_EQ(acked.size(), 30u);
  ASSERT_TRUE(sub.WaitForCount(30, 20s));
  std::set<std::string> published;
  for (const auto& m : sub.messages()) {
    v1::PhoneEvent e;
    if (e.ParseFromString(m.payload)) published.insert(e.event_id());
  }
  EXPECT_EQ(published, acked);
}

INSTANTIATE_TEST_SUITE_P(Attacks, HostileTest,
                         ::testing::Values(Attack::kSlowLoris, Attack::kConnectionFlood,
                                           Attack::kHeaderFlood, Attack::kHugeQuery,
                                           Attack::kAllAtOnce),
                         [](const auto& info) { return Name(info.param); });

}  // namespace
}  // namespace phonebus::adapter
