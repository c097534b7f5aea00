#include "mqtt_client.h"

#include <dirent.h>
#include <mqtt/async_client.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "log.h"
#include "string_util.h"
#include "tls_client.h"

namespace phonebus::mqtt_client {
namespace {

using strings::Cat;

// paho C leaves Nagle's algorithm on, so each small PUBLISH waits for the
// previous one's ACK (and the peer's delayed ACK): tens of milliseconds per
// round trip, which caps QoS 1 throughput at window / RTT. paho offers no
// socket hook, so after each connect we switch Nagle off on every TCP socket
// of the process; every socket we own wants it off anyway.
void DisableNagleOnAllTcpSockets() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return;
  while (const dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2) continue;
    int type = 0;
    socklen_t len = sizeof type;
    sockaddr_storage addr{};
    socklen_t addr_len = sizeof addr;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_STREAM ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0 ||
        (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) {
      continue;
    }
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  closedir(dir);
}

// Why a connect failed, in the operator's terms (paho's own message for a
// refused login is a bare code). A refused login is UNAUTHENTICATED, which
// nobody should retry as it is (a CLI exits 4 "fix your credentials", not 5
// "try again later"); everything else UNAVAILABLE.
absl::Status ConnectFailure(const mqtt::exception& e, bool v5,
                            const std::function<std::string()>& tls_error) {
  constexpr std::string_view kPrefix = "cannot connect to MQTT broker: ";
  // paho reports a refused MQTT 5 CONNECT's reason code as the return code.
  const int rc = e.get_return_code();
  const int reason = e.get_reason_code() != 0 ? e.get_reason_code() : rc;
  // MQTT 5 CONNACK reason 0x86 / MQTT 3.1.1 return code 4; 0x87 / 5.
  if ((v5 && reason == 0x86) || (!v5 && rc == 4)) {
    return absl::UnauthenticatedError(
        Cat(kPrefix,
            "the broker refused the user name or password (--mqtt-username, "
            "--mqtt-password-file)"));
  }
  // mosquitto answers a wrong password with "not authorised".
  if ((v5 && reason == 0x87) || (!v5 && rc == 5)) {
    return absl::UnauthenticatedError(
        Cat(kPrefix,
            "the broker refused this client: wrong user name or password (--mqtt-username, "
            "--mqtt-password-file), or a client certificate it does not accept"));
  }
  if (const std::string tls = tls_error(); !tls.empty()) {
    return absl::UnavailableError(
        Cat(kPrefix, "TLS with the broker failed: ", tls,
            "; its certificate must chain to --mqtt-ca-file (or the system store) and name the "
            "host of the broker URI"));
  }
  return absl::UnavailableError(Cat(kPrefix, e.get_message(), " (", std::to_string(rc), ")"));
}

// The size of the PUBLISH packet `m` makes (MQTT 5 or 3.1.1), as a broker
// compares it with its Maximum Packet Size.
uint64_t PublishPacketBytes(const Message& m, bool v5) {
  const auto varint_bytes = [](uint64_t n) {
    uint64_t bytes = 1;
    while (n >= 128) n /= 128, ++bytes;
    return bytes;
  };
  uint64_t remaining = 2 + m.topic.size() + (m.qos > 0 ? 2 : 0) + m.payload.size();
  if (v5) {
    uint64_t props = m.content_type.empty() ? 0 : 3 + m.content_type.size();
    for (const auto& [k, v] : m.user_properties) props += 5 + k.size() + v.size();
    remaining += varint_bytes(props) + props;
  }
  return 1 + varint_bytes(remaining) + remaining;
}

}  // namespace

Refusal ClassifyRefusal(int reason_code) {
  if (reason_code < 0x80) return Refusal::kNone;
  switch (reason_code) {
    case 0x87:  // not authorized
    case 0x90:  // topic name invalid
    case 0x95:  // packet too large
    case 0x99:  // payload format invalid
    case 0x9A:  // retain not supported
      return Refusal::kPermanent;
    case 0x91:  // packet identifier in use
    case 0x97:  // quota exceeded
      return Refusal::kTransient;
    default:
      return Refusal::kUnknown;
  }
}

