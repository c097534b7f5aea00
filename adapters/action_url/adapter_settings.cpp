#include "adapter_settings.h"

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
  Add(app, "--max-connections", s.max_connections, "Open connections; more get 503")
      ->check(CLI::Range(1, 1000000));
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

void Finish(AdapterSettings& s) {
  settings::ParseHostPort("--listen", s.listen);
  settings::Finish(s.mqtt);
  if (s.site.empty() || s.site.find_first_of("+#/") != std::string::npos) {
    throw CLI::ValidationError("--site", "must be non-empty without '+', '#' or '/'");
  }
  if (s.outbox_dir.empty()) throw CLI::ValidationError("--outbox-dir", "must not be empty");
  settings::ApplyLogLevel(s.log_level);
}

http_server::Limits AdapterSettings::Limits() const {
  http_server::Limits l;
  l.max_url_bytes = static_cast<size_t>(max_url_bytes);
  l.max_header_bytes = static_cast<size_t>(max_header_bytes);
  l.request_timeout = std::chrono::milliseconds(request_timeout_ms);
  l.idle_timeout = std::chrono::milliseconds(idle_timeout_ms);
  l.max_connections = static_cast<size_t>(max_connections);
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
