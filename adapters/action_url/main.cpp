// phonebus-adapter: receives Action URLs from Yealink, SNOM and softphones and
// publishes them as protobuf PhoneEvents on MQTT. See README.md.
#include <sys/resource.h>

#include <csignal>
#include <iostream>

#include "adapter.h"
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
    int sig = 0;
    sigwait(&signals, &sig);
    log::Info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    adapter.Shutdown();
  } catch (const std::exception& e) {
    log::Error("cannot start", {{"error", e.what()}});
    return 1;
  }
  return 0;
}
