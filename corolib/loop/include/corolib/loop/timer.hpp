// Timers: a coroutine sleeps on its thread's EventLoop.
//
// Contract
// - coroutine_fn, like the co_* I/O helpers: call from a coroutine on a
//   thread that owns an EventLoop. The coroutine yields; other coroutines
//   and the loop keep running; an io_uring TIMEOUT request re-enters it.
// - Durations and deadlines are on std::chrono::steady_clock
//   (CLOCK_MONOTONIC). A duration <= 0 or a deadline in the past still
//   yields once to the loop.
// - Returns 0 when the time has come, -ECANCELED when the loop shut down
//   (EventLoop::shutdown()) before it did.
// - For a time limit on an I/O request, pass an IoTimeout to the helper
//   instead (linked timeout, -ETIMEDOUT).
#pragma once

#include <chrono>

#include "corolib/coroutine.hpp"

namespace corolib {

coroutine_fn int co_sleep(std::chrono::nanoseconds duration);
coroutine_fn int co_sleep_until(std::chrono::steady_clock::time_point deadline);

}  // namespace corolib
