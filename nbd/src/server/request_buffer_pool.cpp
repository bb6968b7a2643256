#include "nbd/server/request_buffer_pool.hpp"

#include <bit>
#include <cassert>
#include <new>

namespace nbd {

RequestBuffer& RequestBuffer::operator=(RequestBuffer&& other) noexcept {
  if (this != &other) {
    reset();
    pool_ = std::exchange(other.pool_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    capacity_ = std::exchange(other.capacity_, 0);
    class_ = std::exchange(other.class_, 0);
  }
  return *this;
}

void RequestBuffer::reset() {
  if (data_ != nullptr) {
    pool_->release(data_, class_);
    data_ = nullptr;
    capacity_ = 0;
  }
}

RequestBufferPool::RequestBufferPool(std::size_t cache_bytes) : cache_limit_(cache_bytes) {}

RequestBufferPool::~RequestBufferPool() {
  assert(outstanding_ == 0 && "RequestBufferPool destroyed with buffers handed out");
  for (FreeBuffer*& head : free_) {
    while (head != nullptr) {
      FreeBuffer* next = head->next;
      ::operator delete(static_cast<void*>(head), std::align_val_t{kAlignment});
      head = next;
    }
  }
}

std::uint8_t RequestBufferPool::size_class(std::size_t bytes) {
  if (bytes <= kMinBuffer) return 0;
  return static_cast<std::uint8_t>(std::bit_width(bytes - 1) - std::bit_width(kMinBuffer - 1));
}

RequestBuffer RequestBufferPool::acquire(std::size_t bytes) {
  if (bytes == 0 || bytes > kMaxBuffer) return {};
  const std::uint8_t c = size_class(bytes);
  const std::size_t size = class_size(c);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (FreeBuffer* b = free_[c]) {
      free_[c] = b->next;
      --free_count_[c];
      cached_bytes_ -= size;
      ++outstanding_;
      return RequestBuffer(this, reinterpret_cast<std::byte*>(b), size, c);
    }
  }
  void* p = ::operator new(size, std::align_val_t{kAlignment}, std::nothrow);
  if (p == nullptr) return {};
  std::lock_guard<std::mutex> lock(mutex_);
  ++outstanding_;
  ++allocations_;
  return RequestBuffer(this, static_cast<std::byte*>(p), size, c);
}

std::size_t RequestBufferPool::reserve(std::size_t bytes, std::size_t count) {
  if (bytes == 0 || bytes > kMaxBuffer) return 0;
  const std::uint8_t c = size_class(bytes);
  const std::size_t size = class_size(c);
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (free_count_[c] >= count || cached_bytes_ + size > cache_limit_) return free_count_[c];
    }
    void* p = ::operator new(size, std::align_val_t{kAlignment}, std::nothrow);
    if (p == nullptr) return idle(c);
    std::unique_lock<std::mutex> lock(mutex_);
    ++allocations_;
    if (cached_bytes_ + size > cache_limit_) {  // raced with releases: give it back
      const std::size_t n = free_count_[c];
      lock.unlock();
      ::operator delete(p, std::align_val_t{kAlignment});
      return n;
    }
    auto* b = static_cast<FreeBuffer*>(p);
    b->next = free_[c];
    free_[c] = b;
    ++free_count_[c];
    cached_bytes_ += size;
  }
}

std::size_t RequestBufferPool::idle(std::uint8_t c) const {
  std::lock_guard<std::mutex> lock(mutex_);
  return free_count_[c];
}

void RequestBufferPool::release(std::byte* data, std::uint8_t c) {
  const std::size_t size = class_size(c);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --outstanding_;
    if (cached_bytes_ + size <= cache_limit_) {
      auto* b = reinterpret_cast<FreeBuffer*>(data);
      b->next = free_[c];
      free_[c] = b;
      ++free_count_[c];
      cached_bytes_ += size;
      return;
    }
  }
  ::operator delete(static_cast<void*>(data), std::align_val_t{kAlignment});
}

std::size_t RequestBufferPool::cached_bytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_bytes_;
}

std::size_t RequestBufferPool::outstanding() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return outstanding_;
}

std::uint64_t RequestBufferPool::allocations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return allocations_;
}

}  // namespace nbd
