// CoMutex: QEMU's lock-free coroutine mutex (after OSv's lfmutex).
//
// locked_ counts the holder plus every lock() that gave up on the fast path;
// it only drops to 0 when the holder unlocks with nobody behind it. Waiters
// push a record on their stack onto from_push_ (lock-free LIFO). Only one
// coroutine at a time may pop: it reverses from_push_ into the FIFO to_pop_
// and hands the mutex to the first record. Popping is allowed to:
//   1. unlock(), before it posts a hand-off token;
//   2. a lock() that takes the posted token (then no hand-off is running);
//   3. unlock() again, if it takes its own token back.
// The token covers the window in which a lock() has counted itself in
// locked_ but not yet pushed its record: unlock() finds no record, posts the
// token and checks again; the locker checks for a token after pushing. With
// sequentially consistent ordering on both sides, at least one of them sees
// the other and wakes somebody. Sequence numbers keep a stale token from
// being taken twice.
#include "corolib/co_mutex.hpp"

#include <cstdio>
#include <cstdlib>

#include "co_mutex_hooks.hpp"
#include "coroutine_impl.hpp"
#include "current.hpp"

namespace corolib {
namespace {

// Iterations a locker spins while a holder on another event loop runs.
constexpr int kSpinLimit = 1000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

std::atomic<detail::CoMutexHook> test_hook{nullptr};

// Slow paths only: one relaxed load when no test hook is installed.
inline void hook(detail::CoMutexHookPoint point) {
  if (detail::CoMutexHook h = test_hook.load(std::memory_order_relaxed)) h(point);
}

[[noreturn]] void die(const char* message) {
  fprintf(stderr, "corolib: %s\n", message);
  abort();
}

[[gnu::noinline, noreturn]] void not_in_coroutine(const char* function) {
  fprintf(stderr, "corolib: %s must be called from a coroutine\n", function);
  abort();
}

// The running coroutine (read straight from the core: this is the hot path).
inline Coroutine* self_or_die(const char* function) {
  Coroutine* co = detail::current_coroutine();
  if (co == nullptr) [[unlikely]] not_in_coroutine(function);
  return co;
}

// The event loop `co` last ran on (home_scheduler() without the call).
inline Scheduler* loop_of(const Coroutine* co) { return co->home.load(std::memory_order_relaxed); }

}  // namespace

void detail::set_comutex_hook(detail::CoMutexHook h) {
  test_hook.store(h, std::memory_order_relaxed);
}

struct CoMutex::WaitRecord {
  Coroutine* co = nullptr;
  WaitRecord* next = nullptr;
};

CoMutex::~CoMutex() {
#ifndef NDEBUG
  if (locked_.load(std::memory_order_relaxed) != 0) die("CoMutex destroyed while locked");
#endif
}

inline void CoMutex::become_holder(Coroutine* self, Scheduler* here) {
  holder_loop_.store(here, std::memory_order_relaxed);
  holder_.store(self, std::memory_order_relaxed);
  ++self->locks_held;
}

void CoMutex::lock() {
  Coroutine* self = self_or_die("CoMutex::lock");
  Scheduler* here = loop_of(self);
  unsigned waiters = 0;
  int spins = 0;
  for (;;) {
    unsigned seen = 0;
    if (locked_.compare_exchange_strong(seen, 1, std::memory_order_acquire,
                                        std::memory_order_relaxed)) {
      waiters = 0;
      break;
    }
    // Held by one coroutine and nobody queued: if it runs on another loop,
    // it may well unlock within a few hundred cycles.
    bool retry = false;
    while (seen == 1 && ++spins < kSpinLimit) {
      if (holder_loop_.load(std::memory_order_relaxed) == here) break;
      if (locked_.load(std::memory_order_relaxed) == 0) {
        retry = true;
        break;
      }
      cpu_relax();
    }
    if (retry) continue;
    waiters = locked_.fetch_add(1, std::memory_order_acq_rel);
    break;
  }
  if (waiters != 0) lock_slowpath(self);
  become_holder(self, here);
}

void CoMutex::lock_slowpath(Coroutine* self) {
  hook(detail::CoMutexHookPoint::kLockBeforePush);
  WaitRecord record;
  record.co = self;
  WaitRecord* top = from_push_.load(std::memory_order_relaxed);
  do {
    record.next = top;
  } while (!from_push_.compare_exchange_weak(top, &record, std::memory_order_seq_cst,
                                             std::memory_order_relaxed));
  hook(detail::CoMutexHookPoint::kLockAfterPush);

  // Take over a concurrent unlock()'s duty to wake somebody, if it posted one.
  unsigned token = handoff_.load(std::memory_order_seq_cst);
  if (token != 0 && has_waiters() &&
      handoff_.compare_exchange_strong(token, 0, std::memory_order_seq_cst)) {
    // We are the only popper now, and we are queued: pop cannot fail.
    hook(detail::CoMutexHookPoint::kLockTookToken);
    WaitRecord* first = pop_waiter();
    if (first == &record) return;  // our own turn: we hold the mutex
    hand_over(first->co, "CoMutex::lock (hand-off)");
  }
  hook(detail::CoMutexHookPoint::kLockBeforeYield);
  yield();
  // Whoever woke us popped our record and handed us the mutex.
}

CoMutex::WaitRecord* CoMutex::pop_waiter() {
  WaitRecord* first = to_pop_.load(std::memory_order_relaxed);
  if (first == nullptr) {
    WaitRecord* pushed = from_push_.exchange(nullptr, std::memory_order_acq_rel);
    if (pushed == nullptr) return nullptr;
    // LIFO to FIFO.
    while (pushed != nullptr) {
      WaitRecord* following = pushed->next;
      pushed->next = first;
      first = pushed;
      pushed = following;
    }
  }
  to_pop_.store(first->next, std::memory_order_relaxed);
  return first;
}

bool CoMutex::has_waiters() const {
  return to_pop_.load(std::memory_order_relaxed) != nullptr ||
         from_push_.load(std::memory_order_seq_cst) != nullptr;
}

void CoMutex::hand_over(Coroutine* next, const char* who) {
  // The record is gone once `next` runs; only its coroutine is used here.
  holder_loop_.store(loop_of(next), std::memory_order_relaxed);
  wake(next, who);
}

bool CoMutex::try_lock() {
  Coroutine* self = self_or_die("CoMutex::try_lock");
  unsigned seen = 0;
  if (!locked_.compare_exchange_strong(seen, 1, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
    return false;
  }
  become_holder(self, loop_of(self));
  return true;
}

void CoMutex::unlock() {
  Coroutine* self = self_or_die("CoMutex::unlock");
  Coroutine* holder = holder_.load(std::memory_order_relaxed);
  if (holder != self) {
    if (holder == nullptr) {
      fprintf(stderr, "corolib: CoMutex::unlock: the mutex is not locked (caller %p)\n",
              static_cast<void*>(self));
    } else {
      fprintf(stderr,
              "corolib: CoMutex::unlock: caller %p does not hold the mutex (holder %p)\n",
              static_cast<void*>(self), static_cast<void*>(holder));
    }
    abort();
  }
  holder_loop_.store(nullptr, std::memory_order_relaxed);
  holder_.store(nullptr, std::memory_order_relaxed);
  --self->locks_held;

  if (locked_.fetch_sub(1, std::memory_order_acq_rel) == 1) return;  // nobody behind us

  for (;;) {
    WaitRecord* first = pop_waiter();
    if (first != nullptr) {
      hand_over(first->co, "CoMutex::unlock");
      return;
    }
    // A lock() counted itself but has not pushed its record yet. Post a
    // token it will find after pushing (never 0).
    hook(detail::CoMutexHookPoint::kUnlockBeforeToken);
    unsigned token = sequence_.load(std::memory_order_relaxed) + 1;
    if (token == 0) token = 1;
    sequence_.store(token, std::memory_order_relaxed);
    handoff_.store(token, std::memory_order_seq_cst);
    if (!has_waiters()) return;  // it will see the token
    // It pushed meanwhile; wake it ourselves unless it took the token.
    if (!handoff_.compare_exchange_strong(token, 0, std::memory_order_seq_cst)) return;
    hook(detail::CoMutexHookPoint::kUnlockTookTokenBack);
  }
}

void CoMutex::assert_locked() const {
  Coroutine* self = corolib::self();
  if (locked_.load(std::memory_order_relaxed) == 0 ||
      holder_.load(std::memory_order_relaxed) != self || self == nullptr) {
    die("CoMutex::assert_locked: the calling coroutine does not hold the mutex");
  }
}

}  // namespace corolib