std::string ReasonName(int reason_code) {
  switch (reason_code) {
    case 0x80:
      return "unspecified_error";
    case 0x83:
      return "implementation_specific_error";
    case 0x87:
      return "not_authorized";
    case 0x90:
      return "topic_name_invalid";
    case 0x91:
      return "packet_identifier_in_use";
    case 0x95:
      return "packet_too_large";
    case 0x97:
      return "quota_exceeded";
    case 0x99:
      return "payload_format_invalid";
    case 0x9A:
      return "retain_not_supported";
    default: {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", reason_code & 0xff);
      return hex;
    }
  }
}

std::string ContentType(const settings::Mqtt& mqtt) {
  return mqtt.json() ? "application/json" : "application/x-protobuf";
}

class Client::Impl : public mqtt::callback, public mqtt::iaction_listener {
 public:
  explicit Impl(Options options) : options_(std::move(options)), client_(NewClient()) {}

  absl::Status Connect() {
    auto builder = mqtt::connect_options_builder()
                       .keep_alive_interval(std::chrono::seconds(options_.mqtt.keepalive_s))
                       .connect_timeout(std::chrono::seconds(options_.mqtt.connect_timeout_s))
                       .max_inflight(options_.mqtt.max_inflight)
                       .servers(std::make_shared<mqtt::string_collection>(options_.mqtt.brokers));
    if (options_.mqtt.v5()) {
      builder.mqtt_version(MQTTVERSION_5).clean_session(false).clean_start(options_.clean_session);
      if (!options_.clean_session) {
        // Keep the session for a day so queued messages survive our restarts.
        builder.properties({{mqtt::property::SESSION_EXPIRY_INTERVAL, 86400}});
      }
    } else {
      builder.mqtt_version(MQTTVERSION_3_1_1).clean_session(options_.clean_session);
    }
    if (!options_.mqtt.username.empty()) builder.user_name(options_.mqtt.username);
    if (!options_.mqtt.password.empty()) builder.password(options_.mqtt.password);
    if (options_.mqtt.tls()) builder.ssl(TlsOptions());
    if (!options_.status_topic.empty()) {
      builder.will(mqtt::message(options_.status_topic, "offline", 1, true));
    }
    auto client = Current();
    // paho's own connect timeout applies per broker, yet a broker that takes
    // the TCP connection and never answers CONNECT (a cluster node whose
    // session store is electing a leader) can leave the token pending for
    // good. Past every broker's timeout the attempt is given up: a fresh
    // client, so the next attempt starts clean.
    const auto deadline = std::chrono::seconds(options_.mqtt.connect_timeout_s) *
                              static_cast<int>(options_.mqtt.brokers.size()) +
                          std::chrono::seconds(2);
    try {
      auto token = client->connect(builder.finalize());
      if (!token->wait_for(deadline)) {
        Replace();
        return absl::DeadlineExceededError("no MQTT broker answered within " +
                                           std::to_string(deadline.count()) + " s");
      }
      ForgetTlsProbe();
      DisableNagleOnAllTcpSockets();
      const auto connack = token->get_connect_response();
      const auto& props = connack.get_properties();
      max_packet_bytes_ = props.contains(mqtt::property::MAXIMUM_PACKET_SIZE)
                              ? mqtt::get<uint32_t>(props, mqtt::property::MAXIMUM_PACKET_SIZE)
                              : 0;
    } catch (const mqtt::exception& e) {
      // Never echo the options: they hold the password.
      return ConnectFailure(e, options_.mqtt.v5(), [this] { return TlsFailureThisOutage(); });
    }
    if (!options_.status_topic.empty()) {
      try {
        client->publish(options_.status_topic, "online", 6, 1, true);
      } catch (const mqtt::exception& e) {
        return absl::UnavailableError("cannot publish status: " + e.get_message());
      }
    }
    return absl::OkStatus();
  }

  bool IsConnected() const { return Current()->is_connected(); }

  void Close(std::chrono::milliseconds timeout) {
    auto client = Current();
    if (!client->is_connected()) return;
    if (!options_.status_topic.empty()) {
      try {
        client->publish(options_.status_topic, "offline", 7, 1, true)->wait_for(timeout);
      } catch (const mqtt::exception& e) {
        log::Warn("MQTT offline status not sent", {{"error", e.get_message()}});
      }
    }
    try {
      client->disconnect()->wait_for(timeout);
    } catch (const mqtt::exception& e) {
      log::Warn("MQTT disconnect failed", {{"error", e.get_message()}});
    }
  }

