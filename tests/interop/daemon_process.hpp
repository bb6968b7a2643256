// Helpers of the interop tests: a temporary directory, the real `corobd`
// binary as a child process, and shell commands run with a time limit.
//
// - DaemonProcess starts COROBD_BINARY (a compile definition) with the given
//   arguments, stderr and stdout to a log file in the test's directory. The
//   child gets PR_SET_PDEATHSIG(SIGKILL), so it never outlives the test
//   process; the destructor kills (SIGKILL) and reaps it if it still runs.
// - wait_ready() waits until the socket accepts connections or the process
//   exits; stop(sig) sends a signal and reaps with a time limit.
// - run() executes a shell command under `timeout` (stdout+stderr
//   captured), so a hung client fails the test instead of hanging ctest.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace interop {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/corobd-interop-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct Output {
  int status = -1;
  std::string output;
};

// Single-quotes s for sh (embedded quotes become '\'').
inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

// Runs a shell command with a time limit; stdout and stderr together.
inline Output run(const std::string& cmd, int seconds = 120) {
  Output r;
  std::string full = "timeout -k 5 " + std::to_string(seconds) + " sh -c " + quote(cmd) + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

inline bool have(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool can_connect(const std::string& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

class DaemonProcess {
 public:
  // `env`: NAME=VALUE entries added to the child's environment; `program`
  // replaces COROBD_BINARY as argv[0] (e.g. systemd-socket-activate, looked
  // up in PATH) when not empty.
  DaemonProcess(std::vector<std::string> args, std::string log_path,
                std::vector<std::string> env = {}, std::string program = {})
      : log_path_(std::move(log_path)) {
    args.insert(args.begin(), program.empty() ? std::string(COROBD_BINARY) : program);
    pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      for (auto& e : env) ::putenv(e.data());
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess() {
    if (running()) {
      ::kill(pid_, SIGKILL);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !exited_; }
  std::string log() const { return read_file(log_path_); }

  // True when socket_path accepts connections; false if the daemon exited
  // (its status is then in exit_status()) or 10 s passed.
  bool wait_ready(const std::string& socket_path) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      if (poll_exit()) return false;
      if (can_connect(socket_path)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  // Waits up to `limit` for the process to exit; true when it did.
  bool wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!poll_exit()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
  }

  void signal(int sig) {
    if (running()) ::kill(pid_, sig);
  }

  // Exit status (-1 until exited, or when killed by a signal: 128 + sig).
  int exit_status() const { return status_; }

 private:
  bool poll_exit() {
    if (exited_) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      exited_ = true;
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return exited_;
  }

  std::string log_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

// Runs corobd to completion (for arguments it must refuse); returns status
// and output.
inline Output run_corobd(const std::vector<std::string>& args, int seconds = 20) {
  std::string cmd = COROBD_BINARY;
  for (const auto& a : args) {
    cmd += ' ';
    cmd += quote(a);
  }
  return run(cmd, seconds);
}

}  // namespace interop
