// Child processes for the corobd-load end-to-end tests: NBD servers
// (nbdkit, qemu-nbd, corobd) and corobd-load itself.
//
// - Server: forks and execs argv with stdout/stderr to a log file, and
//   waits until its UNIX socket accepts connections (up to 20 s) or it
//   exits. The child gets PR_SET_PDEATHSIG(SIGKILL), so it never outlives
//   the test; the destructor kills (SIGKILL) and reaps it. stop() sends
//   SIGTERM and waits: a clean shutdown (qemu-nbd flushes its image).
// - run_program(): runs argv to completion (killed after a timeout) and
//   returns its exit status, stdout and stderr.
// - available(program): whether PATH has it, for GTEST_SKIP.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace loadgen_test {

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline bool available(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// Forks argv with stdout and stderr redirected; returns the pid (or -1).
inline pid_t spawn(std::vector<std::string> argv, const std::string& out_path,
                   const std::string& err_path) {
  std::vector<char*> args;
  for (std::string& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const int err = out_path == err_path ? -1
                                       : ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    if (out >= 0) ::dup2(out, STDOUT_FILENO);
    if (err >= 0) {
      ::dup2(err, STDERR_FILENO);
    } else if (out >= 0) {
      ::dup2(out, STDERR_FILENO);
    }
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  if (out >= 0) ::close(out);
  if (err >= 0) ::close(err);
  return pid;
}

struct ProgramResult {
  int status = -1;  // exit status, or 128 + signal
  std::string out;
  std::string err;
};

inline int wait_status(pid_t pid, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -2;  // timed out
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

inline ProgramResult run_program(const std::vector<std::string>& argv, const std::string& dir,
                                 std::chrono::seconds timeout = std::chrono::seconds(120)) {
  static int counter = 0;
  const std::string base = dir + "/run" + std::to_string(++counter);
  ProgramResult r;
  const pid_t pid = spawn(argv, base + ".out", base + ".err");
  if (pid < 0) return r;
  r.status = wait_status(pid, timeout);
  r.out = read_file(base + ".out");
  r.err = read_file(base + ".err");
  return r;
}

class Server {
 public:
  Server(std::vector<std::string> argv, std::string socket_path, std::string log_path)
      : socket_path_(std::move(socket_path)), log_path_(std::move(log_path)) {
    ::unlink(socket_path_.c_str());
    pid_ = spawn(std::move(argv), log_path_, log_path_);
    if (pid_ < 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      if (probe()) {
        ready_ = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server() { kill(); }

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return read_file(log_path_); }

  // SIGTERM, then wait (up to 30 s) for a clean exit; returns the status.
  int stop() {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    const int status = wait_status(pid_, std::chrono::seconds(30));
    pid_ = -1;
    return status;
  }
  void kill() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }

 private:
  bool probe() const {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path_.c_str());
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
  }

  std::string socket_path_;
  std::string log_path_;
  pid_t pid_ = -1;
  bool ready_ = false;
};

}  // namespace loadgen_test
