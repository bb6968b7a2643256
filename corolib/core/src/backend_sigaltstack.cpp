// The sigaltstack backend: QEMU's coroutine-sigaltstack (after GNU Pth).
//
// A coroutine's initial context is made by a signal handler: creation points
// the thread's alternate signal stack at the new coroutine stack and sends
// SIGUSR2 to the thread itself; the handler, running on that stack, saves a
// sigjmp_buf and returns. The first switch siglongjmps into the handler's
// frame, which then starts the coroutine. Every switch is sigsetjmp(env, 0)
// /siglongjmp: no signal mask, so no system call.
//
// Creation briefly replaces the process-wide SIGUSR2 disposition, so it is
// serialised by a mutex; the previous handler, the thread's alternate signal
// stack (see ensure_thread_alt_stack()) and its signal mask are restored
// afterwards. A SIGUSR2 from elsewhere that arrives during a creation is lost.
// The floating-point control state is not kept per coroutine. The core
// annotates switches for ASan and TSan; the handler annotates its own stack
// change, and backend_switch() (sigjmp_switch.hpp) keeps TSan's sigsetjmp
// records right.

// glibc's fortified siglongjmp (__longjmp_chk) rejects jumps to another stack.
#undef _FORTIFY_SOURCE

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "backend.hpp"
#include "sanitizers.hpp"
#include "sigjmp_switch.hpp"
#include "stack.hpp"

namespace corolib::detail {
namespace {

struct SigaltstackCoroutine final : SigjmpCoroutine {
  CoroutineStack stack;
};

std::mutex creation_mutex;
std::atomic<SigaltstackCoroutine*> creating{nullptr};  // guarded by creation_mutex
std::atomic<bool> created{false};

[[noreturn]] void die(const char* what) {
  perror(what);
  abort();
}

// Runs in the handler's frame, on co's stack, at co's first entry.
[[noreturn, gnu::noinline]] void start(SigaltstackCoroutine* co) {
  on_first_entry(co);
  coroutine_main(co);
}

// SIGUSR2 handler, on the alternate stack = co's stack. Annotates the stack
// change for ASan and TSan (as if switched to co) around sigsetjmp, and back.
void on_creation_signal(int) {
  SigaltstackCoroutine* co = creating.load(std::memory_order_relaxed);
  auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  if (co == nullptr || frame < reinterpret_cast<std::uintptr_t>(co->stack.bottom()) ||
      frame >= reinterpret_cast<std::uintptr_t>(co->stack.top())) {
    return;  // a stray SIGUSR2, not on a new coroutine's stack
  }
  int saved_errno = errno;
#ifdef COROLIB_ASAN
  void* fake_stack = nullptr;
  const void* creator_bottom = nullptr;
  std::size_t creator_size = 0;
  __sanitizer_start_switch_fiber(&fake_stack, co->stack_bottom, co->stack_size);
  __sanitizer_finish_switch_fiber(nullptr, &creator_bottom, &creator_size);
#endif
#ifdef COROLIB_TSAN
  void* creator_fiber = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(co->tsan_fiber, 0);
#endif
  if (sigsetjmp(co->env, 0) != 0) start(co);  // the first backend_switch()
#ifdef COROLIB_TSAN
  __tsan_switch_to_fiber(creator_fiber, 0);
#endif
#ifdef COROLIB_ASAN
  // co's fiber has no fake stack yet: nothing to keep.
  __sanitizer_start_switch_fiber(nullptr, creator_bottom, creator_size);
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  created.store(true, std::memory_order_relaxed);
  errno = saved_errno;
}

// Runs co's creation handler on co's stack; restores all it changes.
void make_initial_context(SigaltstackCoroutine* co) {
  std::lock_guard lock(creation_mutex);

  struct sigaction action {}, old_action;
  action.sa_handler = on_creation_signal;
  action.sa_flags = SA_ONSTACK;
  sigfillset(&action.sa_mask);
  if (sigaction(SIGUSR2, &action, &old_action) != 0) die("corolib: sigaction");

  stack_t stack{}, old_stack;
  stack.ss_sp = co->stack.bottom();
  stack.ss_size = co->stack.size();
  if (sigaltstack(&stack, &old_stack) != 0) die("corolib: sigaltstack");

  creating.store(co, std::memory_order_relaxed);
  created.store(false, std::memory_order_relaxed);
  // Unblocked, a signal sent to oneself is handled before pthread_kill()
  // returns (and TSan then runs the handler at once, not deferred).
  sigset_t usr2, old_mask;
  sigemptyset(&usr2);
  sigaddset(&usr2, SIGUSR2);
  pthread_sigmask(SIG_UNBLOCK, &usr2, &old_mask);
  pthread_kill(pthread_self(), SIGUSR2);
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  creating.store(nullptr, std::memory_order_relaxed);

  if (old_stack.ss_flags & SS_DISABLE) {
    stack_t disable{};
    disable.ss_flags = SS_DISABLE;
    sigaltstack(&disable, nullptr);
  } else {
    old_stack.ss_flags = 0;
    sigaltstack(&old_stack, nullptr);
  }
  sigaction(SIGUSR2, &old_action, nullptr);
  if (!created.load(std::memory_order_relaxed)) {
    fprintf(stderr, "corolib: the SIGUSR2 creation handler did not run\n");
    abort();
  }
}


}  // namespace

const char* const kBackendName = "sigaltstack";
const bool kBackendSupportsPool = true;

Coroutine* backend_create(std::size_t stack_size) {
  auto* co = new SigaltstackCoroutine;
  co->stack.allocate(stack_size);
  co->stack_bottom = co->stack.bottom();
  co->stack_size = co->stack.size();
  co->tsan_fiber = sanitizer_create_fiber();
  make_initial_context(co);
  return co;
}

void backend_destroy(Coroutine* co) {
  sanitizer_destroy_fiber(co->tsan_fiber);
  delete static_cast<SigaltstackCoroutine*>(co);
}

Coroutine* backend_leader() {
  thread_local SigaltstackCoroutine leader;
  return &leader;
}

}  // namespace corolib::detail
