// The raw driver's discard, write-zeroes (native and fallback), FUA and
// flush — observed through the hooks' counters, not timing.
#include <gtest/gtest.h>
#include <linux/falloc.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "corolib/co_event.hpp"
#include "raw_device_fixture.hpp"

namespace blockdev_test {
namespace {

using blockdev::CacheMode;
using blockdev::kStatusHole;
using blockdev::kStatusZero;
using blockdev::RawDeviceHooks;
using blockdev::WriteFlags;

constexpr std::uint64_t kSize = 4 << 20;

class RawZeroSyncTest : public RawDeviceTest {};
// The cache modes in which flush does something.
class RawDurableTest : public RawDeviceTest {};

// Fills the whole device with a pattern; returns the model.
std::vector<unsigned char> fill(blockdev::BlockDevice& dev, LoopRunner& runner) {
  std::vector<unsigned char> model = pattern(100, 0, kSize);
  runner.run([&] { ASSERT_EQ(dev.pwrite(0, model.data(), model.size()), 0); });
  return model;
}

// Reads the whole device and compares it with the model.
void expect_contents(blockdev::BlockDevice& dev, LoopRunner& runner,
                     const std::vector<unsigned char>& model) {
  std::vector<unsigned char> back(kSize, 0xee);
  runner.run([&] { ASSERT_EQ(dev.pread(0, back.data(), back.size()), 0); });
  for (std::size_t i = 0; i < kSize; ++i) {
    if (back[i] != model[i]) {
      ADD_FAILURE() << "first difference at byte " << i << ": " << int{back[i]} << " != "
                    << int{model[i]};
      return;
    }
  }
}

std::uint32_t status_at(blockdev::BlockDevice& dev, LoopRunner& runner, std::uint64_t offset,
                        std::uint64_t length, std::int64_t* extent = nullptr) {
  std::uint32_t status = 99;
  std::int64_t len = 0;
  runner.run([&] { len = dev.block_status(offset, length, &status); });
  EXPECT_GT(len, 0);
  if (extent != nullptr) *extent = len;
  return status;
}

TEST_P(RawZeroSyncTest, DiscardReadsBackAsZeroesAndShowsAHole) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  std::vector<unsigned char> model = fill(*dev, runner_);
  runner_.run([&] {
    ASSERT_EQ(dev->discard(1 << 20, 256 << 10, WriteFlags::none), 0);
    // Unaligned ends: the partial blocks are zeroed (punched files read as
    // zeroes) or left alone, never corrupted.
    ASSERT_EQ(dev->discard(3 * (1 << 20) + 100, 10000, WriteFlags::none), 0);
    ASSERT_EQ(dev->discard(0, 0, WriteFlags::none), 0);
  });
  std::memset(model.data() + (1 << 20), 0, 256 << 10);
  std::memset(model.data() + 3 * (1 << 20) + 100, 0, 10000);
  expect_contents(*dev, runner_, model);
  std::int64_t extent = 0;
  EXPECT_EQ(status_at(*dev, runner_, 1 << 20, 1 << 20, &extent), kStatusHole | kStatusZero);
  EXPECT_EQ(extent, 256 << 10);
  EXPECT_EQ(status_at(*dev, runner_, (1 << 20) - 4096, 8192, &extent), 0u);
  EXPECT_EQ(extent, 4096);
  EXPECT_EQ(hooks_.fallocates, 2u);
}

TEST_P(RawZeroSyncTest, WriteZeroesReadsBackAsZeroes) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  std::vector<unsigned char> model = fill(*dev, runner_);
  const std::uint64_t writes = hooks_.writes;
  runner_.run([&] {
    // may_unmap: punched; without: ZERO_RANGE keeps the blocks allocated.
    ASSERT_EQ(dev->write_zeroes(1 << 20, 128 << 10, WriteFlags::may_unmap), 0);
    ASSERT_EQ(dev->write_zeroes(2 << 20, 128 << 10, WriteFlags::none), 0);
    ASSERT_EQ(dev->write_zeroes(2 << 20, 128 << 10, WriteFlags::fast_only), 0);
    // Unaligned, across blocks and inside one block.
    ASSERT_EQ(dev->write_zeroes(3 * (1 << 20) + 1, 70000, WriteFlags::may_unmap), 0);
    ASSERT_EQ(dev->write_zeroes(3 * (1 << 20) + 200000, 100, WriteFlags::none), 0);
  });
  std::memset(model.data() + (1 << 20), 0, 128 << 10);
  std::memset(model.data() + (2 << 20), 0, 128 << 10);
  std::memset(model.data() + 3 * (1 << 20) + 1, 0, 70000);
  std::memset(model.data() + 3 * (1 << 20) + 200000, 0, 100);
  expect_contents(*dev, runner_, model);
  std::int64_t extent = 0;
  EXPECT_EQ(status_at(*dev, runner_, 1 << 20, 1 << 20, &extent), kStatusHole | kStatusZero);
  EXPECT_EQ(extent, 128 << 10);
  // ZERO_RANGE leaves unwritten extents, which ext4 and XFS report to
  // SEEK_DATA as holes — unless the page cache holds pages of the range
  // (then they are data, still a correct answer). Only O_DIRECT keeps the
  // page cache out of it.
  const std::uint32_t zero_range_status = status_at(*dev, runner_, 2 << 20, 128 << 10, &extent);
  if (direct()) {
    EXPECT_NE(zero_range_status & kStatusZero, 0u);
    EXPECT_EQ(extent, 128 << 10);
  }
  EXPECT_EQ(hooks_.writes, writes) << "no zero buffer was written";
}

