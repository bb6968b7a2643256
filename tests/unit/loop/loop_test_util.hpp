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

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/corolib-loop-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) std::abort();
    path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

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
