// `phonebus config FAMILY --adapter-url URL`: the Action URL provisioning to
// load into phones of one family.
#include <iostream>
#include <memory>

#include "dialects/snom.h"
#include "dialects/softphone.h"
#include "dialects/yealink.h"
#include "exit_codes.h"
#include "subcommands.h"

namespace phonebus::cli {
namespace {

struct Config {
  std::string family;
  std::string adapter_url;
  std::string device;
};

int Run(const Config& c) {
  using namespace adapter;
  if (c.adapter_url.rfind("http://", 0) != 0 && c.adapter_url.rfind("https://", 0) != 0) {
    return ReportUsage("config", "--adapter-url must start with http:// or https://");
  }
  if (c.family == "yealink") std::cout << yealink::Provisioning(c.adapter_url);
  if (c.family == "snom") std::cout << snom::Provisioning(c.adapter_url);
  if (c.family == "softphone") std::cout << softphone::Provisioning(c.adapter_url, {}, c.device);
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
  sub->footer(
      "Example: phonebus config yealink --adapter-url http://10.0.0.5:8080\n"
      "Exit codes: see phonebus --help.");
  out.push_back({sub, [c] { return Run(*c); }});
}

}  // namespace phonebus::cli
