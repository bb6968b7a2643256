// The interface each switch backend implements (one backend per library).
//
// A backend creates and destroys coroutine contexts and performs the raw
// switch. Everything else (entry loop, caller chain, pool, wakeups,
// sanitizer bookkeeping) lives in the core.
#pragma once

#include <cstddef>

#include "coroutine_impl.hpp"

namespace corolib::detail {

// Backend name, as reported by corolib::backend_name().
extern const char* const kBackendName;

// False for backends whose contexts cannot be reused after termination
// (the thread backend): the pool is then disabled.
extern const bool kBackendSupportsPool;

// True when switching changes stacks inside one thread (asm, ucontext,
// sigaltstack): the core then annotates switches for ASan and TSan.
extern const bool kBackendSwitchesStacks;

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
// thread switches back to `from`.
void backend_switch(Coroutine* from, Coroutine* to);

}  // namespace corolib::detail
