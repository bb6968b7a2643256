// Misuse aborts with a clear message: re-entry, yield outside a coroutine,
// escaping exceptions, stack overflow.
#include <gtest/gtest.h>

#include <stdexcept>

#include "backend_param.hpp"
#include "corolib/coroutine.hpp"

namespace {

class CoroutineDeathTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

TEST_P(CoroutineDeathTest, YieldOutsideCoroutineAborts) {
  EXPECT_DEATH(corolib::yield(), "yield\\(\\) called outside a coroutine");
}

TEST_P(CoroutineDeathTest, EnteringItselfAborts) {
  EXPECT_DEATH(corolib::enter(corolib::create([] { corolib::enter(corolib::self()); })),
               "re-entered recursively");
}

TEST_P(CoroutineDeathTest, EnteringCallerOnTheChainAborts) {
  EXPECT_DEATH(
      {
        corolib::Coroutine* outer = nullptr;
        outer = corolib::create([&outer] {
          corolib::enter(corolib::create([&outer] { corolib::enter(outer); }));
        });
        corolib::enter(outer);
      },
      "re-entered recursively");
}

TEST_P(CoroutineDeathTest, EscapingExceptionTerminatesWithMessage) {
  EXPECT_DEATH(corolib::enter(corolib::create([] { throw std::runtime_error("boom"); })),
               "exception escaped a coroutine entry function.*boom");
}

// Recurses until `limit` frames of 1 KiB: far beyond a 64 KiB stack.
[[gnu::noinline]] int recurse(volatile char* previous, int depth, int limit) {
  volatile char frame[1024];
  frame[0] = static_cast<char>(depth);
  if (previous != nullptr) frame[1] = previous[0];
  if (depth == limit) return frame[1];
  return recurse(frame, depth + 1, limit) + frame[1];
}

TEST_P(CoroutineDeathTest, StackOverflowIsReported) {
  EXPECT_DEATH(
      {
        corolib::set_default_stack_size(64 * 1024);
        corolib::enter(corolib::create([] { recurse(nullptr, 0, 1 << 20); }));
      },
      "coroutine stack overflow");
}

COROLIB_INSTANTIATE_FOR_BACKEND(CoroutineDeathTest);

}  // namespace
