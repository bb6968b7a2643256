// The ucontext backend: QEMU's coroutine-ucontext.
//
// makecontext() builds a coroutine's initial context once, at creation: the
// creator jumps into it with setcontext(), the trampoline saves a sigjmp_buf
// on the new stack and jumps straight back. Every later switch is
// sigsetjmp(env, 0)/siglongjmp: no signal mask, so no system call. Like
// QEMU's, it does not keep the floating-point control state per coroutine.
// The core annotates switches for ASan and TSan; the creation-time jumps are
// annotated here, and backend_switch() (sigjmp_switch.hpp) keeps TSan's
// sigsetjmp records right.

// glibc's fortified siglongjmp (__longjmp_chk) rejects jumps to another stack.
#undef _FORTIFY_SOURCE

#include <setjmp.h>
#include <ucontext.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "backend.hpp"
#include "sanitizers.hpp"
#include "sigjmp_switch.hpp"
#include "stack.hpp"

namespace corolib::detail {
namespace {

// The creator's side of a creation: where the trampoline jumps back to.
struct Creation {
  sigjmp_buf env;
  void* tsan_fiber;
};

struct UcontextCoroutine final : SigjmpCoroutine {
  Creation* creation = nullptr;
  CoroutineStack stack;
};

// Runs on the new stack, entered by setcontext() from backend_create().
void trampoline(int low, int high) {
  auto* co = reinterpret_cast<UcontextCoroutine*>(
      static_cast<std::uintptr_t>(static_cast<unsigned>(high)) << 32 |
      static_cast<unsigned>(low));
  const void* creator_bottom = nullptr;
  std::size_t creator_size = 0;
  sanitizer_finish_switch(nullptr, &creator_bottom, &creator_size);
  if (sigsetjmp(co->env, 0) == 0) {
    // Back to the creator; the first backend_switch() resumes below.
#ifdef COROLIB_ASAN
    // No fake stack to keep: nothing on it is used after the jump back.
    __sanitizer_start_switch_fiber(nullptr, creator_bottom, creator_size);
#endif
#ifdef COROLIB_TSAN
    __tsan_switch_to_fiber(co->creation->tsan_fiber, 0);
#endif
    siglongjmp(co->creation->env, 1);
  }
  on_first_entry(co);
  coroutine_main(co);
}

// Jumps into co's fresh context and back, leaving co->env ready to resume
// in the trampoline.
[[gnu::noinline]] void start(UcontextCoroutine* co, ucontext_t* uc) {
  Creation creation;
  creation.tsan_fiber = sanitizer_current_fiber();
  co->creation = &creation;
  void* fake_stack = nullptr;
  if (sigsetjmp(creation.env, 0) == 0) {
    sanitizer_start_switch(&fake_stack, co);
    setcontext(uc);
    fprintf(stderr, "corolib: setcontext failed\n");
    abort();
  }
  const void* bottom;
  std::size_t size;
  sanitizer_finish_switch(fake_stack, &bottom, &size);
  co->creation = nullptr;
}

}  // namespace

const char* const kBackendName = "ucontext";
const bool kBackendSupportsPool = true;

Coroutine* backend_create(std::size_t stack_size) {
  auto* co = new UcontextCoroutine;
  co->stack.allocate(stack_size);
  co->stack_bottom = co->stack.bottom();
  co->stack_size = co->stack.size();
  co->tsan_fiber = sanitizer_create_fiber();

  ucontext_t uc;
  if (getcontext(&uc) != 0) {
    fprintf(stderr, "corolib: getcontext failed\n");
    abort();
  }
  uc.uc_link = nullptr;  // the trampoline never returns
  uc.uc_stack.ss_sp = co->stack.bottom();
  uc.uc_stack.ss_size = co->stack.size();
  uc.uc_stack.ss_flags = 0;
  auto address = reinterpret_cast<std::uintptr_t>(co);
  makecontext(&uc, reinterpret_cast<void (*)()>(trampoline), 2,
              static_cast<int>(static_cast<std::uint32_t>(address)),
              static_cast<int>(static_cast<std::uint32_t>(address >> 32)));
  start(co, &uc);
  return co;
}

void backend_destroy(Coroutine* co) {
  sanitizer_destroy_fiber(co->tsan_fiber);
  delete static_cast<UcontextCoroutine*>(co);
}

Coroutine* backend_leader() {
  thread_local UcontextCoroutine leader;
  return &leader;
}

}  // namespace corolib::detail
