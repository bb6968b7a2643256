// Helpers of the interop tests: a temporary directory, the real `corobd`
// binary as a child process, and shell commands run with a time limit.
//
// - DaemonProcess starts COROBD_BINARY (a compile definition) with the given
//   arguments, stderr and stdout appended to a log file in the test's
//   directory, as a test_support::ChildProcess: killed with the test, and
//   killed (SIGKILL) and reaped by the destructor if it still runs.
// - wait_ready() waits until the socket accepts connections or the process
//   exits; signal(), wait_exit() and exit_status() are ChildProcess's.
// - run() executes a shell command under `timeout` (stdout+stderr
//   captured), so a hung client fails the test instead of hanging ctest.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace interop {

using test_support::TempDir;

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

using test_support::can_connect;
using test_support::read_file;

class DaemonProcess : public test_support::ChildProcess {
 public:
  // `env`: NAME=VALUE entries added to the child's environment; `program`
  // replaces COROBD_BINARY as argv[0] (e.g. systemd-socket-activate, looked
  // up in PATH) when not empty.
  DaemonProcess(std::vector<std::string> args, std::string log_path,
                std::vector<std::string> env = {}, const std::string& program = {})
      : ChildProcess(with_program(program, std::move(args)),
                     options(std::move(log_path), std::move(env))) {}

  std::string log() const { return output(); }

  // True when socket_path accepts connections; false if the daemon exited
  // (its status is then in exit_status()) or 10 s passed.
  bool wait_ready(const std::string& socket_path) {
    return ChildProcess::wait_ready(socket_path, std::chrono::seconds(10));
  }

  // Waits up to `limit` for the process to exit; true when it did.
  bool wait_exit(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    return ChildProcess::wait_exit(limit);
  }

 private:
  static Options options(std::string log_path, std::vector<std::string> env) {
    Options o;
    o.output_path = std::move(log_path);
    o.append = true;
    o.env = std::move(env);
    return o;
  }

  static std::vector<std::string> with_program(const std::string& program,
                                               std::vector<std::string> args) {
    args.insert(args.begin(), program.empty() ? std::string(COROBD_BINARY) : program);
    return args;
  }
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
