// Runs one of our binaries as a person or an orchestrator would: its own
// process, stdout and stderr read apart, exit code kept. Stopped by its PID only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace phonebus::testing {

class Process {
 public:
  // Starts `binary` with `args`. The environment is the test's without any
  // PHONEBUS_* variable (hermetic), plus `env` ("NAME=value").
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::vector<std::string>& env = {});
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // Reads until stderr (or stdout) holds `text`; false after `timeout`.
  bool WaitStderr(const std::string& text, std::chrono::milliseconds timeout);
  bool WaitStdout(const std::string& text, std::chrono::milliseconds timeout);
  // Reads everything until the process exits; its exit code, or -1 if it
  // did not exit within `timeout` (it is killed then) or died of a signal.
  int Wait(std::chrono::milliseconds timeout);
  void Signal(int sig);

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  // Reads what is there, waiting at most `timeout` for something.
  void Pump(std::chrono::milliseconds timeout);
  bool WaitFor(const std::string& text, const std::string& in, std::chrono::milliseconds timeout);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  int exit_code_ = -1;
};

struct ProcessResult {
  int exit_code;
  std::string out;
  std::string err;
};

// Runs `binary` to completion (20 s at most).
ProcessResult RunProcess(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& env = {});

}  // namespace phonebus::testing
