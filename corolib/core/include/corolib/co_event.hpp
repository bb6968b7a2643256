// CoEvent: a one-shot "wait for completion" between coroutines.
//
// Contract
// - wait() suspends the calling coroutine until set() has been called; once
//   set, wait() returns at once. Any number of coroutines may wait.
// - set() wakes every waiter, in the order they started waiting, and never
//   switches: from a coroutine the waiters run when it next yields or
//   terminates; outside a coroutine (a completion callback, the loop) they
//   run before set() returns; waiters on another thread's event loop are
//   handed to that loop (corolib::wake()). Setting an event twice is harmless.
// - reset() makes a set event unset again (to reuse it); it must not race
//   with wait() or set() (call it when nobody can be waiting).
// - Thread-safe and lock-free: wait() and set() may be called from different
//   threads (waiters on threads that have a Scheduler registered). set() may
//   be called from any thread, inside or outside a coroutine.
// - The event must outlive its waiters' wait() calls.
#pragma once

#include <atomic>
#include <cstdint>

#include "corolib/coroutine.hpp"

namespace corolib {

class CoEvent {
 public:
  CoEvent() = default;
  CoEvent(const CoEvent&) = delete;
  CoEvent& operator=(const CoEvent&) = delete;
  ~CoEvent();

  // Suspends the calling coroutine until the event is set.
  coroutine_fn void wait();

  // Sets the event and wakes every waiter.
  void set();

  // Makes a set event unset again. Does nothing if it is not set.
  void reset();

  bool is_set() const { return state_.load(std::memory_order_acquire) == kSet; }

 private:
  struct Waiter;

  // kSet, or the most recent Waiter (a lock-free LIFO of waiters), or 0.
  static constexpr std::uintptr_t kSet = 1;
  std::atomic<std::uintptr_t> state_{0};
};

}  // namespace corolib
