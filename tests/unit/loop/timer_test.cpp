// Timers: co_sleep, and linked timeouts on I/O (-ETIMEDOUT when they fire,
// cancelled with no trace when the I/O wins).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/timer.hpp"
#include "loop_test_util.hpp"

namespace {

using corolib::EventLoop;
using corolib_test::run_coroutine;
using corolib_test::Tasks;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

class LoopTimerTest : public corolib_test::LoopTest {
 protected:
  void SetUp() override { ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv_), 0); }
  void TearDown() override {
    close(sv_[0]);
    close(sv_[1]);
  }
  int sv_[2] = {-1, -1};
};

TEST_P(LoopTimerTest, SleepWaitsAtLeastTheDuration) {
  EventLoop loop;
  run_coroutine(loop, [] {
    const auto start = Clock::now();
    EXPECT_EQ(corolib::co_sleep(milliseconds(20)), 0);
    EXPECT_GE(Clock::now() - start, milliseconds(20));
  });
}

TEST_P(LoopTimerTest, SleepersWakeInDeadlineOrder) {
  EventLoop loop;
  Tasks tasks(loop);
  std::vector<int> order;
  // 100 ms apart: starting a sleeper (a thread, with the thread backend) on a
  // loaded machine must not reorder the deadlines.
  for (int ms : {300, 100, 200}) {
    tasks.spawn([&, ms] {
      EXPECT_EQ(corolib::co_sleep(milliseconds(ms)), 0);
      order.push_back(ms);
    });
  }
  tasks.run();
  EXPECT_EQ(order, (std::vector<int>{100, 200, 300}));
}

TEST_P(LoopTimerTest, SleepingDoesNotBlockTheLoop) {
  EventLoop loop;
  Tasks tasks(loop);
  int nops_while_sleeping = -1;
  int nops = 0;
  tasks.spawn([&] {
    // Long enough for 100 NOP round trips on a loaded machine under TSan.
    EXPECT_EQ(corolib::co_sleep(milliseconds(500)), 0);
    nops_while_sleeping = nops;
  });
  tasks.spawn([&] {
    for (int i = 0; i < 100; ++i) {
      ASSERT_EQ(corolib::co_nop(), 0);
      ++nops;
    }
  });
  tasks.run();
  EXPECT_EQ(nops_while_sleeping, 100);
}

TEST_P(LoopTimerTest, SleepUntilThePastStillYieldsOnce) {
  EventLoop loop;
  Tasks tasks(loop);
  bool other_ran = false;
  bool seen = false;
  tasks.spawn([&] {
    EXPECT_EQ(corolib::co_sleep_until(Clock::now() - milliseconds(5)), 0);
    seen = other_ran;
  });
  tasks.spawn([&] { other_ran = true; });
  tasks.run();
  EXPECT_TRUE(seen);
  run_coroutine(loop, [] { EXPECT_EQ(corolib::co_sleep(milliseconds(0)), 0); });
}

TEST_P(LoopTimerTest, LinkedTimeoutFires) {
  EventLoop loop;
  run_coroutine(loop, [&] {
    char c;
    const auto start = Clock::now();
    EXPECT_EQ(corolib::co_recv(sv_[0], &c, 1, 0, milliseconds(20)), -ETIMEDOUT);
    const auto took = Clock::now() - start;
    EXPECT_GE(took, milliseconds(20));
    EXPECT_LT(took, milliseconds(2000));
  });
  EXPECT_EQ(loop.in_flight(), 1u);  // only the loop's own eventfd read is left
}

TEST_P(LoopTimerTest, LinkedTimeoutIsCancelledWhenTheIoWins) {
  EventLoop loop;
  Tasks tasks(loop);
  tasks.spawn([&] {
    char buf[4] = {};
    const auto start = Clock::now();
    EXPECT_EQ(corolib::co_recv(sv_[0], buf, 3, 0, std::chrono::seconds(10)), 3);
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(std::string(buf), "abc");
  });
  tasks.spawn([&] {
    ASSERT_EQ(corolib::co_nop(), 0);
    ASSERT_EQ(corolib::co_send(sv_[1], "abc", 3), 3);
  });
  tasks.run();
  EXPECT_EQ(loop.in_flight(), 1u);  // the timeout's own CQE was reaped too
}

TEST_P(LoopTimerTest, TimeoutAfterAPartialTransferReturnsTheCount) {
  EventLoop loop;
  ASSERT_EQ(send(sv_[1], "abc", 3, 0), 3);
  run_coroutine(loop, [&] {
    char buf[8];
    // Wants 8 bytes, 3 ever arrive: the partial count, not -ETIMEDOUT.
    EXPECT_EQ(corolib::co_recv(sv_[0], buf, sizeof(buf), MSG_WAITALL, milliseconds(20)), 3);
  });
}

TEST_P(LoopTimerTest, DeadlineInThePastTimesOutAtOnce) {
  EventLoop loop;
  run_coroutine(loop, [&] {
    char c;
    EXPECT_EQ(corolib::co_recv(sv_[0], &c, 1, 0, corolib::IoTimeout::at(Clock::now())), -ETIMEDOUT);
  });
}

TEST_P(LoopTimerTest, TimeoutsOnManyRequestsAtOnce) {
  EventLoop loop;
  Tasks tasks(loop);
  const int n = scaled(200);
  int timed_out = 0;
  int completed = 0;
  for (int i = 0; i < n; ++i) {
    tasks.spawn([&, i] {
      if (i % 2 == 0) {
        char c;
        if (corolib::co_recv(sv_[0], &c, 1, 0, milliseconds(10 + i % 7)) == -ETIMEDOUT) ++timed_out;
      } else {
        if (corolib::co_nop(std::chrono::seconds(10)) == 0) ++completed;
      }
    });
  }
  tasks.run();
  EXPECT_EQ(timed_out, n / 2);
  EXPECT_EQ(completed, n / 2);
  EXPECT_EQ(loop.in_flight(), 1u);
}

COROLIB_LOOP_INSTANTIATE(LoopTimerTest);

}  // namespace
