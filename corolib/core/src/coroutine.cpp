// The backend-independent core: create/enter/yield, the enter loop that runs
// deferred wakeups, and the entry loop every coroutine runs.
#include "corolib/coroutine.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <typeinfo>

#include "backend.hpp"
#include "coroutine_impl.hpp"
#include "current.hpp"
#include "pool_internal.hpp"
#include "sanitizers.hpp"
#include "stack.hpp"

#ifndef COROLIB_STACK_SIZE
#define COROLIB_STACK_SIZE (1024 * 1024)
#endif

namespace corolib {
namespace detail {
namespace {

std::atomic<std::size_t> configured_stack_size{COROLIB_STACK_SIZE};

struct ThreadState {
  Coroutine* current = nullptr;
  Coroutine* leader = nullptr;
  Scheduler* scheduler = nullptr;
};

thread_local ThreadState thread_state;

[[noreturn]] void die(const char* message) {
  fprintf(stderr, "corolib: %s\n", message);
  abort();
}

[[gnu::noinline]] Coroutine* leader_slow() {
  ThreadState& state = thread_state;
  Coroutine* leader = backend_leader();
  leader->is_leader = true;
  if (kBackendSwitchesStacks) leader->tsan_fiber = sanitizer_current_fiber();
  state.leader = leader;
  ensure_thread_alt_stack();
  return leader;
}

// Completes a sanitizer switch on arrival; learns the leader's stack bounds
// the first time a coroutine is entered on this thread (as QEMU does).
void arrive(void* fake_stack_save, Coroutine* self) {
  const void* old_bottom = nullptr;
  std::size_t old_size = 0;
  sanitizer_finish_switch(fake_stack_save, &old_bottom, &old_size);
  if (self->is_leader || old_bottom == nullptr) return;
  Coroutine* leader = thread_state.leader;
  if (leader != nullptr && leader->stack_bottom == nullptr) {
    leader->stack_bottom = const_cast<void*>(old_bottom);
    leader->stack_size = old_size;
  }
}

void run_entry(Coroutine* self) noexcept {
  try {
    if (self->callable.invoke != nullptr) {
      self->callable.invoke(self->callable.inline_storage);
      self->callable.destroy(self->callable.inline_storage);
      self->callable.invoke = nullptr;
      self->callable.destroy = nullptr;
    } else {
      self->entry(self->entry_arg);
    }
  } catch (const std::exception& e) {
    fprintf(stderr, "corolib: exception escaped a coroutine entry function: %s: %s\n",
            typeid(e).name(), e.what());
    abort();
  } catch (...) {
    die("exception escaped a coroutine entry function (not a std::exception)");
  }
}

// Moves co's wakeup list to the front of the pending list.
void prepend_wakeups(Coroutine* co, Coroutine*& head, Coroutine*& tail) {
  if (co->wakeup_head == nullptr) return;
  co->wakeup_tail->next = head;
  if (head == nullptr) tail = co->wakeup_tail;
  head = co->wakeup_head;
  co->wakeup_head = nullptr;
  co->wakeup_tail = nullptr;
}

Coroutine* prepare(Coroutine* co) {
  co->caller = nullptr;
  co->next = nullptr;
  co->locks_held = 0;
  co->callable.invoke = nullptr;
  co->callable.destroy = nullptr;
  return co;
}

Coroutine* allocate() {
  Coroutine* co = pool_acquire();
  if (co == nullptr) co = backend_create(configured_stack_size.load(std::memory_order_relaxed));
  return prepare(co);
}

}  // namespace

[[gnu::noinline]] Coroutine* current_coroutine() { return thread_state.current; }

[[gnu::noinline]] void set_current_coroutine(Coroutine* co) { thread_state.current = co; }

[[gnu::noinline]] Coroutine* current_or_leader() {
  ThreadState& state = thread_state;
  if (state.current != nullptr) return state.current;
  if (state.leader != nullptr) return state.leader;
  return leader_slow();
}

[[gnu::noinline]] Scheduler* thread_scheduler_fresh() { return thread_state.scheduler; }

Coroutine* current_coroutine_for_signal() { return thread_state.current; }

CoroutineAction switch_to(Coroutine* from, Coroutine* to, CoroutineAction action) {
  to->action = action;
  if (kBackendSwitchesStacks) {
    void* fake_stack_save = nullptr;
    sanitizer_start_switch(action == CoroutineAction::kTerminate ? nullptr : &fake_stack_save,
                           to);
    backend_switch(from, to);
    arrive(fake_stack_save, from);
  } else {
    backend_switch(from, to);
  }
  set_current_coroutine(from->is_leader ? nullptr : from);
  return from->action;
}

void on_first_entry(Coroutine* self) {
  set_current_coroutine(self);
  ensure_thread_alt_stack();
  if (kBackendSwitchesStacks) arrive(nullptr, self);
}

[[noreturn]] void coroutine_main(Coroutine* self) {
  for (;;) {
    run_entry(self);
    // Re-read self's state after the entry: it may have moved threads.
    switch_to(self, self->caller, CoroutineAction::kTerminate);
  }
}

Coroutine* create_for_callable(CallableSlot** slot) {
  Coroutine* co = allocate();
  *slot = &co->callable;
  return co;
}

}  // namespace detail


Coroutine* create(CoroutineEntry entry, void* opaque) {
  Coroutine* co = detail::allocate();
  co->entry = entry;
  co->entry_arg = opaque;
  return co;
}

void enter(Coroutine* co) {
  Coroutine* from = detail::current_or_leader();
  Coroutine* head = co;
  Coroutine* tail = co;
  co->next = nullptr;
  while (head != nullptr) {
    Coroutine* to = head;
    head = to->next;
    if (head == nullptr) tail = nullptr;
    to->next = nullptr;

    if (const char* where = to->scheduled.load(std::memory_order_acquire)) {
      fprintf(stderr, "corolib: coroutine entered while already scheduled by %s\n", where);
      abort();
    }
    if (to->caller != nullptr) {
      detail::die("coroutine re-entered recursively (it is running or on the chain of callers)");
    }
    to->caller = from;
    to->home.store(detail::thread_scheduler_fresh(), std::memory_order_relaxed);
    CoroutineAction action = detail::switch_to(from, to, CoroutineAction::kEnter);

    // Wakeups queued by `to` run next, before anything pending before.
    detail::prepend_wakeups(to, head, tail);
    if (action == CoroutineAction::kTerminate) {
      if (to->locks_held != 0) {
        fprintf(stderr, "corolib: coroutine terminated while holding %u CoMutex lock(s)\n",
                to->locks_held);
        abort();
      }
      detail::pool_release(to);
    }
  }
}

void enter_if_inactive(Coroutine* co) {
  if (!entered(co)) enter(co);
}

void yield() {
  Coroutine* self = detail::current_coroutine();
  if (self == nullptr) detail::die("yield() called outside a coroutine");
  Coroutine* to = self->caller;
  self->caller = nullptr;
  detail::switch_to(self, to, CoroutineAction::kYield);
}

Coroutine* self() { return detail::current_coroutine(); }

bool in_coroutine() { return detail::current_coroutine() != nullptr; }

bool entered(const Coroutine* co) { return co->caller != nullptr; }

void wake_deferred(Coroutine* co) {
  Coroutine* self = detail::current_coroutine();
  if (self == nullptr) {
    enter(co);
    return;
  }
  co->next = nullptr;
  if (self->wakeup_tail != nullptr) {
    self->wakeup_tail->next = co;
  } else {
    self->wakeup_head = co;
  }
  self->wakeup_tail = co;
}

void set_thread_scheduler(Scheduler* scheduler) { detail::thread_state.scheduler = scheduler; }

Scheduler* thread_scheduler() { return detail::thread_scheduler_fresh(); }

Scheduler* home_scheduler(const Coroutine* co) {
  return co->home.load(std::memory_order_relaxed);
}

void mark_scheduled(Coroutine* co, const char* who) {
  const char* previous = nullptr;
  if (!co->scheduled.compare_exchange_strong(previous, who, std::memory_order_acq_rel)) {
    fprintf(stderr, "corolib: %s: coroutine was already scheduled by %s\n", who, previous);
    abort();
  }
}

void clear_scheduled(Coroutine* co) { co->scheduled.store(nullptr, std::memory_order_release); }

void wake(Coroutine* co, const char* who) {
  Scheduler* home = home_scheduler(co);
  if (home == nullptr || home == thread_scheduler()) {
    wake_deferred(co);
    return;
  }
  mark_scheduled(co, who);
  home->schedule(co);
}

#ifndef NDEBUG
void assert_in_coroutine(const char* function) {
  if (!in_coroutine()) {
    fprintf(stderr, "corolib: %s must be called from a coroutine\n", function);
    abort();
  }
}
#endif

void set_default_stack_size(std::size_t bytes) {
  detail::configured_stack_size.store(bytes, std::memory_order_relaxed);
}

std::size_t default_stack_size() {
  return detail::round_stack_size(detail::configured_stack_size.load(std::memory_order_relaxed));
}

const char* backend_name() { return detail::kBackendName; }

}  // namespace corolib
