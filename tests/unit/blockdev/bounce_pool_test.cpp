// BouncePool (private to the raw driver): aligned buffers, reused.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "bounce_pool.hpp"

namespace {

using blockdev::BounceBuffer;
using blockdev::BouncePool;

TEST(BouncePoolTest, BuffersAreAlignedAndReused) {
  BouncePool pool(256 << 10, 4096, 2);
  void* a = pool.get();
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 4096, 0u);
  pool.put(a);
  EXPECT_EQ(pool.get(), a) << "a returned buffer is handed out again";
  pool.put(a);
}

TEST(BouncePoolTest, KeepsAtMostMaxCached) {
  BouncePool pool(4096, 512, 2);
  std::vector<void*> buffers;
  for (int i = 0; i < 4; ++i) buffers.push_back(pool.get());
  for (void* b : buffers) pool.put(b);  // two kept, two freed (ASan checks)
  void* x = pool.get();
  void* y = pool.get();
  EXPECT_TRUE(x == buffers[0] || x == buffers[1]);
  EXPECT_TRUE(y == buffers[0] || y == buffers[1]);
  pool.put(x);
  pool.put(y);
}

TEST(BouncePoolTest, ScopedBuffer) {
  BouncePool pool(8192, 4096, 1);
  void* first = nullptr;
  {
    BounceBuffer b(pool);
    ASSERT_TRUE(b);
    EXPECT_EQ(b.size(), 8192u);
    first = b.data();
  }
  BounceBuffer again(pool);
  EXPECT_EQ(again.data(), first);
}

}  // namespace
