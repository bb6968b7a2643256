// CoEvent: one atomic word that is either "set" or the top of a lock-free
// stack of wait records (on the waiters' stacks). set() swaps in "set" and
// wakes the detached stack in FIFO order.
#include "corolib/co_event.hpp"

#include <cstdio>
#include <cstdlib>

#include "corolib/scheduler.hpp"

namespace corolib {

struct CoEvent::Waiter {
  Coroutine* co = nullptr;
  Waiter* next = nullptr;
};

CoEvent::~CoEvent() {
#ifndef NDEBUG
  std::uintptr_t state = state_.load(std::memory_order_relaxed);
  if (state != 0 && state != kSet) {
    fprintf(stderr, "corolib: CoEvent destroyed while coroutines wait on it\n");
    abort();
  }
#endif
}

void CoEvent::wait() {
  Waiter waiter;
  waiter.co = self();
  if (waiter.co == nullptr) {
    fprintf(stderr, "corolib: CoEvent::wait must be called from a coroutine\n");
    abort();
  }
  std::uintptr_t state = state_.load(std::memory_order_acquire);
  do {
    if (state == kSet) return;
    waiter.next = reinterpret_cast<Waiter*>(state);
  } while (!state_.compare_exchange_weak(state, reinterpret_cast<std::uintptr_t>(&waiter),
                                         std::memory_order_acq_rel, std::memory_order_acquire));
  yield();  // woken by set()
}

void CoEvent::set() {
  std::uintptr_t state = state_.exchange(kSet, std::memory_order_acq_rel);
  if (state == kSet) return;
  // Most recent first: reverse into waiting order.
  Waiter* fifo = nullptr;
  for (Waiter* w = reinterpret_cast<Waiter*>(state); w != nullptr;) {
    Waiter* following = w->next;
    w->next = fifo;
    fifo = w;
    w = following;
  }
  while (fifo != nullptr) {
    Waiter* following = fifo->next;  // gone once its coroutine runs
    wake(fifo->co, "CoEvent::set");
    fifo = following;
  }
}

void CoEvent::reset() {
  std::uintptr_t expected = kSet;
  state_.compare_exchange_strong(expected, 0, std::memory_order_acq_rel);
}

}  // namespace corolib
