// Shared pieces of the corolib/loop tests.
//
// - LoopTest: suites parameterised by the coroutine backend the binary is
//   linked with (the same objects are linked once per backend), so every
//   test is named <Suite>.<Test>/<backend>.
// - TempDir: a scratch directory removed at the end of the test.
// - Tasks: spawns coroutines on a loop and runs it until all have returned.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>

#include "corolib/coroutine.hpp"
#include "corolib/loop/event_loop.hpp"
#include "temp_dir.hpp"

namespace corolib_test {

class LoopTest : public ::testing::TestWithParam<std::string> {
 protected:
  // The thread backend runs every coroutine on an OS thread of its own:
  // tests scale their coroutine counts down for it.
  static bool thread_backend() { return GetParam() == "thread"; }
  static int scaled(int n) { return thread_backend() ? (n > 64 ? 64 : n) : n; }
};

#define COROLIB_LOOP_INSTANTIATE(Suite)                                                  \
  INSTANTIATE_TEST_SUITE_P(, Suite, ::testing::Values(std::string(corolib::backend_name())), \
                           [](const auto& info) { return info.param; })

using test_support::TempDir;

// Coroutines spawned on one loop; run() runs the loop until they all have
// returned. Use on the loop's thread.
class Tasks {
 public:
  explicit Tasks(corolib::EventLoop& loop) : loop_(loop) {}

  template <class F>
  void spawn(F&& fn) {
    ++live_;
    loop_.enter_soon(corolib::create([this, fn = std::forward<F>(fn)]() mutable {
      fn();
      --live_;
    }));
  }

  void run() {
    loop_.run_until([this] { return live_ == 0; });
  }

  int live() const { return live_; }

 private:
  corolib::EventLoop& loop_;
  int live_ = 0;
};

// Runs fn in one coroutine on loop until it returns.
template <class F>
void run_coroutine(corolib::EventLoop& loop, F&& fn) {
  Tasks tasks(loop);
  tasks.spawn(std::forward<F>(fn));
  tasks.run();
}

}  // namespace corolib_test
