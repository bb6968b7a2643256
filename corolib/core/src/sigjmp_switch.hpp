// The raw switch shared by the backends whose saved context is a sigjmp_buf
// (ucontext, sigaltstack): sigsetjmp(env, 0)/siglongjmp, no signal mask, so
// no system call.
//
// Defines backend_switch() (see backend.hpp) for coroutines derived from
// SigjmpCoroutine, so include it from exactly one file: the backend's .cpp,
// which must #undef _FORTIFY_SOURCE before its first #include (glibc's
// fortified siglongjmp, __longjmp_chk, rejects jumps to another stack).
//
// backend_switch() is itself the frame that calls sigsetjmp, not a wrapper
// around a helper: GCC never inlines a function that calls sigsetjmp, and an
// extra instrumented frame between the core's sanitizer_start_switch()
// (always inlined, see sanitizers.hpp) and sigsetjmp would unbalance TSan's
// shadow call stacks.
#pragma once

#include <setjmp.h>

#include "backend.hpp"
#include "coroutine_impl.hpp"
#include "sanitizers.hpp"

#if defined(__USE_FORTIFY_LEVEL) && __USE_FORTIFY_LEVEL > 0
#error "sigjmp_switch.hpp: #undef _FORTIFY_SOURCE before the first #include"
#endif

#ifdef COROLIB_TSAN
extern "C" void __tsan_func_entry(void* call_pc);  // TSan runtime, no public header
#endif

namespace corolib::detail {

// A coroutine whose context, while switched out, is saved in env.
struct SigjmpCoroutine : Coroutine {
  sigjmp_buf env;
};

// TSan keeps sigsetjmp buffers, with the depth of the shadow call stack, per
// fiber. The core has already switched TSan to `to` (with happens-before),
// so this function's entry went on to's shadow stack, and nothing may be
// read as `from` any more. Save the context as `from`, with a frame pushed
// for this function's exit when `from` resumes; siglongjmp, as `to`, pops
// the frame this entry pushed. Needs sanitizer_start_switch() inlined.
[[gnu::noinline]] void backend_switch(Coroutine* from, Coroutine* to) {
#ifdef COROLIB_TSAN
  void* const to_fiber = to->tsan_fiber;
  __tsan_switch_to_fiber(from->tsan_fiber, __tsan_switch_to_fiber_no_sync);
  __tsan_func_entry(__builtin_return_address(0));
#endif
  if (sigsetjmp(static_cast<SigjmpCoroutine*>(from)->env, 0) == 0) {
#ifdef COROLIB_TSAN
    __tsan_switch_to_fiber(to_fiber, __tsan_switch_to_fiber_no_sync);
#endif
    siglongjmp(static_cast<SigjmpCoroutine*>(to)->env, 1);
  }
}

}  // namespace corolib::detail
