// Counts calls of the global operator new, to show that a path allocates
// nothing. alloc_counter.cpp replaces operator new (and the matching
// operator delete) for the whole binary, so only a test binary of its own
// may link it: through the test_support_alloc_counter target.
//
// An allocation counts when it is made on a thread marked with
// count_allocations_on_this_thread(true) while counting is on (between
// start_counting_allocations() and stop_counting_allocations()). Marks are
// per thread; the switch and the count are shared by all threads, so one
// thread can count what another (marked) thread allocates.
#pragma once

#include <cstddef>

namespace test_support {

// Marks or unmarks the calling thread; returns whether it was marked.
bool count_allocations_on_this_thread(bool on);

// Resets the count to zero and switches counting on.
void start_counting_allocations();

// Switches counting off (if on); returns the allocations counted since the
// last start.
std::size_t stop_counting_allocations();

// Runs f() with the calling thread (and only it, unless others are marked
// already) counted; returns the allocations it made.
template <typename F>
std::size_t allocations_in(F&& f) {
  const bool was_marked = count_allocations_on_this_thread(true);
  start_counting_allocations();
  f();
  const std::size_t n = stop_counting_allocations();
  count_allocations_on_this_thread(was_marked);
  return n;
}

}  // namespace test_support
