// CoInflight: an atomic count plus a list of waiters. dec() and wait_zero()
// form a Dekker pair (count store / waiter load versus waiter store / count
// load, all sequentially consistent): either dec() sees the waiter or the
// waiter sees the zero.
#include "corolib/co_inflight.hpp"

#include <cstdio>
#include <cstdlib>

#include "corolib/scheduler.hpp"

namespace corolib {

struct CoInflight::Waiter {
  Coroutine* co = nullptr;
  Waiter* next = nullptr;
};

CoInflight::~CoInflight() {
#ifndef NDEBUG
  if (waiters_.load(std::memory_order_relaxed) != nullptr) {
    fprintf(stderr, "corolib: CoInflight destroyed while coroutines wait on it\n");
    abort();
  }
#endif
}

void CoInflight::dec() {
  std::size_t before = count_.fetch_sub(1, std::memory_order_seq_cst);
  if (before == 0) {
    fprintf(stderr, "corolib: CoInflight::dec below zero\n");
    abort();
  }
  if (before == 1 && waiters_.load(std::memory_order_seq_cst) != nullptr) wake_waiters();
}

void CoInflight::wake_waiters() {
  Waiter* lifo;
  {
    std::lock_guard lock(mutex_);
    lifo = waiters_.exchange(nullptr, std::memory_order_relaxed);
  }
  Waiter* fifo = nullptr;
  while (lifo != nullptr) {
    Waiter* following = lifo->next;
    lifo->next = fifo;
    fifo = lifo;
    lifo = following;
  }
  while (fifo != nullptr) {
    Waiter* following = fifo->next;  // gone once its coroutine runs
    wake(fifo->co, "CoInflight::dec");
    fifo = following;
  }
}

void CoInflight::wait_zero() {
  Coroutine* self = corolib::self();
  if (self == nullptr) {
    fprintf(stderr, "corolib: CoInflight::wait_zero must be called from a coroutine\n");
    abort();
  }
  while (count_.load(std::memory_order_acquire) != 0) {
    Waiter waiter;
    waiter.co = self;
    {
      std::lock_guard lock(mutex_);
      waiter.next = waiters_.load(std::memory_order_relaxed);
      waiters_.store(&waiter, std::memory_order_seq_cst);
      if (count_.load(std::memory_order_seq_cst) == 0) {
        // Dropped to zero meanwhile. We are still on top (pushes and
        // detaches happen under mutex_): withdraw and return.
        waiters_.store(waiter.next, std::memory_order_relaxed);
        return;
      }
    }
    yield();  // woken by the dec() to zero
  }
}

}  // namespace corolib
