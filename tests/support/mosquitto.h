// A real mosquitto broker for a test: started on a free loopback port with
// its own config and persistence directory, stopped by PID (never by name).
#pragma once

#include <sys/types.h>

#include <string>

namespace phonebus::testing {

class Mosquitto {
 public:
  // Starts the broker and waits until it accepts connections.
  Mosquitto();
  ~Mosquitto();

  std::string uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  unsigned short port() const { return port_; }

  // SIGTERM (the broker saves its persistence) and wait for exit.
  void Stop();
  // Start again on the same port with the same persistence.
  void Start();
  bool running() const { return pid_ > 0; }
  // Signals the broker by its PID (fault tests freeze it with SIGSTOP and resume it with
  // SIGCONT); nothing when it is stopped.
  void Signal(int sig);

 private:
  void WaitReady();
  std::string dir_;
  unsigned short port_;
  pid_t pid_ = -1;
};

}  // namespace phonebus::testing
