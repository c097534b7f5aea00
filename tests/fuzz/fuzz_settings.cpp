// The settings file (--config, TOML/INI, lib/settings + the adapter's settings): read and checked
// exactly as phonebus-adapter's main() does, which turns CLI::ParseError into a clear message and
// exit code. Any other exception would escape main() and abort, so here it is a crash too.
// Input: the file's text ("listen = \"127.0.0.1:8080\"\n[mqtt]\n...").
//
// The commander shares the file format and the common settings (lib/settings); its own settings
// are plain numbers and strings, and linking it would pull gRPC into this build.
#include <CLI/CLI.hpp>
#include <sstream>
#include <string>

#include "adapter_settings.h"
#include "fuzz_support.h"
#include "log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace adapter = phonebus::adapter;
  CLI::App app;
  adapter::AdapterSettings settings;
  adapter::AddSettings(app, settings);
  // No --config inside the file: it would make the fuzzer open arbitrary paths (/dev/zero).
  app.set_config();
  std::istringstream file{std::string(phonebus::fuzz::Text(data, size))};
  try {
    app.parse_from_stream(file);
    // Same reason: a secret file named in the input is the administrator's to choose.
    settings.mqtt.password_file.clear();
    adapter::Finish(settings);
  } catch (const CLI::ParseError&) {
    // Refused with a message naming the setting: what main() prints.
  }
  phonebus::log::SetLevel(phonebus::log::Level::kError);
  return 0;
}
