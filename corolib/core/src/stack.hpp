// Coroutine stacks: mmap'd memory with a PROT_NONE guard page below.
//
// A stack overflow that hits the guard page of the running coroutine prints
// "coroutine stack overflow" from a SIGSEGV handler running on an alternate
// signal stack, then aborts. Other faults go to the previous handler.
#pragma once

#include <cstddef>

namespace corolib::detail {

class CoroutineStack {
 public:
  CoroutineStack() = default;
  CoroutineStack(const CoroutineStack&) = delete;
  CoroutineStack& operator=(const CoroutineStack&) = delete;
  ~CoroutineStack();

  // Maps at least `size` usable bytes (rounded up to pages) plus a guard
  // page. Aborts with a message if memory cannot be mapped.
  void allocate(std::size_t size);

  // Lowest usable address (just above the guard page) and usable size.
  void* bottom() const { return bottom_; }
  std::size_t size() const { return size_; }
  // One past the highest usable address.
  void* top() const { return static_cast<char*>(bottom_) + size_; }

 private:
  void* bottom_ = nullptr;
  std::size_t size_ = 0;
  unsigned valgrind_id_ = 0;
};

// `size` rounded up to whole pages: the usable size of a stack asked for
// with `size`.
std::size_t round_stack_size(std::size_t size);

// Size of the guard page(s) below each stack.
std::size_t stack_guard_size();

// Makes sure the calling thread has an alternate signal stack, so the
// overflow handler can run after the normal stack is exhausted. Idempotent
// and cheap after the first call on a thread.
void ensure_thread_alt_stack();

}  // namespace corolib::detail
