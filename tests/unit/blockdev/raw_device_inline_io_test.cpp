// The raw driver's inline page-cache I/O (raw_device.hpp): which reads and
// writes are issued as synchronous preadv2/pwritev2 calls and which go
// through io_uring, how a refused RWF_NOWAIT and a would-block -EAGAIN are
// handled, and how a stalled write sends the next ones through io_uring.
// The file system's answers to RWF_NOWAIT are simulated with the hooks, so
// the tests mean the same on ext4 (which refuses it for writes) and XFS
// (which honours it), with the pages cached or not.
#include <gtest/gtest.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <vector>

#include "inline_write_gate.hpp"
#include "raw_device_fixture.hpp"

namespace blockdev_test {
namespace {

using blockdev::CacheMode;
using blockdev::RawDeviceHooks;
using blockdev::WriteFlags;

constexpr std::uint64_t kSize = 1 << 20;

class RawInlineIoTest : public RawDeviceTest {
 protected:
  // Writes 4 KiB of pattern `seq` at `offset` and checks the file holds it.
  void write_and_check(blockdev::BlockDevice& dev, std::uint64_t offset, std::uint64_t seq,
                       WriteFlags flags = WriteFlags::none) {
    const std::vector<unsigned char> data = pattern(seq, offset, 4096);
    runner_.run([&] { ASSERT_EQ(dev.pwrite(offset, data.data(), data.size(), flags), 0); });
    const std::vector<unsigned char> file = read_file(path_);
    ASSERT_GE(file.size(), offset + 4096);
    EXPECT_EQ(std::memcmp(file.data() + offset, data.data(), 4096), 0) << "at " << offset;
  }

  // The file system refuses RWF_NOWAIT on page-cache writes (as ext4 does).
  void refuse_nowait() {
    hooks_.before = [this](const RawDeviceHooks::Call& call) -> std::optional<int> {
      if (call.op != RawDeviceHooks::Op::write || (call.flags & RWF_NOWAIT) == 0) return {};
      ++nowait_tries_;
      return -EOPNOTSUPP;
    };
  }

  // Inline reads fail with `result` without reaching the kernel.
  void answer_inline_reads(int result) {
    hooks_.before = [result](const RawDeviceHooks::Call& call) -> std::optional<int> {
      if (call.op == RawDeviceHooks::Op::read && call.inline_io) return result;
      return {};
    };
  }

  std::uint64_t ring_writes() const { return hooks_.writes - hooks_.inline_writes; }
  std::uint64_t ring_reads() const { return hooks_.reads - hooks_.inline_reads; }

  // Reads 4 KiB at `offset` and checks it is pattern `seq`.
  void read_and_check(blockdev::BlockDevice& dev, std::uint64_t offset, std::uint64_t seq) {
    std::vector<unsigned char> back(4096);
    runner_.run([&] { ASSERT_EQ(dev.pread(offset, back.data(), back.size()), 0); });
    EXPECT_TRUE(back == pattern(seq, offset, 4096)) << "at " << offset;
  }

  // A file of 16 blocks, block i holding pattern i.
  void write_blocks() {
    std::vector<unsigned char> file;
    for (std::uint64_t i = 0; i < 16; ++i) {
      const std::vector<unsigned char> block = pattern(i, i * 4096, 4096);
      file.insert(file.end(), block.begin(), block.end());
    }
    file.resize(kSize);
    write_file(path_, file);
  }

  int nowait_tries_ = 0;
};

TEST_P(RawInlineIoTest, PageCacheWritesAreInline) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  ASSERT_TRUE(static_cast<blockdev::RawDevice&>(*dev).inline_io());
  for (std::uint64_t i = 0; i < 8; ++i) write_and_check(*dev, i * 8192 + 512, i);
  EXPECT_GE(hooks_.inline_writes, 8u);
  EXPECT_EQ(ring_writes(), 0u);
}

TEST_P(RawInlineIoTest, FuaWritesGoThroughTheRing) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  refuse_nowait();
  write_and_check(*dev, 0, 1, WriteFlags::fua);
  const bool durable = GetParam().cache != CacheMode::unsafe;
  // With cache=unsafe FUA means nothing, and the write is an ordinary one.
  EXPECT_EQ(ring_writes(), durable ? 1u : 0u);
  EXPECT_EQ(hooks_.dsync_writes, durable ? 1u : 0u);
}

TEST_P(RawInlineIoTest, RefusedNowaitIsTriedOnce) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  refuse_nowait();
  for (std::uint64_t i = 0; i < 8; ++i) write_and_check(*dev, i * 4096, i);
  EXPECT_EQ(nowait_tries_, 1);
  EXPECT_EQ(hooks_.inline_writes, 8u + 1u);  // the refused try included
  EXPECT_EQ(ring_writes(), 0u);
}

TEST_P(RawInlineIoTest, WouldBlockGoesThroughTheRing) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  int would_block = 0;
  hooks_.before = [&](const RawDeviceHooks::Call& call) -> std::optional<int> {
    if (call.op == RawDeviceHooks::Op::write && (call.flags & RWF_NOWAIT) != 0) {
      EXPECT_TRUE(call.inline_io);
      ++would_block;
      return -EAGAIN;
    }
    return {};
  };
  for (std::uint64_t i = 0; i < 4; ++i) write_and_check(*dev, i * 4096, i);
  EXPECT_EQ(would_block, 4) << "RWF_NOWAIT stays in use after -EAGAIN";
  EXPECT_EQ(ring_writes(), 4u);
}

