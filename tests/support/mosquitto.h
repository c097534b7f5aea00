// A real mosquitto broker for a test: started on a free loopback port with
// its own config and persistence directory, stopped by PID (never by name).
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace phonebus::testing {

class Mosquitto {
 public:
  // How the broker checks its clients; the default is anonymous plain TCP.
  // Every member has an initializer: tests name only what they set
  // (designated initializers), and GCC warns about any other without one.
  struct Security {
    // TLS listener (PEM files, e.g. from testing::Pki); uri() is then ssl://.
    std::string ca_file{};
    std::string cert_file{};
    std::string key_file{};
    bool require_certificate = false;  // clients must present one signed by ca_file
    // Non-empty: no anonymous clients; these logins go to a password_file
    // (made with mosquitto_passwd).
    std::vector<std::pair<std::string, std::string>> users{};
    // Content of the acl_file (mosquitto's "user NAME" / "topic read|write|readwrite T").
    std::string acl{};
    // Appended to mosquitto.conf as is (e.g. "max_packet_size 2048\n").
    std::string extra_config{};
  };

  // Starts the broker and waits until it accepts connections.
  Mosquitto();
  explicit Mosquitto(const Security& security);
  ~Mosquitto();

  std::string uri() const {
    return (tls_ ? "ssl://127.0.0.1:" : "tcp://127.0.0.1:") + std::to_string(port_);
  }
  // What the broker logged so far (connections, refusals, denied publishes).
  std::string Log() const;
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
  bool tls_ = false;
  pid_t pid_ = -1;
};

}  // namespace phonebus::testing
