#include "settings.h"

#include <unistd.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <fstream>
#include <sstream>

#include "log.h"

namespace phonebus::settings {
namespace {

struct BrokerScheme {
  std::string_view prefix;
  bool tls;
  unsigned short default_port;
};
constexpr BrokerScheme kBrokerSchemes[] = {{"tcp://", false, 1883},
                                           {"mqtt://", false, 1883},
                                           {"ssl://", true, 8883},
                                           {"mqtts://", true, 8883}};

// nullptr for a scheme paho does not take (or we do not: ws://, wss://).
const BrokerScheme* SchemeOf(std::string_view uri) {
  for (const auto& scheme : kBrokerSchemes) {
    if (uri.substr(0, scheme.prefix.size()) == scheme.prefix) return &scheme;
  }
  return nullptr;
}

}  // namespace

std::string EnvName(std::string_view flag) {
  while (!flag.empty() && flag.front() == '-') flag.remove_prefix(1);
  std::string out = "PHONEBUS_";
  for (const char c : flag) {
    out.push_back(c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  }
  return out;
}

CLI::Option* AddSecret(CLI::App& app, const std::string& flag, std::string& value,
                       const std::string& help) {
  return app.add_option(flag, value, help)->envname(EnvName(flag));
}

void AddConfigFile(CLI::App& app) {
  app.set_config("--config", "", "Settings file (TOML or INI; keys are the flag names)")
      ->envname("PHONEBUS_CONFIG");
}

void AddLogLevel(CLI::App& app, std::string& level) {
  Add(app, "--log-level", level, "Least severe log level written: debug, info, warn, error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

void ApplyLogLevel(const std::string& level) {
  log::Level parsed;
  if (!log::ParseLevel(level, &parsed)) {
    throw CLI::ValidationError("--log-level", "unknown level '" + level + "'");
  }
  log::SetLevel(parsed);
}

HostPort ParseHostPort(const std::string& setting, const std::string& value) {
  HostPort out;
  std::string port;
  if (!value.empty() && value.front() == '[') {
    const auto close = value.find(']');
    if (close == std::string::npos || close + 1 >= value.size() || value[close + 1] != ':') {
      throw CLI::ValidationError(setting, "expected [ipv6]:port, got '" + value + "'");
    }
    out.host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    const auto colon = value.rfind(':');
    if (colon == std::string::npos) {
      throw CLI::ValidationError(setting, "expected host:port, got '" + value + "'");
    }
    out.host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  try {
    size_t used = 0;
    const int p = std::stoi(port, &used);
    if (used != port.size() || p < 0 || p > 65535) throw std::out_of_range("port");
    out.port = static_cast<unsigned short>(p);
  } catch (const std::exception&) {
    throw CLI::ValidationError(setting, "port must be 0-65535, got '" + port + "'");
  }
  return out;
}

Broker BrokerAddress(const std::string& uri) {
  const BrokerScheme* scheme = SchemeOf(uri);
  if (scheme == nullptr) {
    throw CLI::ValidationError("--mqtt-broker",
                               "'" + uri + "' must start with tcp://, ssl://, mqtt:// or mqtts://");
  }
  std::string authority = uri.substr(scheme->prefix.size());
  const bool has_port = !authority.empty() && authority.front() == '['
                            ? authority.find("]:") != std::string::npos
                            : authority.find(':') != std::string::npos;
  if (!has_port) authority += ":" + std::to_string(scheme->default_port);
  Broker broker{scheme->tls, ParseHostPort("--mqtt-broker", authority)};
  if (broker.address.host.empty() || broker.address.port == 0) {
    throw CLI::ValidationError("--mqtt-broker",
                               "'" + uri + "' must name a host and a port other than 0");
  }
  return broker;
}

bool IsLoopback(const std::string& host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const auto address = boost::asio::ip::make_address(host, ec);
  return !ec && address.is_loopback();
}

std::string ReadSecretFile(const std::string& setting, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw CLI::ValidationError(setting, "cannot read file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

void AddMqtt(CLI::App& app, Mqtt& mqtt) {
  Add(app, "--mqtt-broker", mqtt.brokers,
      "MQTT broker URI (tcp://host:port, ssl://host:port); repeat or comma-separate for "
      "failover")
      ->delimiter(',');
  Add(app, "--mqtt-username", mqtt.username, "MQTT user name");
  AddSecret(app, "--mqtt-password", mqtt.password, "MQTT password (prefer --mqtt-password-file)");
  Add(app, "--mqtt-password-file", mqtt.password_file, "File holding the MQTT password");
  Add(app, "--mqtt-ca-file", mqtt.ca_file,
      "CA certificates (PEM) the broker's certificate must chain to, for ssl:// and mqtts:// "
      "(default: the system store); the host name is always checked");
  Add(app, "--mqtt-cert-file", mqtt.cert_file,
      "Client certificate (PEM) for brokers that require one (with --mqtt-key-file)");
  Add(app, "--mqtt-key-file", mqtt.key_file, "Private key (PEM) of --mqtt-cert-file");
  Add(app, "--mqtt-key-password-file", mqtt.key_password_file,
      "File holding the password of an encrypted --mqtt-key-file");
  Add(app, "--mqtt-version", mqtt.version, "MQTT protocol version: 5 or 3.1.1")
      ->check(CLI::IsMember({"5", "3.1.1"}));
  Add(app, "--payload-format", mqtt.payload_format,
      "Payload encoding: protobuf (binary) or json (protobuf JSON mapping)")
      ->check(CLI::IsMember({"protobuf", "json"}));
  Add(app, "--mqtt-keepalive", mqtt.keepalive_s, "MQTT keep-alive in seconds")
      ->check(CLI::Range(2, 3600));
  Add(app, "--mqtt-connect-timeout", mqtt.connect_timeout_s,
      "Seconds to wait for a broker to accept a connection")
      ->check(CLI::Range(1, 120));
  Add(app, "--mqtt-max-inflight", mqtt.max_inflight, "Most QoS 1 messages awaiting PUBACK at once")
      ->check(CLI::Range(1, 65535));
}

void Finish(Mqtt& mqtt) {
  if (mqtt.brokers.empty()) throw CLI::ValidationError("--mqtt-broker", "at least one is needed");
  // A failover list mixing TLS and plain TCP would let whoever blocks the TLS
  // broker push the connection (and the password) onto plain TCP.
  const bool tls = mqtt.tls();
  for (const auto& uri : mqtt.brokers) {
    if (BrokerAddress(uri).tls != tls) {  // BrokerAddress refuses a malformed URI first
      throw CLI::ValidationError(
          "--mqtt-broker",
          "every broker must use TLS (ssl://, mqtts://) or none; '" + uri + "' differs");
    }
  }
  if (!mqtt.password_file.empty()) {
    mqtt.password = ReadSecretFile("--mqtt-password-file", mqtt.password_file);
  }
  const std::pair<const char*, const std::string*> tls_files[] = {
      {"--mqtt-ca-file", &mqtt.ca_file},
      {"--mqtt-cert-file", &mqtt.cert_file},
      {"--mqtt-key-file", &mqtt.key_file},
      {"--mqtt-key-password-file", &mqtt.key_password_file}};
  for (const auto& [setting, path] : tls_files) {
    if (path->empty()) continue;
    // Silently ignoring a TLS setting would leave an operator believing the
    // link is protected when it is plain TCP.
    if (!mqtt.tls()) {
      throw CLI::ValidationError(setting,
                                 "given, but no --mqtt-broker uses ssl:// or mqtts:// (TLS)");
    }
    if (!std::ifstream(*path)) throw CLI::ValidationError(setting, "cannot read '" + *path + "'");
  }
  if (mqtt.cert_file.empty() != mqtt.key_file.empty()) {
    throw CLI::ValidationError(mqtt.cert_file.empty() ? "--mqtt-cert-file" : "--mqtt-key-file",
                               "--mqtt-cert-file and --mqtt-key-file go together");
  }
  if (!mqtt.key_password_file.empty()) {
    mqtt.key_password = ReadSecretFile("--mqtt-key-password-file", mqtt.key_password_file);
  }
}

bool Mqtt::tls() const {
  return std::any_of(brokers.begin(), brokers.end(), [](const std::string& uri) {
    const BrokerScheme* scheme = SchemeOf(uri);
    return scheme != nullptr && scheme->tls;
  });
}

std::string DefaultInstance() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "local";
  return host;
}

}  // namespace phonebus::settings
