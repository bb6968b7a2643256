// ServerProcess: a server program (qemu-nbd, nbdkit, corobd) run as a child
// of the test, listening on a UNIX socket. For the test's own thread.
//
// - The constructor removes a stale socket file, starts argv (stdin from
//   /dev/null, stdout and stderr to log_path) and waits until the socket
//   accepts connections (up to 20 s) or the child exits; ready() tells
//   which, log() what the server printed.
// - stop() asks for a clean shutdown (SIGTERM; qemu-nbd flushes its image)
//   and returns the exit status; signal(), freeze(), kill() and the rest
//   are ChildProcess's, and so is the destructor (SIGKILL, reap).
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "child_process.hpp"

namespace test_support {

class ServerProcess : public ChildProcess {
 public:
  ServerProcess(std::vector<std::string> argv, const std::string& socket_path,
                std::string log_path)
      : ChildProcess(after_removing(socket_path, std::move(argv)), options(std::move(log_path))),
        ready_(wait_ready(socket_path, std::chrono::seconds(20))) {}

  bool ready() const { return ready_; }
  std::string log() const { return output(); }

  // SIGTERM, then waits up to 30 s for the exit: its status (see
  // ChildProcess::wait_or_kill()).
  int stop() {
    signal(SIGTERM);
    return wait_or_kill(std::chrono::seconds(30));
  }

 private:
  static Options options(std::string log_path) {
    Options o;
    o.output_path = std::move(log_path);
    o.null_stdin = true;
    return o;
  }

  // Removes a stale socket file (a killed server's) before the start.
  static std::vector<std::string> after_removing(const std::string& socket_path,
                                                 std::vector<std::string> argv) {
    ::unlink(socket_path.c_str());
    return argv;
  }

  bool ready_;
};

}  // namespace test_support
