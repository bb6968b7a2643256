// ServerProcess: an NBD server program (qemu-nbd, nbdkit) run as a child
// of the test, listening on a UNIX socket.
//
// - The constructor forks and execs argv (stdout and stderr go to a log
//   file), then waits until the socket accepts connections (up to 20 s) or
//   the child exits; ready() tells which, log() what the server printed.
// - The child gets PR_SET_PDEATHSIG(SIGKILL): it dies with the test even if
//   the test crashes. The destructor kills it (SIGKILL) and reaps it.
// - freeze() stops the server (SIGSTOP) and returns once it has stopped, to
//   hold requests in flight; signal() sends any signal (SIGKILL to make it
//   vanish); kill_and_wait() kills and reaps.
// - available(program) looks the program up in PATH, for GTEST_SKIP.
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

namespace nbd_client_test {

class ServerProcess {
 public:
  ServerProcess(std::vector<std::string> argv, std::string socket_path, std::string log_path)
      : socket_path_(std::move(socket_path)), log_path_(std::move(log_path)) {
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const pid_t parent = ::getpid();
    const int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    pid_ = ::fork();
    if (pid_ == 0) {
      // Child: only async-signal-safe calls from here to exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      if (log_fd >= 0) {
        ::dup2(log_fd, STDOUT_FILENO);
        ::dup2(log_fd, STDERR_FILENO);
      }
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    if (log_fd >= 0) ::close(log_fd);
    if (pid_ < 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;  // exited: not ready
        return;
      }
      if (probe()) {
        ready_ = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  ~ServerProcess() { kill_and_wait(); }

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // SIGSTOP, and waits until every thread of the server has stopped.
  bool freeze() {
    if (pid_ <= 0) return false;
    ::kill(pid_, SIGSTOP);
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, WUNTRACED);
      if (r < 0 && errno == EINTR) continue;
      return r == pid_ && WIFSTOPPED(status);
    }
  }
  void kill_and_wait() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static bool available(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    }
    return false;
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

}  // namespace nbd_client_test
