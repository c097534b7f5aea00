// `phonebus config FAMILY --adapter-url URL`: the Action URL provisioning to
// load into phones of one family, each URL carrying the adapter's URL secret
// as its first path segment (the same --url-secret-file / PHONEBUS_URL_SECRET
// the adapter reads).
#include <iostream>
#include <memory>

#include "dialects/snom.h"
#include "dialects/softphone.h"
#include "dialects/values.h"
#include "dialects/yealink.h"
#include "exit_codes.h"
#include "settings.h"
#include "subcommands.h"
#include "url_secret.h"

namespace phonebus::cli {
namespace {

struct Config {
  std::string family;
  std::string adapter_url;
  std::string device;
  std::string url_secret;
  std::string url_secret_file;
  bool insecure_no_url_secret = false;
};

// The first secret of the file (the current one during a rotation), or the
// one given directly; "" when the adapter takes none.
absl::StatusOr<std::string> Secret(const Config& c) {
  if (!c.url_secret.empty() && !c.url_secret_file.empty()) {
    return absl::InvalidArgumentError("give --url-secret or --url-secret-file, not both");
  }
  std::string secret = c.url_secret;
  if (!c.url_secret_file.empty()) {
    std::string text;
    try {
      text = settings::ReadSecretFile("--url-secret-file", c.url_secret_file);
    } catch (const CLI::ValidationError& e) {
      return absl::InvalidArgumentError(e.what());
    }
    auto secrets = ParseUrlSecrets(text);
    if (!secrets.ok()) {
      return absl::InvalidArgumentError("--url-secret-file '" + c.url_secret_file +
                                        "': " + std::string(secrets.status().message()));
    }
    secret = secrets->front();
  } else if (!secret.empty()) {
    if (auto st = CheckUrlSecret(secret); !st.ok()) {
      return absl::InvalidArgumentError("--url-secret: " + std::string(st.message()));
    }
  }
  if (secret.empty() && !c.insecure_no_url_secret) {
    return absl::InvalidArgumentError(
        "the adapter's URL secret is needed: --url-secret-file (or PHONEBUS_URL_SECRET), or "
        "--insecure-no-url-secret for an adapter that takes none");
  }
  if (!secret.empty() && c.insecure_no_url_secret) {
    return absl::InvalidArgumentError("--insecure-no-url-secret contradicts the secret given");
  }
  return secret;
}

int Run(const Config& c) {
  using namespace adapter;
  if (c.adapter_url.rfind("http://", 0) != 0 && c.adapter_url.rfind("https://", 0) != 0) {
    return ReportUsage("config", "--adapter-url must start with http:// or https://");
  }
  const auto secret = Secret(c);
  if (!secret.ok()) return ReportUsage("config", std::string(secret.status().message()));
  // Every Action URL is <adapter>/<secret>/<family path>.
  std::string base(TrimTrailingSlash(c.adapter_url));
  if (!secret->empty()) base += "/" + *secret;
  if (c.family == "yealink") std::cout << yealink::Provisioning(base);
  if (c.family == "snom") std::cout << snom::Provisioning(base);
  if (c.family == "softphone") std::cout << softphone::Provisioning(base, {}, c.device);
  return kExitOk;
}

}  // namespace

void AddConfigCommand(CLI::App& app, Subcommands& out) {
  auto c = std::make_shared<Config>();
  auto* sub = app.add_subcommand("config",
                                 "Print the Action URL settings to load into phones of one family");
  sub->add_option("family", c->family, "yealink, snom or softphone")
      ->required()
      ->check(CLI::IsMember({"yealink", "snom", "softphone"}));
  sub->add_option("--adapter-url", c->adapter_url,
                  "Base URL phones reach the adapter at, e.g. http://10.0.0.5:8080")
      ->required()
      ->envname("PHONEBUS_ADAPTER_URL");
  sub->add_option("--device", c->device, "softphone only: the device id to report");
  settings::AddSecret(*sub, "--url-secret", c->url_secret,
                      "The adapter's URL secret (prefer --url-secret-file)");
  settings::Add(*sub, "--url-secret-file", c->url_secret_file,
                "File holding the adapter's URL secret (its first line is used)");
  sub->add_flag("--insecure-no-url-secret", c->insecure_no_url_secret,
                "The adapter runs with --insecure-no-url-secret: URLs without a secret")
      ->envname(settings::EnvName("--insecure-no-url-secret"));
  sub->footer(
      "Example: phonebus config yealink --adapter-url http://10.0.0.5:8080 "
      "--url-secret-file /etc/phonebus/url-secret\n"
      "Exit codes: see phonebus --help.");
  out.push_back({sub, [c] { return Run(*c); }});
}

}  // namespace phonebus::cli