// A file system that refuses both fallocate modes: zeroes are written from
// the zero buffer, except with fast_only, which fails and changes nothing.
TEST_P(RawZeroSyncTest, WriteZeroesFallsBackToWritingZeroes) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  std::vector<unsigned char> model = fill(*dev, runner_);
  hooks_.before = [](const RawDeviceHooks::Call& call) -> std::optional<int> {
    if (call.op == RawDeviceHooks::Op::fallocate) return -EOPNOTSUPP;
    return std::nullopt;
  };
  const std::uint64_t writes = hooks_.writes;
  runner_.run([&] {
    EXPECT_EQ(dev->write_zeroes(1 << 20, 64 << 10, WriteFlags::fast_only), -ENOTSUP);
    EXPECT_EQ(dev->write_zeroes(1 << 20, 64 << 10, WriteFlags::fast_only | WriteFlags::may_unmap),
              -ENOTSUP);
  });
  EXPECT_EQ(hooks_.writes, writes);
  expect_contents(*dev, runner_, model);

  runner_.run([&] {
    // Larger than the zero buffer, with unaligned ends.
    ASSERT_EQ(dev->write_zeroes(5, (2 << 20) + 1000, WriteFlags::may_unmap), 0);
    ASSERT_EQ(dev->write_zeroes(3 << 20, 4096, WriteFlags::none), 0);
    // Discard is advisory: it succeeds without doing anything.
    ASSERT_EQ(dev->discard(3 * (1 << 20) + 65536, 65536, WriteFlags::none), 0);
  });
  EXPECT_GT(hooks_.writes, writes);
  std::memset(model.data() + 5, 0, (2 << 20) + 1000);
  std::memset(model.data() + (3 << 20), 0, 4096);
  expect_contents(*dev, runner_, model);
  // The driver stops asking once refused: 2 modes tried once each.
  EXPECT_EQ(hooks_.fallocates, 2u);
  // Written zeroes are data.
  EXPECT_EQ(status_at(*dev, runner_, 1 << 20, 4096), 0u);
}

TEST_P(RawZeroSyncTest, FuaWriteUsesDsync) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  const bool durable = GetParam().cache != CacheMode::unsafe;
  runner_.run([&] {
    std::vector<unsigned char> data = pattern(1, 0, 8192);
    ASSERT_EQ(dev->pwrite(0, data.data(), 8192, WriteFlags::fua), 0);
    ASSERT_EQ(dev->pwrite(8192, data.data(), 8192), 0);
  });
  EXPECT_EQ(hooks_.dsync_writes, durable ? 1u : 0u);
  EXPECT_EQ(hooks_.fdatasyncs, 0u) << "FUA is native: no extra flush";
  // Unaligned FUA write with O_DIRECT: the write of the RMW carries it.
  runner_.run([&] {
    std::vector<unsigned char> data = pattern(2, 0, 100);
    ASSERT_EQ(dev->pwrite(20001, data.data(), 100, WriteFlags::fua), 0);
  });
  EXPECT_EQ(hooks_.dsync_writes, durable ? 2u : 0u);
  // FUA on discard and write-zeroes: fallocate, then fdatasync.
  runner_.run([&] {
    ASSERT_EQ(dev->discard(65536, 65536, WriteFlags::fua), 0);
    ASSERT_EQ(dev->write_zeroes(1 << 20, 65536, WriteFlags::fua), 0);
  });
  EXPECT_EQ(hooks_.fdatasyncs, durable ? 2u : 0u);
}

