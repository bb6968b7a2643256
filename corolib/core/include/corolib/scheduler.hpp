// Waking coroutines that live on another thread's event loop.
//
// corolib/core knows no event loop. An event loop (corolib/loop) registers
// itself as the Scheduler of the thread it runs on; every coroutine remembers
// the scheduler of the thread that last entered it (its home). wake() then
// picks the cheapest correct way to resume a waiter:
// - same thread (or no scheduler anywhere): deferred wakeup, run when the
//   current coroutine yields or terminates (or entered at once outside one);
// - another thread's loop: handed to that loop's schedule(), which enters it
//   there.
#pragma once

namespace corolib {

class Coroutine;

class Scheduler {
 public:
  // Thread-safe. Arranges for co to be entered on this scheduler's thread.
  // co->scheduled has already been claimed by the caller (see mark_scheduled).
  virtual void schedule(Coroutine* co) = 0;

 protected:
  ~Scheduler() = default;
};

// The scheduler running on the calling thread (nullptr if none).
void set_thread_scheduler(Scheduler* scheduler);
Scheduler* thread_scheduler();

// The scheduler of the thread that last entered co (nullptr if none).
Scheduler* home_scheduler(const Coroutine* co);

// Claims co for scheduling on behalf of `who` (a static string naming the
// caller). Aborts with a message naming both callers if co is already
// scheduled. Cleared by clear_scheduled() right before co is entered.
void mark_scheduled(Coroutine* co, const char* who);
void clear_scheduled(Coroutine* co);

// Resumes a waiting coroutine (QEMU's aio_co_wake): deferred on the same
// thread, scheduled on its home loop otherwise. `who` names the caller for
// double-scheduling diagnostics.
void wake(Coroutine* co, const char* who);

}  // namespace corolib
