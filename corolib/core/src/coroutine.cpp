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

// Returning from a switch without `ret` (x86-64).
//
// After a switch, the CPU's return-stack predictor still holds the return
// addresses the *other* context pushed, so the first `ret` on the way back
// to the caller of enter()/yield() is always mispredicted (about 4 ns each
// on the development machine, two per enter+yield round trip; see
// docs/PERFORMANCE.md).
// switch_to() and enter() therefore end in a tail call to a stub that pops
// the return address and jumps to it: an indirect jump, which the branch
// predictor learns, instead of a return it cannot predict. Each function
// gets its own stub (its own jump to learn). The result never depends on the
// tail call: if the compiler emits a plain call instead, the stub "returns"
// into the function, which then returns normally.
//
// Not with -fcf-protection: shadow stacks and IBT forbid such jumps.
#if defined(__x86_64__) && !defined(__CET__)
#define COROLIB_JUMP_RETURN 1
extern "C" {
[[gnu::visibility("hidden")]] void corolib_enter_return() noexcept;
[[gnu::visibility("hidden")]] corolib::CoroutineAction corolib_switch_return(
    corolib::CoroutineAction action) noexcept;
}
asm(R"(
  .text
  .p2align 4
  .globl corolib_enter_return
  .hidden corolib_enter_return
  .type corolib_enter_return, @function
corolib_enter_return:
  .cfi_startproc
  popq %rcx
  .cfi_adjust_cfa_offset -8
  .cfi_register rip, rcx
  jmpq *%rcx
  .cfi_endproc
  .size corolib_enter_return, .-corolib_enter_return

  .p2align 4
  .globl corolib_switch_return
  .hidden corolib_switch_return
  .type corolib_switch_return, @function
corolib_switch_return:
  .cfi_startproc
  movl %edi, %eax
  popq %rcx
  .cfi_adjust_cfa_offset -8
  .cfi_register rip, rcx
  jmpq *%rcx
  .cfi_endproc
  .size corolib_switch_return, .-corolib_switch_return
)");
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

// The calling thread's state. Out of line, and the empty asm keeps the
// optimiser from treating it as a pure function, so no caller can reuse the
// address after a switch (it may then run on another thread).
[[gnu::noinline]] ThreadState& this_thread_state() {
  ThreadState* state = &thread_state;
  asm volatile("" : "+r"(state));
  return *state;
}

Coroutine* running_or_leader(ThreadState& state) {
  if (state.current != nullptr) return state.current;
  if (state.leader != nullptr) return state.leader;
  return leader_slow();
}

}  // namespace

[[gnu::noinline]] Coroutine* current_coroutine() { return thread_state.current; }

[[gnu::noinline]] void set_current_coroutine(Coroutine* co) { thread_state.current = co; }

[[gnu::noinline]] Coroutine* current_or_leader() { return running_or_leader(thread_state); }

[[gnu::noinline]] Scheduler* thread_scheduler_fresh() { return thread_state.scheduler; }

Coroutine* current_coroutine_for_signal() { return thread_state.current; }

// Not instrumented by ASan: a pooled coroutine resumes inside the switch_to()
// frame it terminated in, whose fake stack (detect_stack_use_after_return)
// was released at termination.
[[gnu::no_sanitize_address]] CoroutineAction switch_to(Coroutine* from, Coroutine* to,
                                                       CoroutineAction action) {
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
#ifdef COROLIB_JUMP_RETURN
  return corolib_switch_return(from->action);
#else
  return from->action;
#endif
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
  Coroutine* from = nullptr;
  Coroutine* head = co;
  Coroutine* tail = co;
  co->next = nullptr;
  bool from_wakeup_list = false;  // only the first coroutine is entered directly
  while (head != nullptr) {
    Coroutine* to = head;
    head = to->next;
    if (head == nullptr) tail = nullptr;
    to->next = nullptr;

    if (from_wakeup_list) {
      clear_scheduled(to);  // claimed by wake_deferred()/wake()
    } else if (const char* where = to->scheduled.load(std::memory_order_acquire)) {
      fprintf(stderr, "corolib: coroutine entered while already scheduled by %s\n", where);
      abort();
    }
    from_wakeup_list = true;
    if (to->caller != nullptr) {
      detail::die("coroutine re-entered recursively (it is running or on the chain of callers)");
    }
    // One look-up per switch: `state` is stale once switch_to() returns.
    detail::ThreadState& state = detail::this_thread_state();
    if (from == nullptr) from = detail::running_or_leader(state);
    to->caller = from;
    to->home.store(state.scheduler, std::memory_order_relaxed);
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
#ifdef COROLIB_JUMP_RETURN
  return corolib_enter_return();
#endif
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

namespace {

// wake_deferred() on behalf of `who`: claims co (so a second wakeup aborts
// naming both callers) and appends it to the current coroutine's list.
void defer_wakeup(Coroutine* co, const char* who) {
  Coroutine* self = detail::current_coroutine();
  if (self == nullptr) {
    enter(co);
    return;
  }
  mark_scheduled(co, who);
  co->next = nullptr;
  if (self->wakeup_tail != nullptr) {
    self->wakeup_tail->next = co;
  } else {
    self->wakeup_head = co;
  }
  self->wakeup_tail = co;
}

}  // namespace

void wake_deferred(Coroutine* co) { defer_wakeup(co, "wake_deferred"); }

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
    defer_wakeup(co, who);
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
