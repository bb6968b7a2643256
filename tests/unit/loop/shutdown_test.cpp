// stop() with I/O in flight, and shutdown() / the destructor draining it.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

#include "corolib/loop/bottom_half.hpp"
#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/timer.hpp"
#include "loop_test_util.hpp"

namespace {

using corolib::EventLoop;
using corolib_test::Tasks;
using Clock = std::chrono::steady_clock;

class LoopShutdownTest : public corolib_test::LoopTest {
 protected:
  void SetUp() override { ASSERT_EQ(pipe2(pipe_, O_CLOEXEC), 0); }
  void TearDown() override {
    close(pipe_[0]);
    close(pipe_[1]);
  }
  int pipe_[2] = {-1, -1};
};

TEST_P(LoopShutdownTest, StopWithIoInFlightThenRunAgainFinishesIt) {
  EventLoop loop;
  Tasks tasks(loop);
  int got = 0;
  int nops = 0;
  tasks.spawn([&] {
    char buf[8];
    got = corolib::co_read(pipe_[0], buf, sizeof(buf));
  });
  tasks.spawn([&] { EXPECT_EQ(corolib::co_sleep(std::chrono::milliseconds(30)), 0); });
  tasks.spawn([&] {
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(corolib::co_nop(), 0);
      ++nops;
    }
    EventLoop::current()->stop();
  });
  loop.run();
  EXPECT_EQ(nops, 10);
  EXPECT_EQ(tasks.live(), 2);         // reader and sleeper still waiting
  EXPECT_EQ(loop.in_flight(), 3u);    // their requests and the eventfd read
  ASSERT_EQ(write(pipe_[1], "data", 4), 4);
  tasks.run();
  EXPECT_EQ(got, 4);
  EXPECT_EQ(loop.in_flight(), 1u);
}

TEST_P(LoopShutdownTest, StopFromAnotherThreadWhileBlockedOnIo) {
  EventLoop loop;
  Tasks tasks(loop);
  int got = 1;
  std::atomic<bool> waiting{false};
  tasks.spawn([&] {
    waiting.store(true);
    char buf[8];
    got = corolib::co_read(pipe_[0], buf, sizeof(buf));
  });
  std::thread stopper([&] {
    while (!waiting.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    loop.stop();
  });
  loop.run();
  stopper.join();
  EXPECT_EQ(tasks.live(), 1);
  loop.shutdown();
  EXPECT_EQ(got, -ECANCELED);
  EXPECT_EQ(tasks.live(), 0);
}

TEST_P(LoopShutdownTest, ShutdownCancelsEverythingAndReentersEveryone) {
  corolib::EventLoopOptions options;
  options.sq_entries = 4;  // CQ 8: 6 in flight with the loop's own; the rest wait
  EventLoop loop(options);
  Tasks tasks(loop);
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  constexpr int kReaders = 10;
  std::vector<int> reads(kReaders, 1);
  for (int i = 0; i < kReaders; ++i) {
    tasks.spawn([&, i] {
      char buf[8];
      reads[i] = corolib::co_read(pipe_[0], buf, sizeof(buf));
      // Anything after shutdown began fails at once.
      EXPECT_EQ(corolib::co_nop(), -ECANCELED);
    });
  }
  int slept = 1;
  int received = 1;
  tasks.spawn([&] { slept = corolib::co_sleep(std::chrono::seconds(60)); });
  tasks.spawn([&] {
    char c;
    received = corolib::co_recv(sv[0], &c, 1, 0, std::chrono::seconds(60));
  });
  int late_bh_runs = 0;
  corolib::BottomHalf bh(loop, [](void* p) { ++*static_cast<int*>(p); }, &late_bh_runs);
  tasks.spawn([&] { EXPECT_EQ(corolib::co_nop(), -ECANCELED); });  // waits for room, refused
  loop.run_until([&] { return loop.stats().in_flight_waits >= 3; });

  // Work queued but not yet run when shutdown starts still runs.
  int scheduled_result = 1;
  loop.enter_soon(corolib::create([&] { scheduled_result = corolib::co_nop(); }));
  bh.schedule();

  const auto start = Clock::now();
  loop.shutdown();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(5));
  for (int r : reads) EXPECT_EQ(r, -ECANCELED);
  EXPECT_EQ(slept, -ECANCELED);
  EXPECT_EQ(received, -ECANCELED);
  EXPECT_EQ(scheduled_result, -ECANCELED);
  EXPECT_EQ(late_bh_runs, 1);
  EXPECT_EQ(tasks.live(), 0);
  EXPECT_EQ(loop.in_flight(), 0u);
  loop.shutdown();  // idempotent
  close(sv[0]);
  close(sv[1]);
}

TEST_P(LoopShutdownTest, DestructorDrainsInFlightIo) {
  int result = 1;
  bool finished = false;
  {
    EventLoop loop;
    loop.enter_soon(corolib::create([&] {
      char buf[8];
      result = corolib::co_read(pipe_[0], buf, sizeof(buf));
      finished = true;
    }));
    loop.run_once(false);  // the read is now in flight
    loop.run_once(false);
    EXPECT_FALSE(finished);
  }
  EXPECT_TRUE(finished);
  EXPECT_EQ(result, -ECANCELED);
}

COROLIB_LOOP_INSTANTIATE(LoopShutdownTest);

}  // namespace
