// CoInflight: counts operations in flight and lets coroutines wait until the
// count drops to zero ("drain": wait for every request of a connection or an
// export to finish).
//
// Contract
// - inc() and dec() may be called from any thread, inside or outside a
//   coroutine; they never suspend. dec() below zero aborts.
// - wait_zero() suspends the calling coroutine until the count is zero and
//   returns with the count observed at zero (at once if it already is). If
//   the count rises again before a woken waiter runs, that waiter waits
//   again, so under a steady stream of inc() it may wait indefinitely: stop
//   new operations first, then drain.
// - dec() to zero wakes every waiter, never switching: from a coroutine they
//   run when it next yields or terminates, outside one before dec() returns,
//   on their own event loop if they wait on another thread (corolib::wake()).
// - Cost: inc() is one atomic add; dec() is one atomic subtract plus a load,
//   and takes an internal lock only when it reaches zero with waiters.
// - The counter must outlive its waiters' wait_zero() calls; destroying it
//   with waiters aborts in debug builds.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

#include "corolib/coroutine.hpp"

namespace corolib {

class CoInflight {
 public:
  CoInflight() = default;
  CoInflight(const CoInflight&) = delete;
  CoInflight& operator=(const CoInflight&) = delete;
  ~CoInflight();

  void inc() { count_.fetch_add(1, std::memory_order_relaxed); }
  void dec();

  // Suspends the calling coroutine until the count is zero.
  coroutine_fn void wait_zero();

  std::size_t count() const { return count_.load(std::memory_order_acquire); }

 private:
  struct Waiter;

  void wake_waiters();

  std::atomic<std::size_t> count_{0};
  // Most recent waiter first; changed only under mutex_, read by dec().
  std::atomic<Waiter*> waiters_{nullptr};
  std::mutex mutex_;
};

}  // namespace corolib
