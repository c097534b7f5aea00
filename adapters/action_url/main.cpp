// phonebus-adapter: receives Action URLs from Yealink, SNOM and softphones and
// publishes them as protobuf PhoneEvents on MQTT. See README.md.
#include <sys/resource.h>

#include <iostream>

#include "adapter.h"
#include "log.h"
#include "stop_signals.h"

// What escapes (a bug, or memory running out) is logged and ends the process with 1, not
// std::terminate.
int main(int argc, char** argv) try {
  using namespace phonebus;
  StopSignals stop_signals;
  // Every phone opens a connection per event: allow as many sockets as the
  // hard limit does.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }

  CLI::App app{"phonebus-adapter: phone Action URLs in, protobuf call events on MQTT out"};
  adapter::AdapterSettings settings;
  adapter::AddSettings(app, settings);
  try {
    app.parse(argc, argv);
    adapter::Finish(settings);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::SetService("phonebus-adapter");
  try {
    adapter::Adapter adapter(settings);
    adapter.Start();
    log::Info("stopping", {{"signal", stop_signals.Wait()}});
    adapter.Shutdown();
  } catch (const std::exception& e) {
    log::Error("cannot start", {{"error", e.what()}});
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  phonebus::log::Error("fatal", {{"error", e.what()}});
  return 1;
}
