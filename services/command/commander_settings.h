// Every setting of phonebus-commander, filled from flags, PHONEBUS_*
// environment variables and the --config file, and checked once at start-up.
#pragma once

#include <string>
#include <vector>

#include "cidr.h"
#include "settings.h"

namespace phonebus::command {

struct CommanderSettings {
  std::string listen = "127.0.0.1:50051";
  std::string metrics_listen = "127.0.0.1:9091";
  std::string site = "default";
  std::string instance = settings::DefaultInstance();
  std::string learn_sites = "+";
  std::string inventory;
  std::string command_forms;
  int threads = 2;
  int phone_timeout_ms = 5000;
  int auth_holdoff_s = 60;
  int max_queue_per_phone = 32;
  int idempotency_window_s = 60;
  // Start-up waits (not ready) at most this long for the retained device
  // states; then serves with what it knows (the inventory at least).
  int ready_timeout_s = 10;
  int idempotency_max_entries = 1000000;
  int max_number_length = 32;
  std::string ca_file;
  // Where an address a phone reports itself may be: commands, and with them
  // credentials, go to a learned address only inside these (cidr.h).
  std::vector<std::string> phone_networks = cidr::LocalRanges();
  // Who may call (auth.h). Required unless insecure_no_auth, which only a
  // loopback --listen allows.
  std::string tokens_file;
  bool insecure_no_auth = false;
  // TLS on the gRPC port; with tls_client_ca_file, clients must present a
  // certificate signed by it (mutual TLS). A non-loopback --listen without
  // TLS needs insecure_plaintext (e.g. behind a mesh that adds mTLS).
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_client_ca_file;
  bool insecure_plaintext = false;
  // Server reflection lets grpcurl and friends discover the API (issue: the
  // schema is public, proto/ is the contract); it acts on nothing, so it needs
  // no token. Off for operators who want the port to say nothing.
  bool no_reflection = false;
  settings::Mqtt mqtt;
  std::string log_level = "info";
};

// Declares every setting on `app`.
void AddSettings(CLI::App& app, CommanderSettings& s);
// Checks cross-field rules after parsing; throws CLI::ValidationError naming the setting.
void Finish(CommanderSettings& s);

}  // namespace phonebus::command