TEST_P(RawInlineIoTest, ErrorsOfInlineWritesArePassedOn) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  hooks_.before = [](const RawDeviceHooks::Call& call) -> std::optional<int> {
    if (call.op == RawDeviceHooks::Op::write && (call.flags & RWF_NOWAIT) != 0) return -EOPNOTSUPP;
    if (call.op == RawDeviceHooks::Op::write) return -EIO;
    return {};
  };
  runner_.run([&] {
    std::vector<unsigned char> data(4096, 1);
    EXPECT_EQ(dev->pwrite(0, data.data(), data.size()), -EIO);
  });
  EXPECT_EQ(ring_writes(), 0u);
}

// A write that takes longer than the threshold (by the hooks' clock) sends
// the writes after it through the ring until the back-off has passed.
TEST_P(RawInlineIoTest, AStallSendsWritesThroughTheRingForTheBackoff) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  refuse_nowait();
  using Clock = std::chrono::steady_clock;
  Clock::time_point fake_now = Clock::now();
  Clock::duration tick{};  // added at every reading of the clock
  hooks_.clock = [&] { return fake_now += tick; };

  write_and_check(*dev, 0, 1);  // quick: time stands still
  EXPECT_EQ(ring_writes(), 0u);

  tick = std::chrono::milliseconds(2);  // the next write takes 2 ms
  write_and_check(*dev, 4096, 2);
  tick = {};
  EXPECT_EQ(ring_writes(), 0u) << "the slow write itself was inline";
  const std::uint64_t inline_before = hooks_.inline_writes;
  for (std::uint64_t i = 2; i < 6; ++i) write_and_check(*dev, i * 4096, i + 1);
  EXPECT_EQ(ring_writes(), 4u) << "writes during the back-off use the ring";
  EXPECT_EQ(hooks_.inline_writes, inline_before);

  fake_now += blockdev::InlineWriteGate::kMinBackoff;  // the back-off is over
  write_and_check(*dev, 6 * 4096, 7);
  EXPECT_EQ(ring_writes(), 4u);
  EXPECT_EQ(hooks_.inline_writes, inline_before + 1);
}

TEST_P(RawInlineIoTest, ReadsAreTriedInlineWithNowait) {
  write_blocks();
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  int tries = 0;
  hooks_.before = [&](const RawDeviceHooks::Call& call) -> std::optional<int> {
    if (call.op == RawDeviceHooks::Op::read && call.inline_io) {
      EXPECT_NE(call.flags & RWF_NOWAIT, 0);
      ++tries;
    }
    return {};
  };
  // The pages were just written, so they are cached (or, on a file system
  // without RWF_NOWAIT, the reads fall back to the ring): right either way.
  for (std::uint64_t i = 0; i < 4; ++i) read_and_check(*dev, i * 4096, i);
  EXPECT_GE(tries, 1);
  EXPECT_EQ(hooks_.inline_reads, static_cast<std::uint64_t>(tries));
}

TEST_P(RawInlineIoTest, UncachedReadsGoThroughTheRing) {
  write_blocks();
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  answer_inline_reads(-EAGAIN);
  for (std::uint64_t i = 0; i < 4; ++i) read_and_check(*dev, i * 4096 + 4096, i + 1);
  EXPECT_EQ(hooks_.inline_reads, 4u) << "RWF_NOWAIT stays in use after -EAGAIN";
  EXPECT_EQ(ring_reads(), 4u);
}

TEST_P(RawInlineIoTest, RefusedNowaitReadsAreTriedOnce) {
  write_blocks();
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  answer_inline_reads(-EOPNOTSUPP);
  for (std::uint64_t i = 0; i < 4; ++i) read_and_check(*dev, i * 4096, i);
  EXPECT_EQ(hooks_.inline_reads, 1u);
  EXPECT_EQ(ring_reads(), 4u);
}

TEST_P(RawInlineIoTest, ErrorsOfInlineReadsArePassedOn) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  answer_inline_reads(-EIO);
  runner_.run([&] {
    std::vector<unsigned char> data(4096);
    EXPECT_EQ(dev->pread(0, data.data(), data.size()), -EIO);
  });
  EXPECT_EQ(ring_reads(), 0u);
}

INSTANTIATE_TEST_SUITE_P(CacheModes, RawInlineIoTest, ::testing::Values(kWriteback, kUnsafe),
                         raw_mode_name);

// No inline I/O with O_DIRECT or when the option is off.
class RawInlineIoOffTest : public RawDeviceTest {};

TEST_P(RawInlineIoOffTest, EveryReadAndWriteGoesThroughTheRing) {
  blockdev::DeviceOptions o = options(kSize);
  auto dev = open(o);
  ASSERT_TRUE(dev);
  EXPECT_FALSE(static_cast<blockdev::RawDevice&>(*dev).inline_io());
  runner_.run([&] {
    alignas(4096) static unsigned char data[8192];
    for (int i = 0; i < 4; ++i) ASSERT_EQ(dev->pwrite(i * 8192, data, 8192), 0);
    for (int i = 0; i < 4; ++i) ASSERT_EQ(dev->pread(i * 8192, data, 8192), 0);
  });
  EXPECT_EQ(hooks_.writes, 4u);
  EXPECT_EQ(hooks_.reads, 4u);
  EXPECT_EQ(hooks_.inline_writes, 0u);
  EXPECT_EQ(hooks_.inline_reads, 0u);
}

INSTANTIATE_TEST_SUITE_P(CacheModes, RawInlineIoOffTest,
                         ::testing::Values(kWritebackRing, kNone), raw_mode_name);

}  // namespace
}  // namespace blockdev_test