TEST_P(RawZeroSyncTest, FlushReachesFdatasync) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  const std::uint64_t per_flush = GetParam().cache != CacheMode::unsafe ? 1 : 0;
  runner_.run([&] {
    // The first flush always syncs (the file may be dirty from before).
    ASSERT_EQ(dev->flush(), 0);
    EXPECT_EQ(hooks_.fdatasyncs, per_flush);
    // Nothing written since: nothing to sync.
    ASSERT_EQ(dev->flush(), 0);
    EXPECT_EQ(hooks_.fdatasyncs, per_flush);
    std::vector<unsigned char> data = pattern(3, 0, 4096);
    ASSERT_EQ(dev->pwrite(0, data.data(), data.size()), 0);
    ASSERT_EQ(dev->flush(), 0);
    EXPECT_EQ(hooks_.fdatasyncs, 2 * per_flush);
    ASSERT_EQ(dev->write_zeroes(0, 4096, WriteFlags::none), 0);
    ASSERT_EQ(dev->flush(), 0);
    EXPECT_EQ(hooks_.fdatasyncs, 3 * per_flush);
    ASSERT_EQ(dev->discard(0, 4096, WriteFlags::none), 0);
    ASSERT_EQ(dev->flush(), 0);
    EXPECT_EQ(hooks_.fdatasyncs, 4 * per_flush);
    ASSERT_EQ(dev->resize(kSize * 2), 0);
    ASSERT_EQ(dev->flush(), 0);
    EXPECT_EQ(hooks_.fdatasyncs, 5 * per_flush);
  });
  EXPECT_EQ(hooks_.dsync_writes, 0u);
}

TEST_P(RawDurableTest, FailedFlushIsRetried) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  bool fail = true;
  hooks_.before = [&](const RawDeviceHooks::Call& call) -> std::optional<int> {
    if (call.op == RawDeviceHooks::Op::fdatasync && fail) return -EIO;
    return std::nullopt;
  };
  runner_.run([&] {
    std::vector<unsigned char> data = pattern(3, 0, 4096);
    ASSERT_EQ(dev->pwrite(0, data.data(), data.size()), 0);
    EXPECT_EQ(dev->flush(), -EIO);
    fail = false;
    EXPECT_EQ(dev->flush(), 0);
  });
  EXPECT_EQ(hooks_.fdatasyncs, 2u);
}

// A flush covers the writes that completed before it was called, and only
// those: it does not wait for a write still in flight, and that write is
// covered by the next flush, not considered flushed already.
TEST_P(RawDurableTest, FlushCoversCompletedWritesOnly) {
  auto dev = open(kSize);
  ASSERT_TRUE(dev);
  corolib::CoEvent gate;
  bool hold = false;
  hooks_.before = [&](const RawDeviceHooks::Call& call) -> std::optional<int> {
    if (call.op == RawDeviceHooks::Op::write && hold) gate.wait();
    return std::nullopt;
  };
  std::vector<std::string> log;
  const std::vector<unsigned char> data = pattern(4, 0, 4096);
  runner_.run([&] {
    ASSERT_EQ(dev->pwrite(0, data.data(), data.size()), 0);  // W1: completed
    ASSERT_EQ(dev->flush(), 0);
  });
  ASSERT_EQ(hooks_.fdatasyncs, 1u);
  runner_.run([&] { ASSERT_EQ(dev->pwrite(4096, data.data(), data.size()), 0); });  // W2
  hold = true;
  runner_.spawn([&] {  // W3: held in flight
    ASSERT_EQ(dev->pwrite(8192, data.data(), data.size()), 0);
    log.push_back("W3 done");
  });
  runner_.spawn([&] {
    ASSERT_EQ(dev->flush(), 0);  // covers W2, not W3
    log.push_back("flush done");
  });
  // Bounded: a flush that wrongly waited for W3 would never finish.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (log.empty() && std::chrono::steady_clock::now() < deadline) {
    runner_.loop().run_once(false);
  }
  EXPECT_EQ(log, std::vector<std::string>{"flush done"});
  EXPECT_EQ(hooks_.fdatasyncs, 2u);
  hold = false;
  runner_.spawn([&] { gate.set(); });
  runner_.run();
  EXPECT_EQ(log, (std::vector<std::string>{"flush done", "W3 done"}));
  runner_.run([&] { ASSERT_EQ(dev->flush(), 0); });
  EXPECT_EQ(hooks_.fdatasyncs, 3u) << "W3 completed after the last flush began";
}

INSTANTIATE_TEST_SUITE_P(CacheModes, RawZeroSyncTest,
                         ::testing::Values(kWriteback, kWritebackRing, kNone, kNone4k, kUnsafe),
                         raw_mode_name);
INSTANTIATE_TEST_SUITE_P(CacheModes, RawDurableTest,
                         ::testing::Values(kWriteback, kWritebackRing, kNone, kNone4k),
                         raw_mode_name);

}  // namespace
}  // namespace blockdev_test
