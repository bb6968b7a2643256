#include "stack.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "coroutine_impl.hpp"
#include "current.hpp"
#include "sanitizers.hpp"

#ifdef COROLIB_ASAN
#include <sanitizer/asan_interface.h>
#endif

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define COROLIB_HAVE_VALGRIND 1
#endif

namespace corolib::detail {
namespace {

std::size_t page_size() {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

struct sigaction previous_segv_action;

void write_stderr(const char* message) {
  ssize_t unused = write(STDERR_FILENO, message, strlen(message));
  (void)unused;
}

// Async-signal-safe: reads only the current coroutine's stack bounds.
void on_segv(int signo, siginfo_t* info, void* ucontext) {
  Coroutine* co = current_coroutine_for_signal();
  if (co != nullptr && co->stack_bottom != nullptr) {
    auto fault = reinterpret_cast<std::uintptr_t>(info->si_addr);
    auto bottom = reinterpret_cast<std::uintptr_t>(co->stack_bottom);
    if (fault < bottom && fault >= bottom - stack_guard_size()) {
      write_stderr("corolib: coroutine stack overflow (raise the stack size)\n");
      signal(SIGABRT, SIG_DFL);
      abort();
    }
  }
  // Not ours: hand over to whoever handled SIGSEGV before us.
  if (previous_segv_action.sa_flags & SA_SIGINFO) {
    if (previous_segv_action.sa_sigaction != nullptr) {
      previous_segv_action.sa_sigaction(signo, info, ucontext);
      return;
    }
  } else if (previous_segv_action.sa_handler != SIG_DFL &&
             previous_segv_action.sa_handler != SIG_IGN) {
    previous_segv_action.sa_handler(signo);
    return;
  }
  // Default action: return and fault again with the default disposition.
  signal(SIGSEGV, SIG_DFL);
}

void install_overflow_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_sigaction = on_segv;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    sigaction(SIGSEGV, &action, &previous_segv_action);
  });
}

// The alternate signal stack this thread installed (if any); unmapped when
// the thread exits.
struct ThreadAltStack {
  void* memory = nullptr;
  std::size_t size = 0;
  bool checked = false;

  ~ThreadAltStack() {
    if (memory == nullptr) return;
    stack_t disable{};
    disable.ss_flags = SS_DISABLE;
    sigaltstack(&disable, nullptr);
    munmap(memory, size);
  }
};

thread_local ThreadAltStack thread_alt_stack;

}  // namespace

std::size_t stack_guard_size() { return page_size(); }

std::size_t round_stack_size(std::size_t size) {
  std::size_t page = page_size();
  return (size + page - 1) / page * page;
}

void ensure_thread_alt_stack() {
  ThreadAltStack& alt = thread_alt_stack;
  if (alt.checked) return;
  alt.checked = true;
  stack_t old{};
  if (sigaltstack(nullptr, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
    return;  // someone (e.g. a sanitizer runtime) already set one up
  }
  std::size_t size = 64 * 1024;
  void* memory = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return;  // overflow then shows as a plain SIGSEGV
  stack_t stack{};
  stack.ss_sp = memory;
  stack.ss_size = size;
  if (sigaltstack(&stack, nullptr) != 0) {
    munmap(memory, size);
    return;
  }
  alt.memory = memory;
  alt.size = size;
}

CoroutineStack::~CoroutineStack() {
  if (bottom_ == nullptr) return;
#ifdef COROLIB_HAVE_VALGRIND
  VALGRIND_STACK_DEREGISTER(valgrind_id_);
#endif
  munmap(static_cast<char*>(bottom_) - stack_guard_size(), size_ + stack_guard_size());
}

void CoroutineStack::allocate(std::size_t size) {
  install_overflow_handler();
  size = round_stack_size(size);
  std::size_t guard = stack_guard_size();
  void* memory = mmap(nullptr, size + guard, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) {
    fprintf(stderr, "corolib: cannot map a %zu-byte coroutine stack: %s\n", size,
            strerror(errno));
    abort();
  }
  if (mprotect(memory, guard, PROT_NONE) != 0) {
    fprintf(stderr, "corolib: cannot protect a coroutine stack guard page: %s\n",
            strerror(errno));
    abort();
  }
  bottom_ = static_cast<char*>(memory) + guard;
  size_ = size;
#ifdef COROLIB_ASAN
  // A new mapping may reuse addresses of a freed stack whose frames ASan
  // still has poisoned.
  __asan_unpoison_memory_region(bottom_, size_);
#endif
#ifdef COROLIB_HAVE_VALGRIND
  valgrind_id_ = VALGRIND_STACK_REGISTER(bottom_, top());
#endif
}

}  // namespace corolib::detail
