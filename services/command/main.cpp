// phonebus-commander: gRPC PhoneControl in, vendor HTTP commands to phones
// out. See README.md.
#include <iostream>

#include "absl/synchronization/mutex.h"
#include "commander.h"
#include "log.h"
#include "stop_signals.h"

// What escapes (a bug, or memory running out) is logged and ends the process with 1, not
// std::terminate.
int main(int argc, char** argv) try {
  using namespace phonebus;
  StopSignals stop_signals;

  CLI::App app{"phonebus-commander: gRPC PhoneControl in, Yealink/SNOM/softphone commands out"};
  command::CommanderSettings settings;
  command::AddSettings(app, settings);
  try {
    app.parse(argc, argv);
    command::Finish(settings);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  log::SetService("phonebus-commander");
  // Debian builds Abseil without NDEBUG, so every absl::Mutex lock (gRPC
  // takes several per call) also updated a process-wide lock-order graph:
  // about 2 % of the commander's CPU under load. A debugging aid, off in
  // production as in release builds of Abseil; tests keep it on.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  try {
    command::Commander commander(settings);
    commander.Start();
    log::Info("stopping", {{"signal", stop_signals.Wait()}});
    commander.Shutdown();
  } catch (const std::exception& e) {
    log::Error("cannot start", {{"error", e.what()}});
    return 1;
  }
  return 0;
} catch (const std::exception& e) {
  phonebus::log::Error("fatal", {{"error", e.what()}});
  return 1;
}
