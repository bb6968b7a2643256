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
// enter() and yield() therefore end in a tail call to a stub that pops the
// return address and jumps to it: an indirect jump, which the branch
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
[[gnu::visibility("hidden")]] void corolib_yield_return() noexcept;
}
#define COROLIB_JUMP_RETURN_STUB(name) \
  "  .p2align 4\n"                     \
  "  .globl " name "\n"                 \
  "  .hidden " name "\n"                \
  "  .type " name ", @function\n"       \
  name ":\n"                            \
  "  .cfi_startproc\n"                  \
  "  popq %rcx\n"                       \
  "  .cfi_adjust_cfa_offset -8\n"       \
  "  .cfi_register rip, rcx\n"          \
  "  jmpq *%rcx\n"                      \
  "  .cfi_endproc\n"                    \
  "  .size " name ", .-" name "\n"
asm("  .text\n" COROLIB_JUMP_RETURN_STUB("corolib_enter_return")
        COROLIB_JUMP_RETURN_STUB("corolib_yield_return"));
#endif

// The switch path (switch_to() and the functions it is inlined into) is not
// instrumented by ASan: a pooled coroutine resumes inside the frame it
// terminated in, whose fake stack (detect_stack_use_after_return) was
// released at termination.
#define COROLIB_SWITCH_PATH gnu::no_sanitize_address

// The calling thread's coroutine state.
//
// A coroutine may resume on another thread, so the address of this
// thread_local must never be cached across a switch (QEMU's coroutine-TLS
// problem): compilers treat the thread pointer as constant within a function.
// fresh_thread_state() computes the address in an asm volatile statement
// (x86-64, initial-exec TLS: %fs:0 plus the variable's offset), which the
// compiler can neither reuse nor move across a switch; elsewhere it is an
// out-of-line call with the same effect. Call it afresh after every switch.
namespace corolib::detail {
struct ThreadState {
  Coroutine* current = nullptr;  // running coroutine; nullptr on the thread's own stack
  Coroutine* leader = nullptr;   // context of the thread's own stack, once known
  Scheduler* scheduler = nullptr;
};
}  // namespace corolib::detail

extern "C" {
[[gnu::visibility("hidden"), gnu::tls_model("initial-exec")]] thread_local corolib::detail::
    ThreadState corolib_thread_state;
}

namespace corolib::detail {
namespace {
#if defined(__x86_64__)
[[gnu::always_inline]] inline ThreadState* fresh_thread_state() {
  ThreadState* state;
  asm volatile(
      "movq %%fs:0, %0\n\t"
      "addq corolib_thread_state@gottpoff(%%rip), %0"
      : "=r"(state));
  return state;
}
#else
[[gnu::noinline]] ThreadState* fresh_thread_state() {
  ThreadState* state = &corolib_thread_state;
  asm volatile("" : "+r"(state));
  return state;
}
#endif
}  // namespace
}  // namespace corolib::detail

