// Many coroutines racing on overlapping ranges of one raw device, verified
// byte for byte against a model: read-modify-writes must not lose each
// other's data (nor that of aligned writes, discards or write-zeroes), on
// one event loop and across two threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "corolib/loop/co_io.hpp"
#include "raw_device_fixture.hpp"

namespace blockdev_test {
namespace {

using blockdev::RawDevice;
using blockdev::WriteFlags;

class RawRaceTest : public RawDeviceTest {};
// O_DIRECT modes only (buffered overlapping writes have no defined order:
// nothing serialises them).
class RawDirectRaceTest : public RawDeviceTest {};

struct Segment {
  std::uint64_t offset;
  std::size_t length;
  std::uint64_t seq;
};

// Cuts [0, region) into segments of 1..max_len bytes; neighbours share
// blocks, so with O_DIRECT most writes are read-modify-writes of blocks
// that other writes change at the same time.
std::vector<Segment> cut(std::uint64_t region, std::size_t max_len, std::mt19937& rng) {
  std::vector<Segment> segments;
  std::uint64_t offset = 0;
  while (offset < region) {
    std::size_t len = 1 + rng() % max_len;
    if (rng() % 8 == 0) len = 4096;  // some whole blocks
    len = static_cast<std::size_t>(std::min<std::uint64_t>(len, region - offset));
    segments.push_back({offset, len, segments.size()});
    offset += len;
  }
  std::shuffle(segments.begin(), segments.end(), rng);
  return segments;
}

// Each segment is written once, by its own coroutine, after a random number
// of loop round trips. Concurrent readers check that every byte they see is
// either still zero or its final value (a lost or torn update would show
// some other value, or a zero after the final value was acknowledged).
void write_segments(blockdev::BlockDevice& dev, LoopRunner& runner,
                    const std::vector<Segment>& segments, std::uint64_t seed,
                    std::size_t first, std::size_t step) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (std::size_t i = first; i < segments.size(); i += step) {
    const Segment s = segments[i];
    const int delay = static_cast<int>(rng() % 4);
    const bool fua = rng() % 16 == 0;
    runner.spawn([&dev, s, delay, fua] {
      for (int d = 0; d < delay; ++d) corolib::co_nop();
      std::vector<unsigned char> data = pattern(s.seq, s.offset, s.length);
      ASSERT_EQ(dev.pwrite(s.offset, data.data(), data.size(),
                           fua ? WriteFlags::fua : WriteFlags::none),
                0)
          << s.offset << "+" << s.length;
      // Read our own bytes back at once: nobody else writes them.
      std::vector<unsigned char> back(s.length);
      ASSERT_EQ(dev.pread(s.offset, back.data(), back.size()), 0);
      ASSERT_TRUE(back == data) << "lost write at " << s.offset << "+" << s.length;
    });
  }
}

void spawn_readers(blockdev::BlockDevice& dev, LoopRunner& runner,
                   const std::vector<unsigned char>& final_model, std::uint64_t region, int count,
                   std::uint64_t seed) {
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (int r = 0; r < count; ++r) {
    const std::uint64_t offset = rng() % region;
    const std::size_t len =
        static_cast<std::size_t>(std::min<std::uint64_t>(1 + rng() % 20000, region - offset));
    const int delay = static_cast<int>(rng() % 4);
    runner.spawn([&dev, &final_model, offset, len, delay] {
      for (int d = 0; d < delay; ++d) corolib::co_nop();
      std::vector<unsigned char> back(len);
      ASSERT_EQ(dev.pread(offset, back.data(), len), 0);
      for (std::size_t i = 0; i < len; ++i) {
        ASSERT_TRUE(back[i] == 0 || back[i] == final_model[offset + i])
            << "byte " << offset + i << " is " << int{back[i]};
      }
    });
  }
}

std::vector<unsigned char> model_of(const std::vector<Segment>& segments, std::uint64_t size) {
  std::vector<unsigned char> model(size, 0);
  for (const Segment& s : segments) {
    std::vector<unsigned char> data = pattern(s.seq, s.offset, s.length);
    std::memcpy(model.data() + s.offset, data.data(), s.length);
  }
  return model;
}

TEST_P(RawRaceTest, DisjointWritesSharingBlocks) {
  const std::uint64_t size = 1 << 20;
  const std::uint64_t region = 256 << 10;
  auto dev = open(size);
  ASSERT_TRUE(dev);
  std::mt19937 rng(1234);
  const std::vector<Segment> segments = cut(region, 3000, rng);
  const std::vector<unsigned char> model = model_of(segments, size);
  write_segments(*dev, runner_, segments, 99, 0, 1);
  spawn_readers(*dev, runner_, model, region, 100, 77);
  runner_.run();
  EXPECT_TRUE(read_file(path_) == model);
  if (direct()) {
    const auto& tracker = static_cast<RawDevice*>(dev.get())->tracker();
    EXPECT_GT(tracker.waits(), 0u) << "the writes should have had to serialise";
    EXPECT_EQ(tracker.in_flight(), 0u);
  }
}

// Overlapping unaligned writes: with O_DIRECT each is a serialising
// read-modify-write, so overlapping ones run one after the other and the
// order in which they return is the order in which they took effect. The
// model applies each write when it returns.
TEST_P(RawDirectRaceTest, OverlappingUnalignedWritesInCompletionOrder) {
  const std::uint64_t size = 1 << 20;
  const std::uint64_t region = 64 << 10;
  auto dev = open(size);
  ASSERT_TRUE(dev);
  const std::uint32_t align = dev->limits().request_alignment;
  std::vector<unsigned char> model(size, 0);
  std::mt19937 rng(4321);
  int completed = 0;
  for (std::uint64_t seq = 0; seq < 300; ++seq) {
    std::uint64_t offset = rng() % (region - 1);
    std::size_t len = 1 + rng() % 5000;
    len = static_cast<std::size_t>(std::min<std::uint64_t>(len, region - offset));
    if ((offset % align) == 0 && (len % align) == 0) --len;  // keep it unaligned
    if (len == 0) continue;
    const int delay = static_cast<int>(rng() % 3);
    runner_.spawn([&, offset, len, seq, delay] {
      for (int d = 0; d < delay; ++d) corolib::co_nop();
      std::vector<unsigned char> data = pattern(seq, offset, len);
      ASSERT_EQ(dev->pwrite(offset, data.data(), data.size()), 0);
      std::memcpy(model.data() + offset, data.data(), len);
      ++completed;
    });
  }
  // Interleave discards and write-zeroes of whole blocks, which must not be
  // undone by a read-modify-write that read the block before them.
  for (int z = 0; z < 20; ++z) {
    const std::uint64_t offset = (rng() % (region / align)) * align;
    const std::uint64_t len = std::min<std::uint64_t>(align * (1 + rng() % 4), region - offset);
    const bool discard = rng() % 2 == 0;
    const int delay = static_cast<int>(rng() % 3);
    runner_.spawn([&, offset, len, discard, delay] {
      for (int d = 0; d < delay; ++d) corolib::co_nop();
      ASSERT_EQ(discard ? dev->discard(offset, len, WriteFlags::none)
                        : dev->write_zeroes(offset, len, WriteFlags::may_unmap),
                0);
      std::memset(model.data() + offset, 0, len);
    });
  }
  runner_.run();
  EXPECT_GT(completed, 250);
  std::vector<unsigned char> back(size);
  runner_.run([&] { ASSERT_EQ(dev->pread(0, back.data(), back.size()), 0); });
  EXPECT_TRUE(back == model);
  EXPECT_TRUE(read_file(path_) == model);
  EXPECT_GT(static_cast<RawDevice*>(dev.get())->tracker().waits(), 0u);
}

// One device used from two threads, each with its own event loop: the
// tracker and the rwlock are shared across loops (TSan checks the rest).
TEST_P(RawRaceTest, TwoEventLoopsShareOneDevice) {
  const std::uint64_t size = 1 << 20;
  const std::uint64_t region = 128 << 10;
  auto dev = open(size);
  ASSERT_TRUE(dev);
  std::mt19937 rng(555);
  const std::vector<Segment> segments = cut(region, 2000, rng);
  const std::vector<unsigned char> model = model_of(segments, size);
  // The fixture's loop serves this thread; the other thread has its own.
  auto work = [&](LoopRunner& runner, std::size_t first) {
    write_segments(*dev, runner, segments, 10 + first, first, 2);
    spawn_readers(*dev, runner, model, region, 30, 20 + first);
    runner.run();
  };
  std::thread other([&] {
    LoopRunner runner;
    work(runner, 1);
  });
  work(runner_, 0);
  other.join();
  EXPECT_TRUE(read_file(path_) == model);
}

INSTANTIATE_TEST_SUITE_P(CacheModes, RawRaceTest,
                         ::testing::Values(kWriteback, kWritebackRing, kNone, kNone4k),
                         raw_mode_name);
INSTANTIATE_TEST_SUITE_P(CacheModes, RawDirectRaceTest, ::testing::Values(kNone, kNone4k),
                         raw_mode_name);

}  // namespace
}  // namespace blockdev_test
