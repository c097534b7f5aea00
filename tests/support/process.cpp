#include "process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace phonebus::testing {

Process::Process(const std::string& binary, const std::vector<std::string>& args,
                 const std::vector<std::string>& env) {
  int out[2];
  int err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  Spawn(binary, args, env, out[1], err[1]);
  close(out[1]);
  close(err[1]);
  out_fd_ = out[0];
  err_fd_ = err[0];
}

Process::Process(const LogFile& log, const std::string& binary,
                 const std::vector<std::string>& args, const std::vector<std::string>& env)
    : log_path_(log.path) {
  const int fd = open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot open " + log_path_);
  Spawn(binary, args, env, fd, fd);
  close(fd);
}

void Process::Spawn(const std::string& binary, const std::vector<std::string>& args,
                    const std::vector<std::string>& env, int out, int err) {
  std::vector<std::string> argv_s{binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "PHONEBUS_", 9) != 0) env_s.emplace_back(*e);
  }
  env_s.insert(env_s.end(), env.begin(), env.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
}

Process::~Process() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (out_fd_ >= 0) close(out_fd_);
  if (err_fd_ >= 0) close(err_fd_);
}

void Process::Pump(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
  if (out_fd_ < 0 && err_fd_ < 0) {
    std::this_thread::sleep_for(timeout);  // nothing to read (a LogFile): callers poll
    return;
  }
  if (poll(fds, 2, static_cast<int>(timeout.count())) <= 0) return;
  auto drain = [](pollfd& p, int& fd, std::string& into) {
    if (fd < 0 || (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) return;
    char buf[4096];
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<size_t>(n));
    } else {
      close(fd);
      fd = -1;
    }
  };
  drain(fds[0], out_fd_, out_);
  drain(fds[1], err_fd_, err_);
}

bool Process::WaitFor(const std::string& text, const std::string& in,
                      std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (in.find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() >= deadline || (out_fd_ < 0 && err_fd_ < 0)) {
      return false;
    }
    Pump(std::chrono::milliseconds(50));
  }
  return true;
}

bool Process::WaitStderr(const std::string& text, std::chrono::milliseconds timeout) {
  return WaitFor(text, err_, timeout);
}

bool Process::WaitStdout(const std::string& text, std::chrono::milliseconds timeout) {
  return WaitFor(text, out_, timeout);
}

int Process::Wait(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (pid_ > 0) {
    Pump(std::chrono::milliseconds(20));
    int status = 0;
    if (out_fd_ < 0 && err_fd_ < 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
      Ended(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      Kill();
      exit_code_ = -1;  // even if it exited meanwhile: something kept its output open
    }
  }
  return exit_code_;
}

void Process::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

bool Process::Running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return true;
  Ended(status);
  return false;
}

std::string Process::Stop(std::chrono::milliseconds timeout) {
  if (!Running()) return "had already ended: " + ended_;
  kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Running()) {
    if (std::chrono::steady_clock::now() > deadline) {
      Kill();
      return "did not stop within " + std::to_string(timeout.count()) + " ms of SIGTERM";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return ended_ == "exit 0" ? "" : ended_;
}

void Process::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  Ended(status);
}

void Process::Ended(int status) {
  pid_ = -1;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (WIFEXITED(status)) {
    ended_ = "exit " + std::to_string(WEXITSTATUS(status));
  } else if (WIFSIGNALED(status)) {
    ended_ = std::string("signal ") + strsignal(WTERMSIG(status));
  } else {
    ended_ = "status " + std::to_string(status);
  }
}

std::string Process::Log() const {
  if (log_path_.empty()) return "";
  std::ifstream in(log_path_);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool Process::WaitLog(const std::string& text, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (Log().find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline || !Running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

ProcessResult RunProcess(const std::string& binary, const std::vector<std::string>& args,
                         const std::vector<std::string>& env) {
  Process cli(binary, args, env);
  const int code = cli.Wait(std::chrono::seconds(20));
  return {code, cli.out(), cli.err()};
}

}  // namespace phonebus::testing
