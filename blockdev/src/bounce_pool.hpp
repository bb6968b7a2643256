// BouncePool: aligned buffers for O_DIRECT requests whose offset, length or
// memory is not aligned. Private to the raw driver.
//
// Contract
// - get() hands out a buffer of buffer_size() bytes aligned to alignment(),
//   from the free list when it has one (no allocation in the steady state),
//   else freshly allocated; nullptr when memory is exhausted. put() returns
//   it; at most max_cached buffers are kept, the rest are freed.
// - Thread-safe (an internal mutex, held for a push or a pop).
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace blockdev {

class BouncePool {
 public:
  BouncePool(std::size_t buffer_size, std::size_t alignment, std::size_t max_cached);
  BouncePool(const BouncePool&) = delete;
  BouncePool& operator=(const BouncePool&) = delete;
  ~BouncePool();

  void* get();
  void put(void* buffer);

  std::size_t buffer_size() const { return buffer_size_; }
  std::size_t alignment() const { return alignment_; }

 private:
  const std::size_t buffer_size_;
  const std::size_t alignment_;
  const std::size_t max_cached_;
  std::mutex mutex_;
  std::vector<void*> free_;  // capacity reserved up front: push never allocates
};

// A buffer from a BouncePool for the lifetime of a scope.
class BounceBuffer {
 public:
  explicit BounceBuffer(BouncePool& pool) : pool_(pool), data_(static_cast<char*>(pool.get())) {}
  BounceBuffer(const BounceBuffer&) = delete;
  BounceBuffer& operator=(const BounceBuffer&) = delete;
  ~BounceBuffer() {
    if (data_ != nullptr) pool_.put(data_);
  }

  char* data() const { return data_; }
  std::size_t size() const { return pool_.buffer_size(); }
  explicit operator bool() const { return data_ != nullptr; }

 private:
  BouncePool& pool_;
  char* data_;
};

}  // namespace blockdev
