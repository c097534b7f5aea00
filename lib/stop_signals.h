// How the servers stop: SIGTERM and SIGINT are blocked in every thread (so no
// thread is interrupted mid-call) and the main thread waits for them; SIGPIPE
// is ignored, since a peer closing a socket is an error value, not a reason to die.
#pragma once

#include <pthread.h>

#include <csignal>

namespace phonebus {

class StopSignals {
 public:
  // Construct first in main(), before any thread starts: threads inherit the mask.
  StopSignals() {
    sigemptyset(&signals_);
    sigaddset(&signals_, SIGTERM);
    sigaddset(&signals_, SIGINT);
    pthread_sigmask(SIG_BLOCK, &signals_, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
  }

  // Blocks until SIGTERM or SIGINT arrives; returns its name.
  const char* Wait() {
    int sig = 0;
    sigwait(&signals_, &sig);
    return sig == SIGTERM ? "SIGTERM" : "SIGINT";
  }

 private:
  sigset_t signals_;
};

}  // namespace phonebus
