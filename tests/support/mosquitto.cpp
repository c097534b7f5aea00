#include "mosquitto.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "net.h"
#include "ports.h"

namespace phonebus::testing {

Mosquitto::Mosquitto() : Mosquitto(Security{}) {}

Mosquitto::Mosquitto(const Security& security)
    : port_(FreePort()), tls_(!security.cert_file.empty()) {
  char tmpl[] = "/tmp/phonebus-mosquitto-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  std::ofstream conf(dir_ + "/mosquitto.conf");
  conf << "listener " << port_ << " 127.0.0.1\n";
  if (tls_) {
    conf << "cafile " << security.ca_file << "\n"
         << "certfile " << security.cert_file << "\n"
         << "keyfile " << security.key_file << "\n"
         << "require_certificate " << (security.require_certificate ? "true" : "false") << "\n";
  }
  if (security.users.empty()) {
    conf << "allow_anonymous true\n";
  } else {
    const std::string passwords = dir_ + "/passwords";
    bool first = true;
    for (const auto& [user, password] : security.users) {
      const std::string command = std::string("mosquitto_passwd -b ") + (first ? "-c " : "") +
                                  passwords + " '" + user + "' '" + password + "'";
      if (std::system(command.c_str()) != 0) throw std::runtime_error("mosquitto_passwd failed");
      first = false;
    }
    conf << "allow_anonymous false\n"
         << "password_file " << passwords << "\n";
  }
  if (!security.acl.empty()) {
    std::ofstream(dir_ + "/acl") << security.acl;
    conf << "acl_file " << dir_ << "/acl\n";
  }
  // Denied publishes and subscriptions are logged at debug level only.
  if (tls_ || !security.users.empty()) conf << "log_type all\n";
  conf << "persistence true\n"
       << "persistence_location " << dir_ << "/\n"
       << "max_queued_messages 0\n"
       << "max_inflight_messages 0\n"
       << "log_dest file " << dir_ << "/mosquitto.log\n";
  conf << security.extra_config;
  // As root, mosquitto would switch to its own user, who cannot write here.
  if (geteuid() == 0) conf << "user root\n";
  conf.close();
  Start();
}

Mosquitto::~Mosquitto() {
  Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void Mosquitto::Start() {
  if (pid_ > 0) return;
  const std::string conf = dir_ + "/mosquitto.conf";
  pid_ = fork();
  if (pid_ == 0) {
    // If the test process dies (a crash), take the broker with it.
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    execlp("mosquitto", "mosquitto", "-c", conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  if (pid_ < 0) throw std::runtime_error("fork failed");
  WaitReady();
}

void Mosquitto::WaitReady() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("mosquitto exited at start (is it installed?); see " + dir_);
    }
    net::io_context ioc;
    tcp::socket socket(ioc);
    boost::system::error_code ec;
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), ec);
    if (!ec) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  throw std::runtime_error("mosquitto did not start listening on port " + std::to_string(port_));
}

std::string Mosquitto::Log() const {
  std::ifstream in(dir_ + "/mosquitto.log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void Mosquitto::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

void Mosquitto::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  // A broker a fault test froze (SIGSTOP) acts on SIGTERM only once resumed.
  kill(pid_, SIGCONT);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace phonebus::testing
