// Floods of 10x the ring size: the SQ-full path (submit and carry on), the
// in-flight limit (wait for CQ room), and the CQ overflow path when the limit
// is deliberately set past the CQ.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "loop_test_util.hpp"

namespace {

using corolib::EventLoop;
using corolib::EventLoopOptions;
using corolib_test::Tasks;

class LoopFloodTest : public corolib_test::LoopTest {
 protected:
  static EventLoopOptions small_ring() {
    EventLoopOptions options;
    options.sq_entries = 16;  // CQ 32, 30 requests in flight at most
    return options;
  }
};

TEST_P(LoopFloodTest, NopFloodOfTenTimesTheRingCompletes) {
  EventLoop loop(small_ring());
  const unsigned ring = loop.ring_info().cq_entries;
  const int coroutines = thread_backend() ? 2 * static_cast<int>(ring) : 10 * static_cast<int>(ring);
  const int per_coroutine = 10;
  Tasks tasks(loop);
  int completed = 0;
  unsigned worst_in_flight = 0;
  for (int i = 0; i < coroutines; ++i) {
    tasks.spawn([&] {
      for (int k = 0; k < per_coroutine; ++k) {
        ASSERT_EQ(corolib::co_nop(), 0);
        ++completed;
        worst_in_flight = std::max(worst_in_flight, loop.in_flight());
      }
    });
  }
  tasks.run();
  EXPECT_EQ(completed, coroutines * per_coroutine);
  const auto& stats = loop.stats();
  EXPECT_GT(stats.sq_full_submits, 0u);
  EXPECT_GT(stats.in_flight_waits, 0u);
  EXPECT_EQ(stats.cq_overflow_flushes, 0u);
  EXPECT_LE(worst_in_flight, ring);
  EXPECT_EQ(*loop.ring()->cq.koverflow, 0u);
}

TEST_P(LoopFloodTest, LinkedTimeoutPairsNeverStraddleASubmit) {
  EventLoop loop(small_ring());
  const int coroutines = scaled(10 * static_cast<int>(loop.ring_info().cq_entries));
  Tasks tasks(loop);
  int completed = 0;
  for (int i = 0; i < coroutines; ++i) {
    tasks.spawn([&, i] {
      // Odd coroutines take one SQE, even ones two, so the SQ fills unevenly.
      const int ret = i % 2 ? corolib::co_nop() : corolib::co_nop(std::chrono::seconds(10));
      if (ret == 0) ++completed;
    });
  }
  tasks.run();
  EXPECT_EQ(completed, coroutines);
  EXPECT_GT(loop.stats().sq_full_submits, 0u);
  EXPECT_EQ(loop.in_flight(), 1u);
}

TEST_P(LoopFloodTest, FileWriteFloodLandsEveryByte) {
  corolib_test::TempDir dir;
  const int fd = open(dir.file("flood").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSERT_GE(fd, 0);
  EventLoop loop(small_ring());
  constexpr int kChunk = 512;
  const int chunks = scaled(10 * static_cast<int>(loop.ring_info().cq_entries));
  Tasks tasks(loop);
  int failures = 0;
  for (int c = 0; c < chunks; ++c) {
    tasks.spawn([&, c] {
      std::uint8_t buf[kChunk];
      std::memset(buf, c & 0xff, sizeof(buf));
      std::memcpy(buf, &c, sizeof(c));
      if (corolib::co_pwrite(fd, buf, kChunk, std::int64_t{c} * kChunk) != kChunk) ++failures;
      std::uint8_t back[kChunk];
      if (corolib::co_pread(fd, back, kChunk, std::int64_t{c} * kChunk) != kChunk) ++failures;
      if (std::memcmp(buf, back, kChunk) != 0) ++failures;
    });
  }
  tasks.run();
  EXPECT_EQ(failures, 0);
  for (int c = 0; c < chunks; ++c) {
    int tag = -1;
    ASSERT_EQ(pread(fd, &tag, sizeof(tag), off_t{c} * kChunk), static_cast<ssize_t>(sizeof(tag)));
    ASSERT_EQ(tag, c);
  }
  close(fd);
}

// With the limit set past the CQ the kernel has to overflow it; the loop
// flushes the backlog and every request still completes exactly once.
TEST_P(LoopFloodTest, CqOverflowIsFlushedAndNothingIsLost) {
  EventLoopOptions options = small_ring();
  options.max_in_flight = 1024;
  EventLoop loop(options);
  ASSERT_TRUE(loop.ring_info().features & IORING_FEAT_NODROP);
  const int coroutines = thread_backend() ? 128 : 512;  // 16x the CQ at once
  Tasks tasks(loop);
  int completed = 0;
  for (int i = 0; i < coroutines; ++i) {
    tasks.spawn([&] {
      for (int k = 0; k < 4; ++k) {
        if (corolib::co_nop() == 0) ++completed;
      }
    });
  }
  tasks.run();
  EXPECT_EQ(completed, coroutines * 4);
  // Under the thread backend coroutines cannot submit from their own threads
  // (SINGLE_ISSUER), so at most one SQ's worth completes per iteration and
  // the CQ cannot overflow.
  if (!thread_backend()) {
    EXPECT_GT(loop.stats().cq_overflow_flushes, 0u);
  }
  EXPECT_EQ(*loop.ring()->cq.koverflow, 0u);  // overflowed, never dropped
  EXPECT_EQ(loop.in_flight(), 1u);
}

COROLIB_LOOP_INSTANTIATE(LoopFloodTest);

}  // namespace
