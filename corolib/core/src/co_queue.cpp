// CoQueue: an intrusive FIFO of wait records on the waiters' stacks. Wakeups
// go through corolib::wake(), which defers them to the caller's next yield
// (or hands them to the waiter's event loop on another thread).
#include "corolib/co_queue.hpp"

#include <cstdio>
#include <cstdlib>

#include "corolib/scheduler.hpp"

namespace corolib {

CoQueue::~CoQueue() {
#ifndef NDEBUG
  if (head_ != nullptr) {
    fprintf(stderr, "corolib: CoQueue destroyed while coroutines wait on it\n");
    abort();
  }
#endif
}

void CoQueue::enqueue(Waiter* waiter, bool front) {
  waiter->co = self();
  if (waiter->co == nullptr) {
    fprintf(stderr, "corolib: CoQueue::wait must be called from a coroutine\n");
    abort();
  }
  if (head_ == nullptr) {
    waiter->next = nullptr;
    head_ = tail_ = waiter;
  } else if (front) {
    waiter->next = head_;
    head_ = waiter;
  } else {
    waiter->next = nullptr;
    tail_->next = waiter;
    tail_ = waiter;
  }
}

Coroutine* CoQueue::dequeue() {
  Waiter* waiter = head_;
  if (waiter == nullptr) return nullptr;
  head_ = waiter->next;
  if (head_ == nullptr) tail_ = nullptr;
  // The record dies with the waiter's frame once it runs: read it now.
  return waiter->co;
}

void CoQueue::suspend() { yield(); }

void CoQueue::wait() {
  Waiter waiter;
  enqueue(&waiter, false);
  suspend();
}

void CoQueue::wait_front() {
  Waiter waiter;
  enqueue(&waiter, true);
  suspend();
}

bool CoQueue::next() {
  Coroutine* co = dequeue();
  if (co == nullptr) return false;
  wake(co, "CoQueue::next");
  return true;
}

bool CoQueue::restart_all() {
  // Detach first: a waiter entered right away (outside a coroutine) may wait
  // on this queue again, and must not be woken twice by this call.
  Waiter* waiter = head_;
  if (waiter == nullptr) return false;
  head_ = tail_ = nullptr;
  while (waiter != nullptr) {
    Waiter* following = waiter->next;  // `waiter` is gone once its coroutine runs
    wake(waiter->co, "CoQueue::restart_all");
    waiter = following;
  }
  return true;
}

}  // namespace corolib
