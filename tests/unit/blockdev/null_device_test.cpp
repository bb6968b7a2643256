// NullDevice: zero or untouched reads, discarded writes, range checks.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "blockdev/null_device.hpp"
#include "corolib/coroutine.hpp"

namespace {

using blockdev::NullDevice;
using blockdev::WriteFlags;

// Runs fn in a coroutine to completion (the null device never yields).
template <class F>
void run_co(F&& fn) {
  bool done = false;
  corolib::enter(corolib::create([&] {
    fn();
    done = true;
  }));
  ASSERT_TRUE(done);
}

TEST(NullDeviceTest, LimitsAndSize) {
  NullDevice dev(1 << 20, false, true);
  EXPECT_STREQ(dev.driver_name(), "null");
  EXPECT_EQ(dev.size(), 1u << 20);
  EXPECT_EQ(dev.limits().request_alignment, 1u);
  EXPECT_FALSE(dev.limits().read_only);
  EXPECT_TRUE(dev.limits().supports_fast_zero);
}

TEST(NullDeviceTest, ReadsZeroes) {
  NullDevice dev(1 << 20, false, true);
  run_co([&] {
    std::vector<unsigned char> buf(4096, 0xaa);
    EXPECT_EQ(dev.pwrite(0, buf.data(), buf.size()), 0);
    EXPECT_EQ(dev.pread(0, buf.data(), buf.size()), 0);
    for (unsigned char c : buf) ASSERT_EQ(c, 0);
  });
}

TEST(NullDeviceTest, ReadsLeaveBufferUntouched) {
  NullDevice dev(1 << 20, false, false);
  run_co([&] {
    std::vector<unsigned char> buf(4096, 0xaa);
    EXPECT_EQ(dev.pread(512, buf.data(), buf.size()), 0);
    for (unsigned char c : buf) ASSERT_EQ(c, 0xaa);
    std::uint32_t status = 99;
    EXPECT_EQ(dev.block_status(0, 1 << 20, &status), 1 << 20);
    EXPECT_EQ(status, 0u);
  });
}

TEST(NullDeviceTest, VectoredRead) {
  NullDevice dev(1 << 20, false, true);
  run_co([&] {
    char a[100], b[300];
    std::memset(a, 1, sizeof a);
    std::memset(b, 1, sizeof b);
    iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    EXPECT_EQ(dev.preadv(7, iov), 0);
    for (char c : a) ASSERT_EQ(c, 0);
    for (char c : b) ASSERT_EQ(c, 0);
  });
}

TEST(NullDeviceTest, OperationsSucceed) {
  NullDevice dev(1 << 20, false, true);
  run_co([&] {
    char buf[512] = {};
    EXPECT_EQ(dev.pwrite(0, buf, sizeof buf, WriteFlags::fua), 0);
    EXPECT_EQ(dev.flush(), 0);
    EXPECT_EQ(dev.discard(0, 1 << 20, WriteFlags::none), 0);
    EXPECT_EQ(dev.write_zeroes(0, 1 << 20, WriteFlags::fast_only | WriteFlags::may_unmap), 0);
    EXPECT_EQ(dev.prefetch(0, 1 << 20), 0);
    std::uint32_t status = 0;
    EXPECT_EQ(dev.block_status(4096, 8192, &status), 8192);
    EXPECT_EQ(status, blockdev::kStatusHole | blockdev::kStatusZero);
  });
}

TEST(NullDeviceTest, OutOfRange) {
  const std::uint64_t size = 1 << 20;
  NullDevice dev(size, false, true);
  run_co([&] {
    char buf[512] = {};
    EXPECT_EQ(dev.pread(size - 511, buf, sizeof buf), -EINVAL);
    EXPECT_EQ(dev.pread(size, buf, 0), 0);
    EXPECT_EQ(dev.pread(size + 1, buf, 0), -EINVAL);
    EXPECT_EQ(dev.pwrite(size - 511, buf, sizeof buf), -ENOSPC);
    EXPECT_EQ(dev.pwrite(UINT64_MAX - 100, buf, sizeof buf), -ENOSPC);
    EXPECT_EQ(dev.discard(size - 1, 2, WriteFlags::none), -EINVAL);
    EXPECT_EQ(dev.write_zeroes(size - 1, 2, WriteFlags::none), -ENOSPC);
    EXPECT_EQ(dev.write_zeroes(1, UINT64_MAX, WriteFlags::none), -ENOSPC);
    std::uint32_t status = 0;
    EXPECT_EQ(dev.block_status(size - 1, 2, &status), -EINVAL);
    EXPECT_EQ(dev.block_status(0, 0, &status), -EINVAL);
    EXPECT_EQ(dev.prefetch(size, 1), -EINVAL);
  });
}

TEST(NullDeviceTest, TransferLimits) {
  NullDevice dev(1ull << 40, false, true);
  run_co([&] {
    const std::size_t max = dev.limits().max_transfer;
    std::vector<iovec> iov(dev.limits().max_iov + 1, iovec{nullptr, 0});
    EXPECT_EQ(dev.preadv(0, iov), -EINVAL);
    iovec big{nullptr, max + 1};
    EXPECT_EQ(dev.preadv(0, {&big, 1}), -EINVAL);
    EXPECT_EQ(dev.pwritev(0, {&big, 1}, WriteFlags::none), -EINVAL);
  });
}

TEST(NullDeviceTest, ReadOnly) {
  NullDevice dev(1 << 20, true, true);
  EXPECT_TRUE(dev.limits().read_only);
  run_co([&] {
    char buf[512] = {};
    EXPECT_EQ(dev.pread(0, buf, sizeof buf), 0);
    EXPECT_EQ(dev.pwrite(0, buf, sizeof buf), -EPERM);
    EXPECT_EQ(dev.pwrite(1 << 20, buf, sizeof buf), -EPERM);
    EXPECT_EQ(dev.discard(0, 512, WriteFlags::none), -EPERM);
    EXPECT_EQ(dev.write_zeroes(0, 512, WriteFlags::none), -EPERM);
    EXPECT_EQ(dev.resize(4096), -EPERM);
    EXPECT_EQ(dev.flush(), 0);
  });
  EXPECT_EQ(dev.size(), 1u << 20);
}

TEST(NullDeviceTest, Resize) {
  NullDevice dev(1 << 20, false, true);
  run_co([&] {
    char buf[512] = {};
    EXPECT_EQ(dev.resize(2 << 20), 0);
    EXPECT_EQ(dev.pwrite((2 << 20) - 512, buf, sizeof buf), 0);
    EXPECT_EQ(dev.resize(4096), 0);
    EXPECT_EQ(dev.pwrite(4096, buf, sizeof buf), -ENOSPC);
  });
  EXPECT_EQ(dev.size(), 4096u);
}

}  // namespace