  absl::Status Publish(const Message& m, uint64_t tag) {
    auto msg = mqtt::message::create(m.topic, m.payload, m.qos, m.retained);
    if (options_.mqtt.v5()) {
      mqtt::properties props;
      if (!m.content_type.empty()) {
        props.add(mqtt::property(mqtt::property::CONTENT_TYPE, m.content_type));
      }
      for (const auto& [k, v] : m.user_properties) {
        props.add(mqtt::property(mqtt::property::USER_PROPERTY, k, v));
      }
      msg->set_properties(std::move(props));
    }
    // A broker drops the connection over a packet larger than the limit its
    // CONNACK gave, and the message would be sent again after every
    // reconnect: refuse it here as the broker would (0x95).
    if (const uint64_t limit = max_packet_bytes_;
        limit > 0 && PublishPacketBytes(m, options_.mqtt.v5()) > limit) {
      if (on_delivered) on_delivered(tag, {false, 0x95});
      return absl::OkStatus();
    }
    try {
      // paho hands the context pointer back on completion: it carries the tag, never dereferenced.
      // NOLINTNEXTLINE(performance-no-int-to-ptr)
      Current()->publish(msg, reinterpret_cast<void*>(static_cast<uintptr_t>(tag)), *this);
    } catch (const mqtt::exception& e) {
      return absl::UnavailableError("publish failed: " + e.get_message());
    }
    return absl::OkStatus();
  }

  absl::Status Subscribe(const std::string& filter, int qos, bool no_local) {
    auto client = Current();
    try {
      auto token = options_.mqtt.v5()
                       ? client->subscribe(filter, qos, mqtt::subscribe_options(no_local))
                       : client->subscribe(filter, qos);
      if (!token->wait_for(std::chrono::seconds(options_.mqtt.connect_timeout_s))) {
        return absl::DeadlineExceededError("subscribe to " + filter + ": no SUBACK in time");
      }
    } catch (const mqtt::exception& e) {
      return absl::UnavailableError("subscribe to " + filter + " failed: " + e.get_message());
    }
    return absl::OkStatus();
  }

  std::function<void(const std::string&)> on_lost;
  std::function<void(uint64_t, Delivery)> on_delivered;
  std::function<void(Message)> on_message;

 private:
  // mqtt::callback
  void connection_lost(const std::string& cause) override {
    if (on_lost) on_lost(cause);
  }
  void message_arrived(mqtt::const_message_ptr msg) override {
    if (!on_message) return;
    Message m{msg->get_topic(), msg->to_string(), msg->get_qos(), msg->is_retained(), {}, {}};
    const auto& props = msg->get_properties();
    if (props.contains(mqtt::property::CONTENT_TYPE)) {
      m.content_type = mqtt::get<std::string>(props, mqtt::property::CONTENT_TYPE);
    }
    const size_t n = props.count(mqtt::property::USER_PROPERTY);
    for (size_t i = 0; i < n; ++i) {
      auto [key, value] = mqtt::get<mqtt::string_pair>(props, mqtt::property::USER_PROPERTY, i);
      m.user_properties.emplace_back(std::move(key), std::move(value));
    }
    on_message(std::move(m));
  }
  // mqtt::iaction_listener, for publishes: the user context carries the tag.
  void on_success(const mqtt::token& tok) override { Delivered(tok, true); }
  void on_failure(const mqtt::token& tok) override { Delivered(tok, false); }
  void Delivered(const mqtt::token& tok, bool ok) {
    if (!on_delivered) return;
    Delivery delivery{ok, 0};
    // paho's on_failure5 carries the PUBACK reason code; on 3.1.1 it holds
    // MQTTPP_V3_CODE (255), and a lost connection leaves it 0.
    const int reason = static_cast<int>(tok.get_reason_code());
    if (!ok && options_.mqtt.v5() && reason >= 0x80 && reason < 0xff) delivery.reason_code = reason;
    on_delivered(static_cast<uint64_t>(reinterpret_cast<uintptr_t>(tok.get_user_context())),
                 delivery);
  }

  std::shared_ptr<mqtt::async_client> NewClient() {
    // The first URI names the client; connect options list them all for failover.
    auto client = std::make_shared<mqtt::async_client>(
        options_.mqtt.brokers.front(), options_.client_id,
        // paho refuses publishes once this many wait in its send queue: room
        // for our whole in-flight window plus the status messages.
        mqtt::create_options(options_.mqtt.v5() ? MQTTVERSION_5 : MQTTVERSION_3_1_1,
                             options_.mqtt.max_inflight * 2 + 16),
        nullptr /* our outbox is the persistence */);
    client->set_callback(*this);
    return client;
  }
  std::shared_ptr<mqtt::async_client> Current() const {
    std::lock_guard lock(client_mu_);
    return client_;
  }
  void Replace() {
    auto fresh = NewClient();
    std::lock_guard lock(client_mu_);
    client_ = std::move(fresh);
  }

