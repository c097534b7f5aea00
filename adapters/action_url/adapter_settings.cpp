#include "adapter_settings.h"

#include "url_secret.h"

namespace phonebus::adapter {

using settings::Add;

void AddSettings(CLI::App& app, AdapterSettings& s) {
  settings::AddConfigFile(app);
  Add(app, "--listen", s.listen, "Address for Action URLs, health and metrics (host:port)");
  Add(app, "--site", s.site, "Site name, the second level of every topic");
  Add(app, "--instance", s.instance, "This adapter's name in its status topic and MQTT client id");
  Add(app, "--threads", s.threads, "HTTP worker threads")->check(CLI::Range(1, 64));
  settings::AddMqtt(app, s.mqtt);
  Add(app, "--outbox-dir", s.outbox_dir, "Directory of the durable outbox");
  Add(app, "--durability", s.durability,
      "os: accepted events survive a process crash; fsync: they also survive power loss")
      ->check(CLI::IsMember({"os", "fsync"}));
  Add(app, "--outbox-max-mb", s.outbox_max_mb,
      "Bound on unpublished events on disk; when full, phones get 503")
      ->check(CLI::Range(1, 1 << 20));
  Add(app, "--drain-timeout", s.drain_timeout_s,
      "Seconds SIGTERM waits for in-flight requests and the outbox to drain")
      ->check(CLI::Range(0, 3600));
  Add(app, "--shutdown-grace-ms", s.shutdown_grace_ms,
      "After SIGTERM, how long /readyz says 503 before the listener closes (load balancers)")
      ->check(CLI::Range(0, 600000));
  Add(app, "--max-url-bytes", s.max_url_bytes, "Longest request URL; longer: 414")
      ->check(CLI::Range(64, 1 << 20));
  Add(app, "--max-header-bytes", s.max_header_bytes, "Largest request header block; larger: 431")
      ->check(CLI::Range(256, 1 << 20));
  Add(app, "--request-timeout-ms", s.request_timeout_ms,
      "Time to deliver a whole request once started; slower: 408")
      ->check(CLI::Range(10, 600000));
  Add(app, "--idle-timeout-ms", s.idle_timeout_ms, "Keep-alive idle time before closing")
      ->check(CLI::Range(10, 3600000));
  Add(app, "--max-connections", s.max_connections,
      "Open connections; at it a new one closes the oldest idle one, or gets 503")
      ->check(CLI::Range(1, 1000000));
  Add(app, "--max-connections-per-source", s.max_connections_per_source,
      "Open connections from one IP address; more get 503 (0: no limit)")
      ->check(CLI::Range(0, 1000000));
  settings::AddSecret(app, "--url-secret", s.url_secret,
                      "Secret every Action URL carries as its first path segment "
                      "(prefer --url-secret-file)");
  Add(app, "--url-secret-file", s.url_secret_file,
      "File holding the URL secret; one per line, each accepted (rotation)");
  app.add_flag("--insecure-no-url-secret", s.insecure_no_url_secret,
               "Accept Action URLs without a secret (anyone who can reach the adapter can "
               "publish events)")
      ->envname(settings::EnvName("--insecure-no-url-secret"));
  Add(app, "--allow-source", s.allow_sources,
      "Addresses (CIDR) Action URLs are accepted from; repeat or comma-separate; "
      "0.0.0.0/0,::/0 for any")
      ->delimiter(',');
  Add(app, "--refuse-after-failures", s.refuse_after_failures,
      "Refused Action URLs from one address within --failure-window-s before it is refused "
      "outright")
      ->check(CLI::Range(1, 1000000));
  Add(app, "--failure-window-s", s.failure_window_s, "Window for --refuse-after-failures")
      ->check(CLI::Range(1, 86400));
  Add(app, "--refuse-for-s", s.refuse_for_s,
      "How long an address that kept failing is refused (429)")
      ->check(CLI::Range(1, 86400));
  Add(app, "--repeat-window-ms", s.repeat_window_ms,
      "A phone's Action URL repeated byte for byte right after itself within this is the same "
      "event fired twice: answered with the first event id, not published again (0: off)")
      ->check(CLI::Range(0, 60000));
  Add(app, "--tls-listen", s.tls_listen,
      "Address for HTTPS Action URLs, health and metrics (host:port); none if empty");
  Add(app, "--tls-cert-file", s.tls_cert_file,
      "PEM certificate chain for --tls-listen; re-read when it changes");
  Add(app, "--tls-key-file", s.tls_key_file,
      "PEM private key for --tls-listen; re-read when it changes");
  Add(app, "--tls-reload-ms", s.tls_reload_ms,
      "How often the certificate and key files are checked for changes")
      ->check(CLI::Range(50, 3600000));
  auto& p = s.softphone;
  for (auto& [flag, field] : std::initializer_list<std::pair<const char*, std::string*>>{
           {"--softphone-param-action", &p.action},
           {"--softphone-param-call-direction", &p.call_direction},
           {"--softphone-param-local-party", &p.local_party},
           {"--softphone-param-local-alias", &p.local_alias},
           {"--softphone-param-remote-party", &p.remote_party},
           {"--softphone-param-remote-alias", &p.remote_alias},
           {"--softphone-param-hold-state", &p.hold_state},
           {"--softphone-param-call-duration", &p.call_duration},
           {"--softphone-param-created-time", &p.created_time},
           {"--softphone-param-connected-time", &p.connected_time},
           {"--softphone-param-disconnected-time", &p.disconnected_time},
           {"--softphone-param-call-guid", &p.call_guid},
           {"--softphone-param-device", &p.device}}) {
    Add(app, flag, *field, "Softphone query parameter name for this value");
  }
  settings::AddLogLevel(app, s.log_level);
}

void FinishSecurity(AdapterSettings& s) {
  if (!s.url_secret.empty() && !s.url_secret_file.empty()) {
    throw CLI::ValidationError("--url-secret", "give --url-secret or --url-secret-file, not both");
  }
  if (!s.url_secret_file.empty()) {
    auto secrets =
        ParseUrlSecrets(settings::ReadSecretFile("--url-secret-file", s.url_secret_file));
    if (!secrets.ok()) {
      throw CLI::ValidationError("--url-secret-file", "'" + s.url_secret_file + "': " +
                                                          std::string(secrets.status().message()));
    }
    s.url_secrets = std::move(*secrets);
  } else if (!s.url_secret.empty()) {
    if (auto st = CheckUrlSecret(s.url_secret); !st.ok()) {
      throw CLI::ValidationError("--url-secret", std::string(st.message()));
    }
    s.url_secrets = {s.url_secret};
  }
  if (s.url_secrets.empty() && !s.insecure_no_url_secret) {
    throw CLI::ValidationError(
        "--url-secret-file",
        "Action URLs need a secret: give --url-secret-file (or PHONEBUS_URL_SECRET), or "
        "--insecure-no-url-secret to accept them from anyone who can reach the adapter");
  }
  if (!s.url_secrets.empty() && s.insecure_no_url_secret) {
    throw CLI::ValidationError("--insecure-no-url-secret", "contradicts the URL secret given");
  }
  if (auto list = cidr::AllowList::Parse(s.allow_sources); !list.ok()) {
    throw CLI::ValidationError("--allow-source", std::string(list.status().message()));
  }
  if (!s.tls_listen.empty()) {
    settings::ParseHostPort("--tls-listen", s.tls_listen);
    if (s.tls_cert_file.empty())
      throw CLI::ValidationError("--tls-cert-file", "needed for --tls-listen");
    if (s.tls_key_file.empty())
      throw CLI::ValidationError("--tls-key-file", "needed for --tls-listen");
  } else if (!s.tls_cert_file.empty() || !s.tls_key_file.empty()) {
    throw CLI::ValidationError("--tls-listen", "needed with --tls-cert-file and --tls-key-file");
  }
}

void Finish(AdapterSettings& s) {
  settings::ParseHostPort("--listen", s.listen);
  settings::Finish(s.mqtt);
  if (s.site.empty() || s.site.find_first_of("+#/") != std::string::npos) {
    throw CLI::ValidationError("--site", "must be non-empty without '+', '#' or '/'");
  }
  if (s.outbox_dir.empty()) throw CLI::ValidationError("--outbox-dir", "must not be empty");
  FinishSecurity(s);
  settings::ApplyLogLevel(s.log_level);
}

http_server::Limits AdapterSettings::Limits() const {
  http_server::Limits l;
  l.max_url_bytes = static_cast<size_t>(max_url_bytes);
  l.max_header_bytes = static_cast<size_t>(max_header_bytes);
  l.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  l.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  l.max_connections = static_cast<size_t>(max_connections);
  l.max_connections_per_source = static_cast<size_t>(max_connections_per_source);
  return l;
}

outbox::Options AdapterSettings::OutboxOptions() const {
  outbox::Options o;
  o.dir = outbox_dir;
  o.max_bytes = static_cast<uint64_t>(outbox_max_mb) << 20;
  o.durability = durability == "fsync" ? outbox::Durability::kFsync : outbox::Durability::kOs;
  return o;
}

}  // namespace phonebus::adapter
