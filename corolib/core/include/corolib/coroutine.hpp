// corolib coroutines: stackful coroutines modelled on QEMU's.
//
// Contract
// - create() makes a coroutine that has not started; enter() runs it until it
//   yields or returns. A coroutine terminates by returning from its entry
//   function; its object then goes back to the pool (or is freed) and must not
//   be used again by the caller.
// - yield() returns control to whoever entered the current coroutine. Nesting
//   is allowed: a coroutine may enter another one.
// - Entering a coroutine that is running, or already on the chain of callers,
//   aborts with a message. So does yield() outside a coroutine.
// - An exception escaping an entry function terminates the process with a
//   message; exceptions never unwind across a switch.
// - Coroutines are not bound to a thread: one may be created on one thread and
//   entered (after yielding) or terminated on another. A coroutine runs on the
//   thread that entered it.
// - When the current coroutine yields or terminates, the coroutines on its
//   wakeup list (see wake_deferred) run, in order, before control returns to
//   its caller. This is how CoQueue defers wakeups without an event loop.
//
// Functions marked coroutine_fn may yield and must only be called from a
// coroutine (checked in debug builds with assert_in_coroutine()).
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

// Marks a function that may yield. Empty, as in QEMU: it documents the
// contract for readers and tools.
#define coroutine_fn

namespace corolib {

class Coroutine;

using CoroutineEntry = void (*)(void* opaque);

// Creates a coroutine that will run entry(opaque) when first entered. Takes a
// coroutine from the pool when one is available (no allocation); otherwise
// allocates a stack of default_stack_size().
Coroutine* create(CoroutineEntry entry, void* opaque);

// Creates a coroutine from any callable taking no arguments. Callables up to
// kInlineCallableSize bytes are stored inside the coroutine object (no heap
// allocation when the pool has a coroutine); larger ones are heap-allocated.
template <class F>
Coroutine* create(F&& fn);

// Runs co until it yields or terminates. Aborts if co is running or already
// on the chain of callers. Runs the deferred wakeups co leaves behind.
void enter(Coroutine* co);

// Enters co only if it is not currently entered (running or on the chain of
// callers); otherwise does nothing. QEMU's qemu_coroutine_enter_if_inactive.
void enter_if_inactive(Coroutine* co);

// Suspends the current coroutine and returns to whoever entered it.
coroutine_fn void yield();

// The running coroutine, or nullptr outside a coroutine.
Coroutine* self();

// True when called from a coroutine.
bool in_coroutine();

// True while co is running or suspended inside enter() of another coroutine
// (it has a caller); false once it yielded or before it started.
bool entered(const Coroutine* co);

// Appends co to the current coroutine's wakeup list: co is entered when the
// current coroutine next yields or terminates, after any earlier entries.
// Outside a coroutine, co is entered immediately. co must not be entered or
// already on a wakeup list: a second wakeup aborts, naming both wakers
// (wake_deferred, or the `who` of corolib::wake()), and so does entering co
// directly while it is queued.
void wake_deferred(Coroutine* co);

// Aborts with a message unless called from a coroutine (debug builds only).
#ifdef NDEBUG
inline void assert_in_coroutine(const char*) {}
#else
void assert_in_coroutine(const char* function);
#endif

// Stack size for coroutines created from now on (rounded up to pages).
// Defaults to COROLIB_STACK_SIZE from the build (1 MiB unless configured).
void set_default_stack_size(std::size_t bytes);
std::size_t default_stack_size();

// Name of the switch backend this library was built with: "asm",
// "ucontext", "sigaltstack" or "thread".
const char* backend_name();

// Bytes of callable stored inline in the coroutine object by create(F).
inline constexpr std::size_t kInlineCallableSize = 96;

namespace detail {

// Type-erased callable storage used by create(F).
struct CallableSlot {
  alignas(std::max_align_t) unsigned char inline_storage[kInlineCallableSize];
  void (*invoke)(void* storage) = nullptr;
  void (*destroy)(void* storage) = nullptr;
};

// Reserves a coroutine whose entry runs the callable in its slot. The caller
// must construct the callable in the returned slot before entering.
Coroutine* create_for_callable(CallableSlot** slot);

template <class Fn>
struct HeapCallable {
  Fn* fn;
};

}  // namespace detail

template <class F>
Coroutine* create(F&& fn) {
  using Fn = std::decay_t<F>;
  detail::CallableSlot* slot = nullptr;
  Coroutine* co = detail::create_for_callable(&slot);
  if constexpr (sizeof(Fn) <= kInlineCallableSize &&
                alignof(Fn) <= alignof(std::max_align_t)) {
    new (slot->inline_storage) Fn(std::forward<F>(fn));
    slot->invoke = [](void* p) { (*static_cast<Fn*>(p))(); };
    slot->destroy = [](void* p) { static_cast<Fn*>(p)->~Fn(); };
  } else {
    using Boxed = detail::HeapCallable<Fn>;
    new (slot->inline_storage) Boxed{new Fn(std::forward<F>(fn))};
    slot->invoke = [](void* p) { (*static_cast<Boxed*>(p)->fn)(); };
    slot->destroy = [](void* p) { delete static_cast<Boxed*>(p)->fn; };
  }
  return co;
}

}  // namespace corolib
