// A lock-free multi-producer, single-consumer intrusive list (a Treiber
// stack the consumer takes whole), for the loop's cross-thread queues.
//
// Contract
// - mpsc_push() from any thread: lock-free (one CAS loop), no allocation;
//   `link(node)` is the node's next pointer, owned by the list until taken.
//   Returns true when the list was empty, i.e. when the consumer may need
//   a wake-up.
// - mpsc_take_fifo() only from the consumer's thread: takes every node and
//   returns them in push order. No ABA problem: nodes are never popped one
//   at a time.
#pragma once

#include <atomic>

namespace corolib::detail {

template <class T, class Link>
bool mpsc_push(std::atomic<T*>& head, T* node, Link link) {
  T* old = head.load(std::memory_order_relaxed);
  do {
    link(node) = old;
  } while (!head.compare_exchange_weak(old, node, std::memory_order_release,
                                       std::memory_order_relaxed));
  return old == nullptr;
}

template <class T, class Link>
T* mpsc_take_fifo(std::atomic<T*>& head, Link link) {
  if (head.load(std::memory_order_relaxed) == nullptr) return nullptr;
  T* node = head.exchange(nullptr, std::memory_order_acquire);
  T* fifo = nullptr;
  while (node != nullptr) {
    T* next = link(node);
    link(node) = fifo;
    fifo = node;
    node = next;
  }
  return fifo;
}

}  // namespace corolib::detail
