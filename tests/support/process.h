// Runs one of our binaries as a person or an orchestrator would: its own
// process, stdout and stderr read apart (or both into a log file), exit code
// kept. Stopped by its PID only.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace phonebus::testing {

class Process {
 public:
  // Where stdout and stderr go instead of pipes: both appended to `path`. For
  // a process that logs a lot while the test is busy elsewhere: a pipe nobody
  // reads fills up and blocks the process.
  struct LogFile {
    std::string path;
  };

  // Starts `binary` with `args`. The environment is the test's without any
  // PHONEBUS_* variable (hermetic), plus `env` ("NAME=value").
  Process(const std::string& binary, const std::vector<std::string>& args,
          const std::vector<std::string>& env = {});
  // The same with the output in `log`. (The log comes first: as a third
  // argument, a braced {"NAME=value"} could mean either.)
  Process(const LogFile& log, const std::string& binary, const std::vector<std::string>& args,
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

  // Without reading any output: true while the process runs; once it has
  // ended, ended() says how ("exit 0", "signal Killed").
  bool Running();
  const std::string& ended() const { return ended_; }
  // SIGTERM, then waits; "" when it exited 0, else how it ended (SIGKILL
  // after `timeout`).
  std::string Stop(std::chrono::milliseconds timeout);
  // SIGKILL, now.
  void Kill();
  // -1 once the process has ended.
  pid_t pid() const { return pid_; }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }
  // With a LogFile: what the process has written to it so far.
  std::string Log() const;
  // Until the log holds `text`; false after `timeout` or when the process ended.
  bool WaitLog(const std::string& text, std::chrono::milliseconds timeout);

 private:
  // Reads what is there, waiting at most `timeout` for something.
  void Pump(std::chrono::milliseconds timeout);
  bool WaitFor(const std::string& text, const std::string& in, std::chrono::milliseconds timeout);
  // Forks and execs; the child's stdout and stderr become `out` and `err`.
  void Spawn(const std::string& binary, const std::vector<std::string>& args,
             const std::vector<std::string>& env, int out, int err);
  // The process has ended with `status` (from waitpid).
  void Ended(int status);
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_;
  std::string err_;
  std::string log_path_;
  int exit_code_ = -1;
  std::string ended_;
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
