// Settings plumbing shared by every binary: each setting is a flag, a
// PHONEBUS_* environment variable derived from the flag name, and a key in the
// optional --config file (TOML/INI, keys are the flag names). CLI11 lists them
// all with --help. Values are checked once at start-up, with the setting named.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <string>
#include <vector>

namespace phonebus::settings {

// "--mqtt-broker" -> "PHONEBUS_MQTT_BROKER".
std::string EnvName(std::string_view flag);

// Adds a setting: flag + derived environment variable, default shown in --help.
template <typename T>
CLI::Option* Add(CLI::App& app, const std::string& flag, T& value, const std::string& help) {
  return app.add_option(flag, value, help)->envname(EnvName(flag))->capture_default_str();
}

// An on/off setting ("--x", PHONEBUS_X=true, "x = true" in the config file).
inline CLI::Option* AddFlag(CLI::App& app, const std::string& flag, bool& value,
                            const std::string& help) {
  return app.add_flag(flag, value, help)->envname(EnvName(flag));
}

// Whether `host` (a name or an IP literal) can only be reached from this
// machine: "localhost", 127.0.0.0/8, ::1.
bool IsLoopback(const std::string& host);

// A secret: like Add, but its value is never shown (not even as a default).
CLI::Option* AddSecret(CLI::App& app, const std::string& flag, std::string& value,
                       const std::string& help);

// Adds --config (and PHONEBUS_CONFIG) naming the settings file.
void AddConfigFile(CLI::App& app);

// Adds --log-level; applied by ApplyLogLevel after parsing.
void AddLogLevel(CLI::App& app, std::string& level);
void ApplyLogLevel(const std::string& level);  // throws CLI::ValidationError

// Parses "host:port" or "[v6]:port"; throws CLI::ValidationError naming `setting`.
struct HostPort {
  std::string host;
  unsigned short port = 0;
};
HostPort ParseHostPort(const std::string& setting, const std::string& value);

// A broker URI as paho reads it: tcp:// or mqtt:// (plain TCP), ssl:// or
// mqtts:// (TLS), then host:port or [v6]:port; without a port, paho's default
// (1883, with TLS 8883).
struct Broker {
  bool tls = false;
  HostPort address;
};
// Throws CLI::ValidationError naming --mqtt-broker.
Broker BrokerAddress(const std::string& uri);

// Reads a secret from a file (trailing newline trimmed); throws naming `setting`.
std::string ReadSecretFile(const std::string& setting, const std::string& path);

// The MQTT connection every service makes.
struct Mqtt {
  std::vector<std::string> brokers{"tcp://127.0.0.1:1883"};  // tried in turn on failover
  std::string username;
  std::string password;
  std::string password_file;
  // TLS for ssl:// and mqtts:// brokers. The broker's certificate is always
  // verified (chain and host name): against ca_file, or the system store.
  std::string ca_file;
  std::string cert_file;  // client certificate (PEM), for brokers that require one
  std::string key_file;   // its private key (PEM)
  std::string key_password_file;
  std::string key_password;                 // read from key_password_file by Finish
  std::string version = "5";                // "5" or "3.1.1"
  std::string payload_format = "protobuf";  // or "json"
  int keepalive_s = 10;
  int connect_timeout_s = 5;
  int max_inflight = 256;

  bool v5() const { return version == "5"; }
  // Whether any broker URI asks for TLS.
  bool tls() const;
  bool json() const { return payload_format == "json"; }
};
void AddMqtt(CLI::App& app, Mqtt& mqtt);
// Validates, checks the TLS files are readable and reads the secret files;
// throws CLI::ValidationError.
void Finish(Mqtt& mqtt);

// This process's name in topics and the MQTT client id; defaults to the host name.
std::string DefaultInstance();

}  // namespace phonebus::settings
