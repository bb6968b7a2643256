// The interface each switch backend implements (one backend per library).
//
// A backend creates and destroys coroutine contexts and performs the raw
// switch. Everything else (entry loop, caller chain, pool, wakeups,
// sanitizer bookkeeping) lives in the core.
#pragma once

#include <cstddef>

#include "coroutine_impl.hpp"

#if defined(COROLIB_BACKEND_ASM)
#include "asm_switch.hpp"
#endif

namespace corolib::detail {

// Backend name, as reported by corolib::backend_name().
extern const char* const kBackendName;

// False for backends whose contexts cannot be reused after termination
// (the thread backend): the pool is then disabled.
extern const bool kBackendSupportsPool;

// True when switching changes stacks inside one thread (asm, ucontext,
// sigaltstack): the core then annotates switches for ASan and TSan. Known at
// compile time: the core's coroutine.cpp is compiled once per backend, with
// COROLIB_BACKEND_<NAME> defined.
// (Undefined in the backend-independent files, which must not depend on it.)
#if defined(COROLIB_BACKEND_THREAD)
inline constexpr bool kBackendSwitchesStacks = false;
#elif defined(COROLIB_BACKEND_ASM) || defined(COROLIB_BACKEND_UCONTEXT) || \
    defined(COROLIB_BACKEND_SIGALTSTACK)
inline constexpr bool kBackendSwitchesStacks = true;
#endif

// Creates a coroutine with a stack of at least stack_size usable bytes. The
// first switch to it must call on_first_entry() then coroutine_main(co).
// Sets stack_bottom/stack_size and tsan_fiber when kBackendSwitchesStacks.
Coroutine* backend_create(std::size_t stack_size);

// Destroys a coroutine that is not running (terminated or never entered).
void backend_destroy(Coroutine* co);

// The calling thread's leader: the context of the thread's own stack, used
// as `from` when entering a coroutine outside any coroutine. Valid until the
// thread exits.
Coroutine* backend_leader();

// Saves the running context into `from` and resumes `to`. Returns when some
// thread switches back to `from`, which then sets itself current.
//
// The asm backend instead provides, inline (asm_switch.hpp),
//   backend_switch_publishing(from, to, Coroutine** current, Coroutine* next)
// which stores `next` into *current between saving `from` and resuming `to`:
// nothing is left to do on arrival, and a stack overflow while saving `from`
// is still reported against `from`.
#if defined(COROLIB_BACKEND_ASM)
#define COROLIB_BACKEND_PUBLISHES_CURRENT 1
#else
#define COROLIB_BACKEND_PUBLISHES_CURRENT 0
void backend_switch(Coroutine* from, Coroutine* to);
#endif

}  // namespace corolib::detail
