// phonebus-commander: gRPC PhoneControl in, vendor HTTP commands to phones
// out. See README.md.
#include <csignal>
#include <iostream>

#include "commander.h"
#include "log.h"

int main(int argc, char** argv) {
  using namespace phonebus;
  // Block the stop signals in every thread; the main thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

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
  try {
    command::Commander commander(settings);
    commander.Start();
    int sig = 0;
    sigwait(&signals, &sig);
    log::Info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    commander.Shutdown();
  } catch (const std::exception& e) {
    log::Error("cannot start", {{"error", e.what()}});
    return 1;
  }
  return 0;
}
