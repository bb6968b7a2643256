// RequestBufferPool: the data buffers of READ and WRITE requests, reused so
// that serving a request allocates nothing in the steady state.
//
// Contract
// - acquire(n) returns a RequestBuffer of at least n bytes (n <= 32 MiB),
//   aligned to 4096 bytes (so O_DIRECT devices can use it without a bounce
//   buffer), or an empty buffer when memory is exhausted (the caller answers
//   NBD_ENOMEM). n == 0 returns an empty buffer that is not an error.
// - Buffers come in power-of-two size classes from 4 KiB to 32 MiB. A
//   released buffer goes back to its class's free list while the pool keeps
//   at most `cache_bytes` of idle buffers; beyond that it is freed.
// - Thread-safe: one pool may serve connections on several event loops. An
//   internal std::mutex guards the free lists for a few instructions; it is
//   never held across a yield and never while allocating or freeing.
// - RequestBuffer is move-only and returns its memory to the pool when
//   destroyed; the pool must outlive every buffer it handed out.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <utility>

namespace nbd {

class RequestBufferPool;

class RequestBuffer {
 public:
  RequestBuffer() = default;
  RequestBuffer(RequestBuffer&& other) noexcept { *this = std::move(other); }
  RequestBuffer& operator=(RequestBuffer&& other) noexcept;
  RequestBuffer(const RequestBuffer&) = delete;
  RequestBuffer& operator=(const RequestBuffer&) = delete;
  ~RequestBuffer() { reset(); }

  std::byte* data() const { return data_; }
  // Usable bytes (the size class, >= the size asked for).
  std::size_t capacity() const { return capacity_; }
  bool empty() const { return data_ == nullptr; }
  explicit operator bool() const { return data_ != nullptr; }

  // Returns the memory to the pool now.
  void reset();

 private:
  friend class RequestBufferPool;
  RequestBuffer(RequestBufferPool* pool, std::byte* data, std::size_t capacity,
                std::uint8_t size_class)
      : pool_(pool), data_(data), capacity_(capacity), class_(size_class) {}

  RequestBufferPool* pool_ = nullptr;
  std::byte* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::uint8_t class_ = 0;
};

class RequestBufferPool {
 public:
  static constexpr std::size_t kAlignment = 4096;
  static constexpr std::size_t kMinBuffer = 4096;               // class 0
  static constexpr std::size_t kMaxBuffer = 32u * 1024 * 1024;  // last class
  static constexpr std::size_t kClasses = 14;                   // 4 KiB .. 32 MiB

  explicit RequestBufferPool(std::size_t cache_bytes = 128u * 1024 * 1024);
  RequestBufferPool(const RequestBufferPool&) = delete;
  RequestBufferPool& operator=(const RequestBufferPool&) = delete;
  // Frees every idle buffer. Buffers still handed out must have been
  // returned (asserted in debug builds).
  ~RequestBufferPool();

  RequestBuffer acquire(std::size_t bytes);

  // Makes sure at least `count` idle buffers of the class that holds `bytes`
  // are cached (allocating the missing ones, as far as the cache limit
  // allows), so that the first requests after start-up allocate nothing
  // either. Returns the number of idle buffers of that class afterwards.
  std::size_t reserve(std::size_t bytes, std::size_t count);

  // Snapshots, for tests and diagnostics.
  std::size_t cached_bytes() const;
  std::size_t outstanding() const;       // buffers handed out and not returned
  std::uint64_t allocations() const;     // buffers allocated since construction

  // The size class that holds `bytes` (bytes <= kMaxBuffer).
  static std::uint8_t size_class(std::size_t bytes);
  static constexpr std::size_t class_size(std::uint8_t c) { return kMinBuffer << c; }

 private:
  friend class RequestBuffer;
  void release(std::byte* data, std::uint8_t size_class);
  std::size_t idle(std::uint8_t size_class) const;

  // An idle buffer's first bytes hold the link to the next one.
  struct FreeBuffer {
    FreeBuffer* next;
  };

  const std::size_t cache_limit_;
  mutable std::mutex mutex_;
  std::array<FreeBuffer*, kClasses> free_{};
  std::array<std::size_t, kClasses> free_count_{};
  std::size_t cached_bytes_ = 0;
  std::size_t outstanding_ = 0;
  std::uint64_t allocations_ = 0;
};

}  // namespace nbd