  // TlsHandshakeError's verdict, found once per outage: the first connect
  // that fails after one succeeded (or since start) probes the brokers, the
  // attempts after it repeat that verdict until a connect succeeds again. A
  // probe takes up to 2 s per broker, and the publisher retries every 200 ms
  // to 5 s while a broker is down: probing each time would stretch every
  // attempt of a long outage by that much.
  std::string TlsFailureThisOutage() {
    std::lock_guard lock(probe_mu_);
    if (!probed_) probed_ = TlsHandshakeError();
    return *probed_;
  }
  void ForgetTlsProbe() {
    std::lock_guard lock(probe_mu_);
    probed_.reset();
  }

  // OpenSSL's reason a TLS broker refused us ("certificate verify failed
  // (...)"), which paho does not report: each broker is asked once more with
  // the same files, and the first failing handshake says why. "" if none.
  // At most 2 s per broker.
  std::string TlsHandshakeError() const {
    const auto& m = options_.mqtt;
    if (!m.tls()) return "";
    const auto timeout = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(m.connect_timeout_s), std::chrono::seconds(2));
    const tls_client::Files files{m.ca_file, m.cert_file, m.key_file, m.key_password};
    for (const auto& uri : m.brokers) {
      try {
        const auto broker = settings::BrokerAddress(uri).address;
        auto error = tls_client::HandshakeError(broker.host, broker.port, files, timeout);
        if (!error.empty()) return error;
      } catch (const std::exception&) {
        // Checked at start-up; nothing to add here.
      }
    }
    return "";
  }

  // The broker's certificate is always verified, chain and host name: a
  // broker that cannot prove who it is gets neither our password nor data.
  mqtt::ssl_options TlsOptions() {
    const auto& m = options_.mqtt;
    // No error_handler: paho-mqtt-cpp 1.2 hands paho C a pointer to the copy of
    // these options inside connect()'s by-value argument, which is gone when
    // the handshake runs (ASan: stack-use-after-scope); TlsHandshakeError
    // finds OpenSSL's reason instead.
    auto ssl = mqtt::ssl_options_builder().enable_server_cert_auth(true).verify(true).finalize();
    if (!m.ca_file.empty()) ssl.set_trust_store(m.ca_file);
    if (!m.cert_file.empty()) ssl.set_key_store(m.cert_file);
    if (!m.key_file.empty()) ssl.set_private_key(m.key_file);
    if (!m.key_password.empty()) ssl.set_private_key_password(m.key_password);
    return ssl;
  }

  Options options_;
  std::atomic<uint64_t> max_packet_bytes_{0};  // the broker's Maximum Packet Size; 0: none
  mutable std::mutex client_mu_;  // guards the pointer only; paho's client is thread-safe
  std::shared_ptr<mqtt::async_client> client_;
  std::mutex probe_mu_;
  std::optional<std::string> probed_;  // TlsHandshakeError since the last successful connect
};

Client::Client(Options options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;
absl::Status Client::Connect() { return impl_->Connect(); }
bool Client::IsConnected() const { return impl_->IsConnected(); }
void Client::Close(std::chrono::milliseconds timeout) { impl_->Close(timeout); }
void Client::OnConnectionLost(std::function<void(const std::string&)> h) {
  impl_->on_lost = std::move(h);
}
void Client::OnDelivered(std::function<void(uint64_t, bool)> h) {
  impl_->on_delivered = [h = std::move(h)](uint64_t tag, Delivery d) { h(tag, d.ok); };
}
void Client::OnDelivery(std::function<void(uint64_t, Delivery)> h) {
  impl_->on_delivered = std::move(h);
}
absl::Status Client::Publish(const Message& message, uint64_t tag) {
  return impl_->Publish(message, tag);
}
void Client::OnMessage(std::function<void(Message)> h) { impl_->on_message = std::move(h); }
absl::Status Client::Subscribe(const std::string& filter, int qos, bool no_local) {
  return impl_->Subscribe(filter, qos, no_local);
}

}  // namespace phonebus::mqtt_client
