// Every setting of phonebus-adapter, filled from flags, PHONEBUS_* environment
// variables and the --config file, and checked once at start-up.
#pragma once

#include <string>

#include "dialects/softphone.h"
#include "http_server.h"
#include "outbox.h"
#include "settings.h"

namespace phonebus::adapter {

struct AdapterSettings {
  std::string listen = "127.0.0.1:8080";
  std::string site = "default";
  std::string instance = settings::DefaultInstance();
  int threads = 2;
  settings::Mqtt mqtt;
  std::string outbox_dir = "phonebus-data/outbox";
  std::string durability = "os";
  int outbox_max_mb = 256;
  int drain_timeout_s = 10;
  int shutdown_grace_ms = 0;
  int max_url_bytes = 4096;
  int max_header_bytes = 8192;
  int request_timeout_ms = 10000;
  int idle_timeout_ms = 30000;
  int max_connections = 20000;
  softphone::ParamNames softphone;
  std::string log_level = "info";

  http_server::Limits Limits() const;
  outbox::Options OutboxOptions() const;
};

// Declares every setting on `app`.
void AddSettings(CLI::App& app, AdapterSettings& s);
// Checks cross-field rules after parsing; throws CLI::ValidationError naming the setting.
void Finish(AdapterSettings& s);

}  // namespace phonebus::adapter
