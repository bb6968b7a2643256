#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace test_support {
namespace {

int open_output(const std::string& path, bool append) {
  if (path.empty()) return -1;
  const int mode = append ? O_APPEND : O_TRUNC;
  return ::open(path.c_str(), O_WRONLY | O_CREAT | mode | O_CLOEXEC, 0644);
}

// The test's environment with `extra` (NAME=VALUE) added or replacing.
std::vector<std::string> child_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const std::size_t eq = entry.find('=');
    const std::string name = entry.substr(0, eq == std::string::npos ? eq : eq + 1);  // "NAME="
    bool replaced = false;
    for (const std::string& x : extra) replaced = replaced || x.rfind(name, 0) == 0;
    if (!replaced) env.push_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> p;
  for (std::string& s : strings) p.push_back(s.data());
  p.push_back(nullptr);
  return p;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, Options options)
    : output_path_(options.output_path) {
  // Everything that allocates happens before fork(): the child makes only
  // async-signal-safe calls until exec.
  std::vector<std::string> env = child_environment(options.env);
  std::vector<char*> args = pointers(argv);
  std::vector<char*> envp = pointers(env);
  const int out = open_output(options.output_path, options.append);
  const int err = open_output(options.error_path, options.append);
  const pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    if (options.null_stdin) {
      const int null_fd = ::open("/dev/null", O_RDONLY);
      if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    }
    if (out >= 0) ::dup2(out, STDOUT_FILENO);
    if (err >= 0) {
      ::dup2(err, STDERR_FILENO);
    } else if (out >= 0) {
      ::dup2(out, STDERR_FILENO);
    }
    ::execvpe(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  if (out >= 0) ::close(out);
  if (err >= 0) ::close(err);
}

std::string ChildProcess::output() const { return read_file(output_path_); }

void ChildProcess::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

bool ChildProcess::freeze() {
  if (!running()) return false;
  ::kill(pid_, SIGSTOP);
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(pid_, &status, WUNTRACED);
    if (r < 0 && errno == EINTR) continue;
    return r == pid_ && WIFSTOPPED(status);
  }
}

void ChildProcess::kill() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, 0)) < 0 && errno == EINTR) {
  }
  exited_ = true;
  if (r == pid_) status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool ChildProcess::poll_exit() {
  if (!running()) return exited_;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exited_ = true;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return exited_;
}

bool ChildProcess::wait_exit(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!poll_exit()) {
    if (!started() || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

int ChildProcess::wait_or_kill(std::chrono::milliseconds limit) {
  if (!started()) return -1;
  if (wait_exit(limit)) return status_;
  kill();
  return -2;
}

bool ChildProcess::wait_ready(const std::string& socket_path, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!started() || poll_exit()) return false;
    if (can_connect(socket_path)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

bool program_available(const std::string& program) {
  if (program.find('/') != std::string::npos) return ::access(program.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
  }
  return false;
}

bool can_connect(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace test_support
