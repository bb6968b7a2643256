#include "bounce_pool.hpp"

#include <cstdlib>

namespace blockdev {

BouncePool::BouncePool(std::size_t buffer_size, std::size_t alignment, std::size_t max_cached)
    : buffer_size_(buffer_size), alignment_(alignment), max_cached_(max_cached) {
  free_.reserve(max_cached_);
}

BouncePool::~BouncePool() {
  for (void* buffer : free_) std::free(buffer);
}

void* BouncePool::get() {
  {
    std::lock_guard lock(mutex_);
    if (!free_.empty()) {
      void* buffer = free_.back();
      free_.pop_back();
      return buffer;
    }
  }
  return std::aligned_alloc(alignment_, buffer_size_);
}

void BouncePool::put(void* buffer) {
  {
    std::lock_guard lock(mutex_);
    if (free_.size() < max_cached_) {
      free_.push_back(buffer);
      return;
    }
  }
  std::free(buffer);
}

}  // namespace blockdev
