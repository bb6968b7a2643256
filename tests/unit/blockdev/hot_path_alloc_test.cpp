// The request path allocates nothing once warm: reads, writes (aligned,
// unaligned read-modify-write, FUA), flush, block status and write-zeroes on
// a raw device, in every cache mode, counted by a replaced global operator
// new (alloc_counter.hpp; this test is a binary of its own for that
// reason). Bounce buffers come from the device's pool: only the first
// unaligned request allocates.
#include <gtest/gtest.h>

#include <vector>

#include "alloc_counter.hpp"
#include "blockdev/null_device.hpp"
#include "raw_device_fixture.hpp"

namespace blockdev_test {
namespace {

using blockdev::WriteFlags;
using test_support::allocations_in;

class HotPathAllocTest : public RawDeviceTest {};

// Runs the request mix; returns the number of failed operations.
int request_mix(blockdev::BlockDevice& dev, unsigned char* aligned, unsigned char* odd) {
  int failures = 0;
  auto check = [&](long ret) {
    if (ret < 0) ++failures;
  };
  std::uint32_t status = 0;
  for (int i = 0; i < 8; ++i) {
    const std::uint64_t base = static_cast<std::uint64_t>(i) * 65536;
    check(dev.pwrite(base, aligned, 4096));
    check(dev.pwrite(base + 8192, aligned, 4096, WriteFlags::fua));
    check(dev.pread(base, aligned, 4096));
    check(dev.pwrite(base + 12345, odd, 3000));  // unaligned: RMW with O_DIRECT
    check(dev.pread(base + 12345, odd, 3000));
    check(dev.flush());
    check(dev.block_status(base, 65536, &status));
    check(dev.write_zeroes(base + 32768, 8192, WriteFlags::may_unmap));
    check(dev.discard(base + 49152, 4096, WriteFlags::none));
  }
  return failures;
}

TEST_P(HotPathAllocTest, RawRequestsDoNotAllocate) {
  auto dev = open(1 << 20);
  ASSERT_TRUE(dev);
  std::vector<unsigned char> store(3 * 4096);
  auto* aligned = reinterpret_cast<unsigned char*>(
      (reinterpret_cast<std::uintptr_t>(store.data()) + 4095) & ~std::uintptr_t{4095});
  unsigned char* odd = aligned + 4096 + 1;
  int warm_failures = -1;
  int failures = -1;
  std::size_t allocations = 0;
  runner_.run([&] {
    warm_failures = request_mix(*dev, aligned, odd);  // fills pools and caches
    allocations = allocations_in([&] { failures = request_mix(*dev, aligned, odd); });
  });
  EXPECT_EQ(warm_failures, 0);
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(allocations, 0u);
}

TEST(HotPathAllocNullTest, CounterSeesAllocations) {
  std::vector<int>* p = nullptr;
  EXPECT_EQ(allocations_in([&] { p = new std::vector<int>(100); }), 2u);
  delete p;
}

TEST(HotPathAllocNullTest, NullRequestsDoNotAllocate) {
  blockdev::NullDevice dev(1 << 20, false, true);
  LoopRunner runner;
  std::vector<unsigned char> buf(8192);
  int failures = -1;
  std::size_t allocations = 0;
  runner.run([&] {
    allocations = allocations_in([&] { failures = request_mix(dev, buf.data(), buf.data() + 1); });
  });
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(allocations, 0u);
}

INSTANTIATE_TEST_SUITE_P(CacheModes, HotPathAllocTest,
                         ::testing::Values(kWriteback, kWritebackRing, kNone, kNone4k, kUnsafe),
                         raw_mode_name);

}  // namespace
}  // namespace blockdev_test
