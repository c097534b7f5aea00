// phonebus: the command-line tool. `phonebus config FAMILY --adapter-url URL`
// prints the Action URL provisioning to load into phones.
#include <CLI/CLI.hpp>
#include <iostream>

#include "dialects/snom.h"
#include "dialects/softphone.h"
#include "dialects/yealink.h"

namespace {

// Exit codes scripts can rely on.
constexpr int kUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  using namespace phonebus::adapter;
  CLI::App app{"phonebus: drive phones and watch calls on the phonebus message bus"};
  app.require_subcommand(1);

  auto* config = app.add_subcommand(
      "config", "Print the Action URL settings to load into phones of one family");
  std::string family;
  std::string adapter_url;
  std::string device;
  config->add_option("family", family, "yealink, snom or softphone")
      ->required()
      ->check(CLI::IsMember({"yealink", "snom", "softphone"}));
  config
      ->add_option("--adapter-url", adapter_url,
                   "Base URL phones reach the adapter at, e.g. http://10.0.0.5:8080")
      ->required()
      ->envname("PHONEBUS_ADAPTER_URL");
  config->add_option("--device", device, "softphone only: the device id to report");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kUsage;
  }
  if (config->parsed()) {
    if (adapter_url.rfind("http://", 0) != 0 && adapter_url.rfind("https://", 0) != 0) {
      std::cerr << "phonebus config: --adapter-url must start with http:// or https://\n";
      return kUsage;
    }
    if (family == "yealink") std::cout << yealink::Provisioning(adapter_url);
    if (family == "snom") std::cout << snom::Provisioning(adapter_url);
    if (family == "softphone") std::cout << softphone::Provisioning(adapter_url, {}, device);
  }
  return 0;
}
