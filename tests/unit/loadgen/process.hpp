// Programs run to completion by the corobd-load end-to-end tests (the
// servers they run against are test_support::ServerProcess).
//
// - run_program(): runs argv to completion (killed after a timeout) and
//   returns its exit status, stdout and stderr.
// - to_files(): how run_program() starts a program (stdout and stderr to
//   files, stdin from /dev/null), for a test that waits for it itself.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace loadgen_test {

struct ProgramResult {
  int status = -1;  // exit status, or 128 + signal; -2: killed after the timeout
  std::string out;
  std::string err;
};

inline test_support::ChildProcess::Options to_files(const std::string& out_path,
                                                   const std::string& err_path) {
  test_support::ChildProcess::Options options;
  options.output_path = out_path;
  options.error_path = err_path;
  options.null_stdin = true;
  return options;
}

inline ProgramResult run_program(const std::vector<std::string>& argv, const std::string& dir,
                                 std::chrono::seconds timeout = std::chrono::seconds(120)) {
  static int counter = 0;
  const std::string base = dir + "/run" + std::to_string(++counter);
  ProgramResult r;
  r.status = test_support::ChildProcess(argv, to_files(base + ".out", base + ".err"))
                 .wait_or_kill(timeout);
  r.out = test_support::read_file(base + ".out");
  r.err = test_support::read_file(base + ".err");
  return r;
}

}  // namespace loadgen_test
