// Every setting of phonebus-adapter, filled from flags, PHONEBUS_* environment
// variables and the --config file, and checked once at start-up.
#pragma once

#include <string>
#include <vector>

#include "cidr.h"
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
  int max_connections_per_source = 256;
  // Who may fire Action URLs. /healthz, /readyz and /metrics are open to all
  // (probes and scrapers know no secret).
  std::string url_secret;       // --url-secret / PHONEBUS_URL_SECRET
  std::string url_secret_file;  // one secret per line, all accepted (rotation)
  bool insecure_no_url_secret = false;
  std::vector<std::string> url_secrets;  // resolved by Finish from the two above
  std::vector<std::string> allow_sources = cidr::LocalRanges();
  int refuse_after_failures = 10;
  int failure_window_s = 60;
  int refuse_for_s = 300;
  // The same Action URL again from the same source within this is a repeat (RepeatFilter).
  int repeat_window_ms = 3000;
  // HTTPS: a second listener, so phones without TLS keep using --listen.
  std::string tls_listen;
  std::string tls_cert_file;
  std::string tls_key_file;
  int tls_reload_ms = 5000;
  softphone::ParamNames softphone;
  std::string log_level = "info";

  http_server::Limits Limits() const;
  outbox::Options OutboxOptions() const;
};

// Declares every setting on `app`.
void AddSettings(CLI::App& app, AdapterSettings& s);
// Checks cross-field rules after parsing; throws CLI::ValidationError naming the setting.
void Finish(AdapterSettings& s);
// The part of Finish about who may send: resolves url_secrets, checks the allow-list and TLS.
void FinishSecurity(AdapterSettings& s);

}  // namespace phonebus::adapter
