// RequestBufferPool: size classes, alignment, reuse, the cache limit, and
// use from several threads.
#include "nbd/server/request_buffer_pool.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

namespace nbd {
namespace {

TEST(RequestBufferPool, SizeClasses) {
  EXPECT_EQ(RequestBufferPool::size_class(1), 0);
  EXPECT_EQ(RequestBufferPool::size_class(4096), 0);
  EXPECT_EQ(RequestBufferPool::size_class(4097), 1);
  EXPECT_EQ(RequestBufferPool::size_class(8192), 1);
  EXPECT_EQ(RequestBufferPool::size_class(65536), 4);
  EXPECT_EQ(RequestBufferPool::size_class(32u << 20), RequestBufferPool::kClasses - 1);
  EXPECT_EQ(RequestBufferPool::class_size(RequestBufferPool::kClasses - 1), 32u << 20);
}

TEST(RequestBufferPool, BuffersAreAlignedAndLargeEnough) {
  RequestBufferPool pool;
  for (std::size_t n : {std::size_t{1}, std::size_t{512}, std::size_t{4097}, std::size_t{100000},
                        std::size_t{32u << 20}}) {
    RequestBuffer b = pool.acquire(n);
    ASSERT_TRUE(b);
    EXPECT_GE(b.capacity(), n);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % RequestBufferPool::kAlignment, 0u);
    std::memset(b.data(), 0x5a, n);  // usable (ASan checks the bounds)
  }
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(RequestBufferPool, EmptyAndOversizedRequests) {
  RequestBufferPool pool;
  EXPECT_FALSE(pool.acquire(0));
  EXPECT_FALSE(pool.acquire((32u << 20) + 1));
  EXPECT_EQ(pool.allocations(), 0u);
}

TEST(RequestBufferPool, ReleasedBuffersAreReused) {
  RequestBufferPool pool;
  std::byte* first = nullptr;
  {
    RequestBuffer b = pool.acquire(5000);
    first = b.data();
    EXPECT_EQ(pool.outstanding(), 1u);
  }
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.cached_bytes(), 8192u);
  for (int i = 0; i < 100; ++i) {
    RequestBuffer b = pool.acquire(8000);
    EXPECT_EQ(b.data(), first);
  }
  EXPECT_EQ(pool.allocations(), 1u);
}

TEST(RequestBufferPool, MoveAndReset) {
  RequestBufferPool pool;
  RequestBuffer a = pool.acquire(4096);
  RequestBuffer b = std::move(a);
  EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  EXPECT_TRUE(b);
  a = pool.acquire(4096);
  a = std::move(b);  // the buffer a held goes back to the pool
  EXPECT_EQ(pool.outstanding(), 1u);
  a.reset();
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(RequestBufferPool, CacheLimitFreesTheExcess) {
  RequestBufferPool pool(3 * 65536);
  {
    std::vector<RequestBuffer> held;
    for (int i = 0; i < 5; ++i) held.push_back(pool.acquire(65536));
  }
  EXPECT_EQ(pool.cached_bytes(), 3u * 65536);
  EXPECT_EQ(pool.allocations(), 5u);
  RequestBufferPool none(0);
  { RequestBuffer b = none.acquire(4096); }
  EXPECT_EQ(none.cached_bytes(), 0u);
}

TEST(RequestBufferPool, ReserveFillsTheCacheAheadOfUse) {
  RequestBufferPool pool(10 * 65536);
  EXPECT_EQ(pool.reserve(65536, 4), 4u);
  EXPECT_EQ(pool.allocations(), 4u);
  EXPECT_EQ(pool.reserve(60000, 4), 4u);  // same class: nothing to do
  EXPECT_EQ(pool.allocations(), 4u);
  {
    std::vector<RequestBuffer> held;
    for (int i = 0; i < 4; ++i) held.push_back(pool.acquire(65536));
    EXPECT_EQ(pool.allocations(), 4u);
  }
  EXPECT_EQ(pool.reserve(65536, 100), 10u);  // stops at the cache limit
  EXPECT_EQ(pool.cached_bytes(), 10u * 65536);
  EXPECT_EQ(pool.reserve(0, 1), 0u);
}

TEST(RequestBufferPool, ThreadsShareOnePool) {
  RequestBufferPool pool;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&pool, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::size_t n = static_cast<std::size_t>(1 + (i * 7919 + t) % 300000);
        RequestBuffer b = pool.acquire(n);
        ASSERT_TRUE(b);
        b.data()[0] = std::byte{1};
        b.data()[n - 1] = std::byte{2};
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(pool.outstanding(), 0u);
}

}  // namespace
}  // namespace nbd
