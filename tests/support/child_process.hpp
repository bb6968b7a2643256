// ChildProcess: a program run as a child of the test process (an NBD
// server, the corobd daemon, corobd-load), plus the small look-ups the tests
// that run them share. For the test's own thread: not thread-safe.
//
// - The constructor forks and execs argv (argv[0] looked up in PATH) with
//   stdout and stderr sent to files (see Options); started() is false when
//   fork failed. The child gets PR_SET_PDEATHSIG(SIGKILL): it dies with the
//   test even if the test crashes.
// - The destructor kills the child (SIGKILL) and reaps it, unless it has
//   been reaped already.
// - wait_ready(socket) waits until a UNIX socket accepts connections; false
//   as soon as the child exits, or when the time runs out.
// - poll_exit(), wait_exit() and wait_or_kill() reap the child once it has
//   exited; exit_status() is then its exit code, or 128 + the signal that
//   killed it (-1 until then).
// - freeze() stops the child (SIGSTOP) and returns once it has stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace test_support {

class ChildProcess {
 public:
  struct Options {
    // Where stdout and stderr go (both, unless error_path is set); empty:
    // inherited from the test.
    std::string output_path;
    // Where stderr goes instead, when not empty.
    std::string error_path;
    // Appends to the output files instead of truncating them.
    bool append = false;
    // Reads stdin from /dev/null instead of inheriting the test's.
    bool null_stdin = false;
    // NAME=VALUE entries added to (or replacing ones in) the environment.
    std::vector<std::string> env;
  };

  ChildProcess(std::vector<std::string> argv, Options options);
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { kill(); }

  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  // Started and not seen to exit yet.
  bool running() const { return started() && !exited_; }
  // What the child wrote to output_path so far.
  std::string output() const;

  // Sends sig while running.
  void signal(int sig);
  // SIGSTOP, and waits until every thread of the child has stopped.
  bool freeze();
  // SIGKILL, and reaps the child.
  void kill();

  // Reaps the child if it has exited; true once it has.
  bool poll_exit();
  // Waits up to `limit` for the child to exit; true when it did.
  bool wait_exit(std::chrono::milliseconds limit);
  // Waits up to `limit` for the child to exit, then kills it: exit_status(),
  // -2 when it had to be killed, -1 when it was never started.
  int wait_or_kill(std::chrono::milliseconds limit);
  int exit_status() const { return status_; }

  // True when socket_path accepts connections; false once the child has
  // exited or `limit` has passed.
  bool wait_ready(const std::string& socket_path, std::chrono::milliseconds limit);

 private:
  std::string output_path_;
  pid_t pid_ = -1;
  bool exited_ = false;
  int status_ = -1;
};

// Whether `program` is a path to an executable, or an executable in PATH:
// for GTEST_SKIP.
bool program_available(const std::string& program);

// Whether a UNIX socket at `path` accepts a connection now.
bool can_connect(const std::string& path);

// The whole content of a file ("" when it cannot be read).
std::string read_file(const std::string& path);

}  // namespace test_support
