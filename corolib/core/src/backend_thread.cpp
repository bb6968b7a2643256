// The thread backend: one OS thread per coroutine (QEMU's gthread), the
// reference the stack-switching backends are checked against.
//
// Control is handed over with a mutex and condition variable per context:
// a switch marks `to` runnable and waits until `from` is runnable again.
// Only one context of a chain runs at a time, so the core's per-thread
// "current coroutine" is right on every thread: a coroutine's thread only
// ever runs that coroutine. The thread runs on a CoroutineStack (guard page
// and all), so the overflow handler recognises overflows. Threads cannot be
// reused: a terminating coroutine's thread exits once it has handed control
// back, and the pool is disabled. Each OS thread has its own leader.
//
// A coroutine's thread takes over the scheduler (see scheduler.hpp) of the
// thread that switched to it, as if it ran there. Other thread-local state
// is the coroutine's own.
#include <link.h>
#include <pthread.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "backend.hpp"
#include "stack.hpp"

namespace corolib::detail {
namespace {

struct ThreadCoroutine final : Coroutine {
  std::mutex mutex;
  std::condition_variable wakeup;
  bool runnable = false;  // guarded by mutex: may run (until it next switches)
  bool exiting = false;   // guarded by mutex: its thread must exit
  Scheduler* scheduler = nullptr;  // handed over with control
  pthread_t thread{};
  CoroutineStack stack;

  // Waits until runnable (true) or told to exit (false).
  bool wait() {
    std::unique_lock lock(mutex);
    wakeup.wait(lock, [this] { return runnable || exiting; });
    if (!runnable) return false;
    runnable = false;
    return true;
  }

  // Notifies under the lock: once unlocked, this context may be gone.
  void make_runnable() {
    std::lock_guard lock(mutex);
    runnable = true;
    wakeup.notify_one();
  }
};

[[noreturn]] void die(const char* what, int error) {
  fprintf(stderr, "corolib: %s: %s\n", what, strerror(error));
  abort();
}

// Bytes glibc takes from the top of a caller-supplied thread stack for the
// thread descriptor and static TLS: the modules' TLS blocks plus slack.
std::size_t tls_reserve() {
  static const std::size_t reserve = [] {
    std::size_t tls = 0;
    dl_iterate_phdr(
        [](dl_phdr_info* info, std::size_t, void* total) {
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const auto& phdr = info->dlpi_phdr[i];
            if (phdr.p_type == PT_TLS) {
              *static_cast<std::size_t*>(total) += phdr.p_memsz + phdr.p_align;
            }
          }
          return 0;
        },
        &tls);
    return round_stack_size(tls + 16 * 1024);
  }();
  return reserve;
}

void* thread_main(void* arg) {
  auto* co = static_cast<ThreadCoroutine*>(arg);
  if (!co->wait()) return nullptr;  // destroyed before it was ever entered
  set_thread_scheduler(co->scheduler);
  on_first_entry(co);
  coroutine_main(co);
}

}  // namespace

const char* const kBackendName = "thread";
const bool kBackendSupportsPool = false;

Coroutine* backend_create(std::size_t stack_size) {
  auto* co = new ThreadCoroutine;
  // The usable part starts above the guard page; glibc puts the thread
  // descriptor and TLS at the top, above what we promise.
  co->stack.allocate(stack_size + tls_reserve());
  co->stack_bottom = co->stack.bottom();
  co->stack_size = co->stack.size();
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, co->stack.bottom(), co->stack.size());
  int error = pthread_create(&co->thread, &attr, thread_main, co);
  pthread_attr_destroy(&attr);
  if (error != 0) die("cannot create a coroutine thread", error);
  return co;
}

void backend_destroy(Coroutine* base) {
  auto* co = static_cast<ThreadCoroutine*>(base);
  {
    std::lock_guard lock(co->mutex);
    co->exiting = true;
    co->wakeup.notify_one();
  }
  int error = pthread_join(co->thread, nullptr);
  if (error != 0) die("cannot join a coroutine thread", error);
  delete co;
}

Coroutine* backend_leader() {
  thread_local ThreadCoroutine leader;
  return &leader;
}

void backend_switch(Coroutine* from_base, Coroutine* to_base) {
  auto* from = static_cast<ThreadCoroutine*>(from_base);
  auto* to = static_cast<ThreadCoroutine*>(to_base);
  // Read before handing over: `to` may run (and change it) at once.
  bool terminating = to->action == CoroutineAction::kTerminate;
  to->scheduler = thread_scheduler();
  to->make_runnable();
  if (terminating) {
    // `from` is never resumed; backend_destroy() joins this thread, so
    // `from` stays valid until the thread is gone.
    pthread_exit(nullptr);
  }
  if (!from->wait()) {
    fprintf(stderr, "corolib: a suspended coroutine was destroyed\n");
    abort();
  }
  if (!from->is_leader) set_thread_scheduler(from->scheduler);
}

}  // namespace corolib::detail
