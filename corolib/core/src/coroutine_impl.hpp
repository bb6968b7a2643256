// Internal definition of a coroutine, shared by the core and the backends.
//
// A backend allocates an object derived from Coroutine (with its stack and
// saved context) in backend_create(); the core owns everything else: entry,
// caller chain, wakeup list, pool links and sanitizer bookkeeping.
#pragma once

#include <atomic>
#include <cstddef>

#include "corolib/coroutine.hpp"
#include "corolib/scheduler.hpp"

namespace corolib {

enum class CoroutineAction { kEnter, kYield, kTerminate };

class Coroutine {
 public:
  // Entry for the next run: either entry(entry_arg) or the callable slot.
  CoroutineEntry entry = nullptr;
  void* entry_arg = nullptr;
  detail::CallableSlot callable;

  // Who entered us; nullptr while not entered.
  Coroutine* caller = nullptr;

  // Action handed over by the coroutine that last switched to us.
  CoroutineAction action = CoroutineAction::kEnter;

  // Intrusive link: pool batch, wakeup list or a CoQueue's wait list.
  Coroutine* next = nullptr;

  // Pool bookkeeping, for the first coroutine of a batch in the global list.
  Coroutine* next_batch = nullptr;
  std::size_t batch_count = 0;

  // Coroutines to enter when we next yield or terminate (deferred wakeups).
  Coroutine* wakeup_head = nullptr;
  Coroutine* wakeup_tail = nullptr;

  // Non-null while on some wakeup list or scheduled on a loop: names who
  // queued it, to diagnose double scheduling.
  std::atomic<const char*> scheduled{nullptr};

  // Scheduler of the thread that last entered us (see scheduler.hpp).
  std::atomic<Scheduler*> home{nullptr};

  // CoMutex locks held; must be zero at termination.
  unsigned locks_held = 0;

  // Usable stack memory [stack_bottom, stack_bottom + stack_size); for the
  // thread's leader, learned lazily (may stay null).
  void* stack_bottom = nullptr;
  std::size_t stack_size = 0;

  // Sanitizer state: TSan fiber handle.
  void* tsan_fiber = nullptr;

  // True for a thread's leader (its own stack, not a created coroutine).
  bool is_leader = false;

 protected:
  Coroutine() = default;
  ~Coroutine() = default;
};

namespace detail {

// Runs a coroutine's entries forever: called by the backend the first time
// `self` is switched to. Each iteration runs the entry, then switches to the
// caller with kTerminate; a pooled coroutine is re-entered here with a new
// entry.
[[noreturn]] void coroutine_main(Coroutine* self);

// Sanitizer hooks a backend must call when control arrives in a coroutine
// other than through switch_to() returning (its first entry).
void on_first_entry(Coroutine* self);

}  // namespace detail
}  // namespace corolib
