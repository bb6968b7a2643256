// Coroutine pool after QEMU 9.0: a per-thread cache plus a bounded global
// list of batches. The cache holds up to two batches; on overflow one batch
// moves to the global list (or is freed when that is full), and an empty
// cache refills with a whole batch, so the global lock is taken once per
// kBatchSize creations or terminations at most.
#include "corolib/pool.hpp"

#include <atomic>
#include <cstddef>
#include <mutex>

#include "backend.hpp"
#include "pool_internal.hpp"
#include "stack.hpp"

#ifndef COROLIB_POOL_DEFAULT
#define COROLIB_POOL_DEFAULT 1
#endif

namespace corolib {
namespace detail {
namespace {

constexpr std::size_t kBatchSize = 64;
constexpr std::size_t kLocalMax = 2 * kBatchSize;
constexpr std::size_t kGlobalMaxBatches = 64;

// A chain of coroutines linked through Coroutine::next.
struct Chain {
  Coroutine* head = nullptr;
  std::size_t count = 0;

  void push(Coroutine* co) {
    co->next = head;
    head = co;
    ++count;
  }
  Coroutine* pop() {
    Coroutine* co = head;
    head = co->next;
    co->next = nullptr;
    --count;
    return co;
  }
  // Detaches the first n coroutines (n <= count) as a chain of their own.
  Chain split(std::size_t n) {
    Chain front;
    while (front.count < n) front.push(pop());
    return front;
  }
  void destroy_all() {
    while (head != nullptr) backend_destroy(pop());
  }
};

std::atomic<bool> enabled{COROLIB_POOL_DEFAULT && kBackendSupportsPool};

class GlobalPool {
 public:
  ~GlobalPool() { drain(); }

  bool put(Chain batch) {
    std::lock_guard lock(mutex_);
    if (batches_ >= kGlobalMaxBatches) return false;
    batch.head->next_batch = top_.head;
    batch.head->batch_count = batch.count;
    top_.head = batch.head;
    ++batches_;
    coroutines_.fetch_add(batch.count, std::memory_order_relaxed);
    return true;
  }

  Chain take() {
    std::lock_guard lock(mutex_);
    Chain batch;
    if (top_.head == nullptr) return batch;
    batch.head = top_.head;
    batch.count = batch.head->batch_count;
    top_.head = batch.head->next_batch;
    batch.head->next_batch = nullptr;
    --batches_;
    coroutines_.fetch_sub(batch.count, std::memory_order_relaxed);
    return batch;
  }

  void drain() {
    for (Chain batch = take(); batch.head != nullptr; batch = take()) batch.destroy_all();
  }

  std::size_t size() const { return coroutines_.load(std::memory_order_relaxed); }

 private:
  std::mutex mutex_;
  Chain top_;  // head of the list of batches
  std::size_t batches_ = 0;
  std::atomic<std::size_t> coroutines_{0};
};

GlobalPool& global_pool() {
  static GlobalPool pool;
  return pool;
}

struct LocalPool {
  Chain cache;
  ~LocalPool() { cache.destroy_all(); }
};

// Out of line: never cache a thread_local's address across a switch.
[[gnu::noinline]] LocalPool& local_pool() {
  thread_local LocalPool pool;
  return pool;
}

}  // namespace

Coroutine* pool_acquire() {
  if (!enabled.load(std::memory_order_relaxed)) return nullptr;
  LocalPool& local = local_pool();
  if (local.cache.head == nullptr) {
    local.cache = global_pool().take();
    if (local.cache.head == nullptr) return nullptr;
  }
  return local.cache.pop();
}

void pool_release(Coroutine* co) {
  if (!enabled.load(std::memory_order_relaxed) ||
      co->stack_size != default_stack_size()) {  // already rounded to pages
    backend_destroy(co);
    return;
  }
  LocalPool& local = local_pool();
  local.cache.push(co);
  if (local.cache.count > kLocalMax) {
    Chain batch = local.cache.split(kBatchSize);
    if (!global_pool().put(batch)) batch.destroy_all();
  }
}

}  // namespace detail

bool pool_enabled() { return detail::enabled.load(std::memory_order_relaxed); }

bool pool_set_enabled(bool on) {
  bool allowed = COROLIB_POOL_DEFAULT && detail::kBackendSupportsPool;
  detail::enabled.store(on && allowed, std::memory_order_relaxed);
  if (!(on && allowed)) {
    detail::local_pool().cache.destroy_all();
    detail::global_pool().drain();
  }
  return on && allowed;
}

std::size_t pool_local_size() { return detail::local_pool().cache.count; }

std::size_t pool_global_size() { return detail::global_pool().size(); }

}  // namespace corolib