namespace corolib {
namespace detail {
namespace {

std::atomic<std::size_t> configured_stack_size{COROLIB_STACK_SIZE};

[[noreturn]] void die(const char* message) {
  fprintf(stderr, "corolib: %s\n", message);
  abort();
}

[[gnu::noinline]] Coroutine* leader_slow() {
  ThreadState& state = *fresh_thread_state();
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
  Coroutine* leader = fresh_thread_state()->leader;
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

Coroutine* running_or_leader(ThreadState& state) {
  if (state.current != nullptr) return state.current;
  if (state.leader != nullptr) return state.leader;
  return leader_slow();
}

// Switches from `from` (the running coroutine or leader of the thread whose
// state is `state`) to `to`, handing it `action`. Returns the action handed
// back when someone switches to `from`. Handles sanitizer annotations and the
// current-coroutine pointer. Inlined, so every caller has its own resume
// point (see asm_switch.hpp).
[[gnu::always_inline, COROLIB_SWITCH_PATH]] inline CoroutineAction switch_to(
    Coroutine* from, Coroutine* to, CoroutineAction action, ThreadState* state) {
  to->action = action;
  void* fake_stack_save = nullptr;
  if constexpr (kBackendSwitchesStacks) {
    sanitizer_start_switch(action == CoroutineAction::kTerminate ? nullptr : &fake_stack_save,
                           to);
  }
#if COROLIB_BACKEND_PUBLISHES_CURRENT
  backend_switch_publishing(from, to, &state->current, to->is_leader ? nullptr : to);
#else
  (void)state;  // stale once we return: we may resume on another thread
  backend_switch(from, to);
  fresh_thread_state()->current = from->is_leader ? nullptr : from;
#endif
  if constexpr (kBackendSwitchesStacks) arrive(fake_stack_save, from);
  return from->action;
}

// Enters `to` from `from`, the running context of the thread whose state is
// `state`. Returns how `to` came back (yielded or terminated).
[[gnu::always_inline, COROLIB_SWITCH_PATH]] inline CoroutineAction enter_from(
    Coroutine* from, Coroutine* to, ThreadState* state) {
  if (to->caller != nullptr) {
    die("coroutine re-entered recursively (it is running or on the chain of callers)");
  }
  to->caller = from;
  to->home.store(state->scheduler, std::memory_order_relaxed);
  return switch_to(from, to, CoroutineAction::kEnter, state);
}

// Takes back a coroutine that terminated.
[[gnu::noinline]] void release_terminated(Coroutine* co) {
  if (co->locks_held != 0) {
    fprintf(stderr, "corolib: coroutine terminated while holding %u CoMutex lock(s)\n",
            co->locks_held);
    abort();
  }
  pool_release(co);
}

// Detaches and returns co's wakeup list (linked through `next`).
Coroutine* take_wakeups(Coroutine* co) {
  Coroutine* head = co->wakeup_head;
  co->wakeup_head = nullptr;
  co->wakeup_tail = nullptr;
  return head;
}

// Enters, from `from`, each coroutine of a wakeup list in order; the wakeups
// each of them leaves behind run next, before the rest of the list.
[[gnu::noinline, COROLIB_SWITCH_PATH]] void run_wakeups(Coroutine* from, Coroutine* head) {
  while (head != nullptr) {
    Coroutine* to = head;
    head = to->next;
    to->next = nullptr;
    clear_scheduled(to);  // claimed by wake_deferred()/wake()
    CoroutineAction action = enter_from(from, to, fresh_thread_state());
    if (to->wakeup_head != nullptr) {
      Coroutine* last = to->wakeup_tail;
      last->next = head;
      head = take_wakeups(to);
    }
    if (action == CoroutineAction::kTerminate) release_terminated(to);
  }
}

}  // namespace

Coroutine* current_coroutine() { return fresh_thread_state()->current; }

Coroutine* current_coroutine_for_signal() { return corolib_thread_state.current; }

void on_first_entry(Coroutine* self) {
  fresh_thread_state()->current = self;
  ensure_thread_alt_stack();
  if (kBackendSwitchesStacks) arrive(nullptr, self);
}

[[noreturn, COROLIB_SWITCH_PATH]] void coroutine_main(Coroutine* self) {
  for (;;) {
    run_entry(self);
    // Re-read self's state after the entry: it may have moved threads.
    switch_to(self, self->caller, CoroutineAction::kTerminate, fresh_thread_state());
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

[[COROLIB_SWITCH_PATH]] void enter(Coroutine* co) {
  if (const char* where = co->scheduled.load(std::memory_order_acquire)) {
    fprintf(stderr, "corolib: coroutine entered while already scheduled by %s\n", where);
    abort();
  }
  detail::ThreadState* state = detail::fresh_thread_state();
  Coroutine* from = detail::running_or_leader(*state);
  CoroutineAction action = detail::enter_from(from, co, state);
  // Take co's wakeups before releasing it: a released coroutine may be
  // reused at once, on another thread.
  Coroutine* wakeups = co->wakeup_head != nullptr ? detail::take_wakeups(co) : nullptr;
  if (action == CoroutineAction::kTerminate) detail::release_terminated(co);
  if (wakeups != nullptr) detail::run_wakeups(from, wakeups);
#ifdef COROLIB_JUMP_RETURN
  return corolib_enter_return();
#endif
}

void enter_if_inactive(Coroutine* co) {
  if (!entered(co)) enter(co);
}

[[COROLIB_SWITCH_PATH]] void yield() {
  detail::ThreadState* state = detail::fresh_thread_state();
  Coroutine* self = state->current;
  if (self == nullptr) detail::die("yield() called outside a coroutine");
  Coroutine* to = self->caller;
  self->caller = nullptr;
  detail::switch_to(self, to, CoroutineAction::kYield, state);
#ifdef COROLIB_JUMP_RETURN
  return corolib_yield_return();
#endif
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

void set_thread_scheduler(Scheduler* scheduler) {
  detail::fresh_thread_state()->scheduler = scheduler;
}

Scheduler* thread_scheduler() { return detail::fresh_thread_state()->scheduler; }

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
