// CoMutex: a mutex for coroutines. Waiting for it suspends the coroutine,
// never the thread.
//
// Contract
// - lock(), try_lock() and unlock() are called from coroutines only (abort
//   otherwise). The coroutine that locked must be the one that unlocks:
//   unlock() by any other coroutine aborts with a message, in every build.
// - Fair: waiters get the mutex in the order they queued, and unlock() hands
//   it straight to the first waiter (it does not merely wake it). While
//   coroutines wait, nobody barges in: a later lock() or try_lock() queues
//   or fails even if the woken waiter has not run yet.
// - unlock() never switches. The next holder runs when the unlocking
//   coroutine next yields or terminates (deferred wakeup), or on its own
//   event loop if it waits on another thread.
// - Thread-safe: coroutines on different threads may share a CoMutex. The
//   uncontended path is one atomic compare-and-swap; a locker whose holder
//   runs on another event loop spins briefly before queueing (a short
//   critical section there is cheaper to wait out than a sleep and wakeup).
//   Coroutines that lock a CoMutex shared across threads must run on threads
//   that have a Scheduler (event loop) registered; see scheduler.hpp.
// - A coroutine that terminates while holding a CoMutex aborts with a message
//   (the core checks its count of held locks). Destroying a locked CoMutex
//   aborts in debug builds.
// - Not recursive: locking a CoMutex twice from one coroutine deadlocks it.
//
// The lock-free algorithm is QEMU's (util/qemu-coroutine-lock.c), itself
// after OSv's lfmutex: a counter of holder + lockers, a multi-producer
// stack of wait records drained into a FIFO by the single waker, and a
// "responsibility hand-off" token that lets a concurrent lock() wake the next
// waiter when unlock() finds the queue momentarily empty.
#pragma once

#include <atomic>

#include "corolib/coroutine.hpp"
#include "corolib/scheduler.hpp"

namespace corolib {

class CoMutex {
 public:
  CoMutex() = default;
  CoMutex(const CoMutex&) = delete;
  CoMutex& operator=(const CoMutex&) = delete;
  ~CoMutex();

  // Takes the mutex, suspending the calling coroutine while another holds it.
  coroutine_fn void lock();

  // Takes the mutex if it is free and nobody waits; never suspends.
  bool try_lock();

  // Releases the mutex; hands it to the first waiter if there is one.
  // Aborts unless the calling coroutine holds it.
  coroutine_fn void unlock();

  // Aborts with a message unless the calling coroutine holds the mutex.
  void assert_locked() const;

  // True while some coroutine holds the mutex or it is being handed over.
  // A snapshot, for diagnostics and tests.
  bool is_locked() const { return locked_.load(std::memory_order_relaxed) != 0; }

 private:
  struct WaitRecord;

  void lock_slowpath(Coroutine* self);
  WaitRecord* pop_waiter();
  bool has_waiters() const;
  void hand_over(Coroutine* next, const char* who);
  void become_holder(Coroutine* self, Scheduler* here);

  // 0: free; 1: held; n > 1: held, n - 1 lockers waiting or about to wait.
  std::atomic<unsigned> locked_{0};
  // The holder, and the event loop it runs on (spinning is pointless when it
  // runs on ours: it cannot make progress while we spin).
  std::atomic<Coroutine*> holder_{nullptr};
  std::atomic<Scheduler*> holder_loop_{nullptr};
  // Wait records: pushed by lockers (LIFO, lock-free), moved to the FIFO
  // to_pop_ by the one coroutine that currently may pop.
  std::atomic<WaitRecord*> from_push_{nullptr};
  std::atomic<WaitRecord*> to_pop_{nullptr};
  // Hand-off token (0: none) and the sequence it is drawn from.
  std::atomic<unsigned> handoff_{0};
  std::atomic<unsigned> sequence_{0};
};

// Holds a CoMutex for a scope (std::lock_guard works too; this one can also
// release early).
class CoMutexGuard {
 public:
  coroutine_fn explicit CoMutexGuard(CoMutex& mutex) : mutex_(&mutex) { mutex_->lock(); }
  CoMutexGuard(const CoMutexGuard&) = delete;
  CoMutexGuard& operator=(const CoMutexGuard&) = delete;
  ~CoMutexGuard() {
    if (mutex_ != nullptr) mutex_->unlock();
  }

  // Releases the mutex before the end of the scope.
  coroutine_fn void unlock() {
    mutex_->unlock();
    mutex_ = nullptr;
  }

 private:
  CoMutex* mutex_;
};

}  // namespace corolib
