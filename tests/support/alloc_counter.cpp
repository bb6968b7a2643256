#include "alloc_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace test_support {
namespace {
thread_local bool t_marked = false;
std::atomic<bool> g_counting{false};
std::atomic<std::size_t> g_allocations{0};
}  // namespace

bool count_allocations_on_this_thread(bool on) {
  const bool was = t_marked;
  t_marked = on;
  return was;
}

void start_counting_allocations() {
  g_allocations.store(0, std::memory_order_relaxed);
  g_counting.store(true, std::memory_order_seq_cst);
}

std::size_t stop_counting_allocations() {
  g_counting.store(false, std::memory_order_seq_cst);
  return g_allocations.load(std::memory_order_relaxed);
}

}  // namespace test_support

// GCC flags free() in a replaced operator delete as mismatched with the
// replaced operator new's malloc() it cannot see through: a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size) {
  if (test_support::t_marked && test_support::g_counting.load(std::memory_order_relaxed)) {
    test_support::g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
