// CoQueue: a FIFO of suspended coroutines, woken with deferred wakeups.
//
// Contract
// - wait() suspends the calling coroutine at the back of the queue (wait_front:
//   at the front) until next() or restart_all() wakes it. wait(lock) releases
//   `lock` after queueing and takes it again after waking, so a condition
//   checked under the lock cannot be missed (the condition-variable pattern):
//       while (!ready) queue.wait(mutex);
//   `lock` is anything with lock()/unlock(): a CoMutex, or a thread mutex
//   (std::mutex, ...) that is never held across a yield.
// - next() and restart_all() never switch. From a coroutine they put the
//   waiters on the current coroutine's wakeup list: they run, in queue order,
//   when the caller next yields or terminates. Outside a coroutine the waiters
//   are entered before the call returns. A waiter last entered on another
//   thread's event loop is handed to that loop instead (corolib::wake()).
// - Wakeups are not remembered: next() on an empty queue does nothing, so
//   waiters must re-check their condition (use a loop, as above).
// - Not thread-safe by itself, as in QEMU: a CoQueue is used by one thread, or
//   every call is made under the same lock (the one passed to wait(lock)).
//   Coroutines waiting on a queue used from several threads must run on
//   threads that have a Scheduler (event loop) registered.
// - A waiting coroutine must be woken only through its queue; entering it
//   directly while it waits is a bug (its wait record would stay queued).
// - Destroying a queue that still has waiters aborts in debug builds.
#pragma once

#include "corolib/coroutine.hpp"
#include "corolib/scheduler.hpp"

namespace corolib {

// Anything wait() can release while the coroutine sleeps.
template <class L>
concept BasicLockable = requires(L& lock) {
  lock.lock();
  lock.unlock();
};

class CoQueue {
 public:
  CoQueue() = default;
  CoQueue(const CoQueue&) = delete;
  CoQueue& operator=(const CoQueue&) = delete;
  ~CoQueue();

  // Suspends the calling coroutine at the back (wait) or the front
  // (wait_front) of the queue until it is woken.
  coroutine_fn void wait();
  coroutine_fn void wait_front();

  // The same, releasing `lock` once queued and re-taking it after waking.
  template <BasicLockable Lock>
  coroutine_fn void wait(Lock& lock);
  template <BasicLockable Lock>
  coroutine_fn void wait_front(Lock& lock);

  // Wakes the first waiter (see the contract). Returns false if there was none.
  bool next();

  // Wakes every waiter, in order. Coroutines that wait again while these are
  // woken are not woken by this call. Returns false if there was none.
  bool restart_all();

  // QEMU's qemu_co_enter_next: removes the first waiter, releases `lock`,
  // wakes the waiter (outside a coroutine it runs right here, and may take
  // `lock` itself), then re-takes `lock`. Returns false if there was none.
  template <BasicLockable Lock>
  bool enter_next(Lock& lock);

  // True when no coroutine waits.
  bool empty() const { return head_ == nullptr; }

 private:
  // Lives on the waiter's stack while it waits.
  struct Waiter {
    Coroutine* co = nullptr;
    Waiter* next = nullptr;
  };

  void enqueue(Waiter* waiter, bool front);
  Coroutine* dequeue();
  static coroutine_fn void suspend();

  Waiter* head_ = nullptr;
  Waiter* tail_ = nullptr;
};

template <BasicLockable Lock>
coroutine_fn void CoQueue::wait(Lock& lock) {
  Waiter waiter;
  enqueue(&waiter, false);
  lock.unlock();
  suspend();
  lock.lock();
}

template <BasicLockable Lock>
coroutine_fn void CoQueue::wait_front(Lock& lock) {
  Waiter waiter;
  enqueue(&waiter, true);
  lock.unlock();
  suspend();
  lock.lock();
}

template <BasicLockable Lock>
bool CoQueue::enter_next(Lock& lock) {
  Coroutine* co = dequeue();
  if (co == nullptr) return false;
  lock.unlock();
  wake(co, "CoQueue::enter_next");
  lock.lock();
  return true;
}

}  // namespace corolib
