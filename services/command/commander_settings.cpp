#include "commander_settings.h"

namespace phonebus::command {

using settings::Add;

void AddSettings(CLI::App& app, CommanderSettings& s) {
  settings::AddConfigFile(app);
  Add(app, "--listen", s.listen, "Address of the gRPC PhoneControl service (host:port)");
  Add(app, "--metrics-listen", s.metrics_listen,
      "Address of /metrics, /healthz and /readyz (host:port)");
  Add(app, "--site", s.site, "Site of requests that name none, and of inventory entries");
  Add(app, "--instance", s.instance, "This commander's name in its status topic and results");
  Add(app, "--learn-sites", s.learn_sites,
      "Site whose retained device states teach the registry ('+' for every site)");
  Add(app, "--inventory", s.inventory,
      "JSON file of devices and defaults for learned devices (optional)");
  Add(app, "--command-forms", s.command_forms,
      "JSON rule table choosing each phone's command form (default: the built-in table)");
  Add(app, "--threads", s.threads, "Threads talking to phones")->check(CLI::Range(1, 64));
  Add(app, "--phone-timeout-ms", s.phone_timeout_ms,
      "Longest wait for a phone's answer to one command")
      ->check(CLI::Range(10, 600000));
  Add(app, "--auth-holdoff-s", s.auth_holdoff_s,
      "After a phone refused the credentials, fail commands to it at once for this long "
      "(phones lock their login after repeated failures)")
      ->check(CLI::Range(0, 86400));
  Add(app, "--max-queue-per-phone", s.max_queue_per_phone,
      "Commands waiting for one phone; more are refused with UNAVAILABLE")
      ->check(CLI::Range(1, 100000));
  Add(app, "--ready-timeout-s", s.ready_timeout_s,
      "Longest start-up wait for the bus's retained device states before reporting ready with "
      "what is known (0: ready at once)")
      ->check(CLI::Range(0, 3600));
  Add(app, "--idempotency-window-s", s.idempotency_window_s,
      "How long a request_id is remembered: a repeat gets the first outcome")
      ->check(CLI::Range(1, 7 * 24 * 3600));
  Add(app, "--idempotency-max-entries", s.idempotency_max_entries,
      "Most request_ids remembered within the window; beyond it new requests get UNAVAILABLE")
      ->check(CLI::Range(1000, 100000000));
  Add(app, "--max-number-length", s.max_number_length, "Longest number Dial and Transfer take")
      ->check(CLI::Range(1, 256));
  Add(app, "--phone-networks", s.phone_networks,
      "Networks (CIDR) an address a phone reports itself may be in; a learned device outside "
      "them gets no command, nor phonebus's credentials, until the inventory gives its address. "
      "Repeat or comma-separate; 0.0.0.0/0,::/0 for any")
      ->delimiter(',');
  Add(app, "--ca-file", s.ca_file,
      "CA certificates for phones reached over HTTPS (default: the system store)");
  const std::string security = "gRPC security";
  Add(app, "--tokens-file", s.tokens_file,
      "Clients and their bearer tokens, one per line: NAME SITES SHA256 (SITES: a,b or *; "
      "SHA256: printf %s \"$TOKEN\" | sha256sum)")
      ->group(security);
  settings::AddFlag(app, "--insecure-no-auth", s.insecure_no_auth,
                    "Accept calls without a token, for every site (only with a loopback --listen)")
      ->group(security);
  Add(app, "--tls-cert-file", s.tls_cert_file,
      "Certificate chain (PEM) of the gRPC port; turns TLS on (with --tls-key-file)")
      ->group(security);
  Add(app, "--tls-key-file", s.tls_key_file, "Private key (PEM) of --tls-cert-file")
      ->group(security);
  Add(app, "--tls-client-ca-file", s.tls_client_ca_file,
      "CA certificates (PEM): clients must present a certificate signed by one (mutual TLS)")
      ->group(security);
  settings::AddFlag(app, "--insecure-plaintext", s.insecure_plaintext,
                    "Allow a non-loopback --listen without TLS (tokens then cross the network "
                    "in clear text: only behind a mesh or tunnel that encrypts)")
      ->group(security);
  settings::AddFlag(app, "--no-reflection", s.no_reflection,
                    "Do not serve gRPC server reflection (on by default for grpcurl and other "
                    "tools; it describes the public API, without a token, and acts on nothing)")
      ->group(security);
  settings::AddMqtt(app, s.mqtt);
  settings::AddLogLevel(app, s.log_level);
}

void Finish(CommanderSettings& s) {
  const bool loopback = settings::IsLoopback(settings::ParseHostPort("--listen", s.listen).host);
  if (s.tokens_file.empty() && !s.insecure_no_auth) {
    throw CLI::ValidationError("--tokens-file",
                               "required: clients authenticate with bearer tokens (see --help); "
                               "--insecure-no-auth turns that off for a loopback --listen");
  }
  if (!s.tokens_file.empty() && s.insecure_no_auth) {
    throw CLI::ValidationError("--insecure-no-auth", "contradicts --tokens-file; choose one");
  }
  if (s.insecure_no_auth && !loopback) {
    throw CLI::ValidationError("--insecure-no-auth",
                               "only with a loopback --listen (127.0.0.1, ::1, localhost), "
                               "not " +
                                   s.listen);
  }
  if (s.tls_cert_file.empty() != s.tls_key_file.empty()) {
    throw CLI::ValidationError(s.tls_cert_file.empty() ? "--tls-cert-file" : "--tls-key-file",
                               "--tls-cert-file and --tls-key-file go together");
  }
  if (!s.tls_client_ca_file.empty() && s.tls_cert_file.empty()) {
    throw CLI::ValidationError("--tls-client-ca-file",
                               "needs --tls-cert-file and --tls-key-file (mutual TLS is TLS)");
  }
  if (!loopback && s.tls_cert_file.empty() && !s.insecure_plaintext) {
    throw CLI::ValidationError(
        "--listen", s.listen +
                        " is reachable from other machines: give --tls-cert-file and "
                        "--tls-key-file, or --insecure-plaintext if a mesh or tunnel encrypts");
  }
  settings::ParseHostPort("--metrics-listen", s.metrics_listen);
  if (auto list = cidr::AllowList::Parse(s.phone_networks); !list.ok()) {
    throw CLI::ValidationError("--phone-networks", std::string(list.status().message()));
  }
  settings::Finish(s.mqtt);
  if (s.site.empty() || s.site.find_first_of("+#/") != std::string::npos) {
    throw CLI::ValidationError("--site", "must be non-empty without '+', '#' or '/'");
  }
  if (s.learn_sites.empty() || s.learn_sites.find_first_of("#/") != std::string::npos) {
    throw CLI::ValidationError("--learn-sites", "must be a site name or '+'");
  }
  settings::ApplyLogLevel(s.log_level);
}

}  // namespace phonebus::command
