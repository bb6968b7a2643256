// EventLoop: ring setup and fallback, run/run_until/stop, the iteration's
// ordering, and the thread and misuse rules.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "corolib/loop/bottom_half.hpp"
#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/ring_info.hpp"
#include "loop_test_util.hpp"

namespace {

using corolib::EventLoop;
using corolib::EventLoopOptions;
using corolib::TaskrunMode;
using corolib_test::run_coroutine;
using corolib_test::Tasks;

class EventLoopTest : public corolib_test::LoopTest {};

TEST_P(EventLoopTest, SetupTakesTheBestModeAndSizesTheCq) {
  EventLoopOptions options;
  options.sq_entries = 64;
  EventLoop loop(options);
  const corolib::RingInfo& info = loop.ring_info();
  EXPECT_EQ(info.sq_entries, 64u);
  EXPECT_GE(info.cq_entries, 2 * info.sq_entries);
  EXPECT_TRUE(info.setup_flags & IORING_SETUP_CQSIZE);
  EXPECT_TRUE(info.features & IORING_FEAT_NODROP);
  EXPECT_EQ(loop.max_in_flight(), info.cq_entries - 2);
  // This kernel (6.x) takes the best setup; older ones fall back.
  if (info.mode == TaskrunMode::kDefer) {
    EXPECT_EQ(info.fallbacks, 0u);
    EXPECT_TRUE(info.setup_flags & IORING_SETUP_SINGLE_ISSUER);
    EXPECT_TRUE(info.setup_flags & IORING_SETUP_DEFER_TASKRUN);
  }
  const std::string line = corolib::describe(info);
  EXPECT_NE(line.find("mode="), std::string::npos) << line;
  EXPECT_NE(line.find("CQSIZE"), std::string::npos) << line;
  EXPECT_EQ(EventLoop::current(), &loop);
  EXPECT_EQ(corolib::thread_scheduler(), &loop);
}

TEST_P(EventLoopTest, LoopUnregistersOnDestruction) {
  { EventLoop loop; }
  EXPECT_EQ(EventLoop::current(), nullptr);
  EXPECT_EQ(corolib::thread_scheduler(), nullptr);
  EventLoop again;  // a thread may own a new loop after the old one is gone
  EXPECT_EQ(EventLoop::current(), &again);
}

TEST_P(EventLoopTest, DescribeSetupFlags) {
  EXPECT_EQ(corolib::describe_setup_flags(0), "none");
  EXPECT_EQ(corolib::describe_setup_flags(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN),
            "SINGLE_ISSUER|DEFER_TASKRUN");
  EXPECT_EQ(corolib::describe_setup_flags(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG),
            "COOP_TASKRUN|TASKRUN_FLAG");
  EXPECT_EQ(corolib::describe_setup_flags(1u << 30), "0x40000000");
  EXPECT_STREQ(corolib::to_string(TaskrunMode::kCoop), "coop");
}

// Every setup step the fallback can land on runs I/O correctly.
class EventLoopModeTest : public ::testing::TestWithParam<std::tuple<std::string, TaskrunMode>> {};

TEST_P(EventLoopModeTest, EveryModeRunsIo) {
  EventLoopOptions options;
  options.sq_entries = 8;
  options.best_mode = std::get<1>(GetParam());
  EventLoop loop(options);
  EXPECT_EQ(loop.ring_info().mode, options.best_mode);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  Tasks tasks(loop);
  char got[6] = {};
  tasks.spawn([&] { EXPECT_EQ(corolib::co_read(fds[0], got, 5), 5); });
  tasks.spawn([&] { EXPECT_EQ(corolib::co_write(fds[1], "hello", 5), 5); });
  tasks.spawn([&] {
    for (int i = 0; i < 100; ++i) ASSERT_EQ(corolib::co_nop(), 0);
  });
  tasks.run();
  EXPECT_STREQ(got, "hello");
  close(fds[0]);
  close(fds[1]);
}

INSTANTIATE_TEST_SUITE_P(
    , EventLoopModeTest,
    ::testing::Combine(::testing::Values(std::string(corolib::backend_name())),
                       ::testing::Values(TaskrunMode::kDefer, TaskrunMode::kCoop,
                                         TaskrunMode::kPlain)),
    [](const auto& info) {
      return std::get<0>(info.param) + "_" + corolib::to_string(std::get<1>(info.param));
    });

TEST_P(EventLoopTest, RunUntilReturnsWhenThePredicateHolds) {
  EventLoop loop;
  int round_trips = 0;
  Tasks tasks(loop);
  tasks.spawn([&] {
    for (int i = 0; i < 1000; ++i) {
      ASSERT_EQ(corolib::co_nop(), 0);
      ++round_trips;
    }
  });
  loop.run_until([&] { return round_trips >= 10; });
  EXPECT_GE(round_trips, 10);
  EXPECT_LT(round_trips, 1000);
  tasks.run();  // and the next run carries on
  EXPECT_EQ(round_trips, 1000);
  // One NOP per iteration: submit, complete, re-enter.
  EXPECT_GE(loop.stats().cqes_reaped, 1000u);
}

TEST_P(EventLoopTest, StopFromTheLoopReturnsAfterTheIteration) {
  EventLoop loop;
  bool ran = false;
  Tasks tasks(loop);
  tasks.spawn([&] {
    ASSERT_EQ(corolib::co_nop(), 0);
    ran = true;
    EventLoop::current()->stop();
  });
  loop.run();
  EXPECT_TRUE(ran);
  EXPECT_EQ(tasks.live(), 0);
}

TEST_P(EventLoopTest, StopBeforeRunMakesItReturnAtOnce) {
  EventLoop loop;
  loop.stop();
  loop.run();  // returns without waiting
  SUCCEED();
}

TEST_P(EventLoopTest, StopFromAnotherThreadWakesABlockedLoop) {
  EventLoop loop;
  std::atomic<bool> running{false};
  corolib::BottomHalf started(
      loop, [](void* p) { static_cast<std::atomic<bool>*>(p)->store(true); }, &running);
  started.schedule();
  std::thread stopper([&] {
    while (!running.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    loop.stop();
  });
  const auto start = std::chrono::steady_clock::now();
  loop.run();  // blocks in io_uring_enter until the eventfd write
  stopper.join();
  EXPECT_TRUE(running.load());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(15));
}

TEST_P(EventLoopTest, OneSubmitBatchPerIteration) {
  EventLoop loop;
  const int n = scaled(100);
  Tasks tasks(loop);
  for (int i = 0; i < n; ++i) tasks.spawn([] { ASSERT_EQ(corolib::co_nop(), 0); });
  loop.run_once(false);  // enters the coroutines: each queues one SQE
  const auto before = loop.stats();
  loop.run_once(true);  // one io_uring_enter submits all of them
  const auto& after = loop.stats();
  EXPECT_EQ(after.enter_calls - before.enter_calls, 1u);
  EXPECT_GE(after.sqes_submitted - before.sqes_submitted, static_cast<unsigned>(n));
  tasks.run();
}

TEST_P(EventLoopTest, CompletionsReenterOnTheLoopThread) {
  EventLoop loop;
  std::thread::id seen;
  run_coroutine(loop, [&] {
    ASSERT_EQ(corolib::co_nop(), 0);
    seen = std::this_thread::get_id();
    EXPECT_EQ(EventLoop::current(), &loop);
  });
  // The thread backend runs the coroutine on a thread of its own.
  if (!thread_backend()) {
    EXPECT_EQ(seen, std::this_thread::get_id());
  }
}

TEST_P(EventLoopTest, LoopsOnSeveralThreadsAreIndependent) {
  constexpr int kThreads = 2;
  std::vector<std::thread> threads;
  std::atomic<int> done{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      EventLoop loop;
      Tasks tasks(loop);
      for (int i = 0; i < 8; ++i) {
        tasks.spawn([] {
          for (int k = 0; k < 200; ++k) ASSERT_EQ(corolib::co_nop(), 0);
        });
      }
      tasks.run();
      done.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), kThreads);
}

class EventLoopDeathTest : public corolib_test::LoopTest {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_P(EventLoopDeathTest, TwoLoopsOnOneThreadAbort) {
  EXPECT_DEATH(
      {
        EventLoop a;
        EventLoop b;
      },
      "already has an EventLoop");
}

TEST_P(EventLoopDeathTest, RunOnAnotherThreadAborts) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        std::thread([&] { loop.run(); }).join();
      },
      "does not own the loop");
}

TEST_P(EventLoopDeathTest, IoOutsideACoroutineAborts) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        corolib::co_nop();
      },
      "must be called from a coroutine");
}

TEST_P(EventLoopDeathTest, IoWithoutALoopAborts) {
  EXPECT_DEATH(corolib::enter(corolib::create([] { corolib::co_nop(); })),
               "no EventLoop on this thread");
}

TEST_P(EventLoopDeathTest, RunFromACoroutineAborts) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        corolib::enter(corolib::create([&] { loop.run(); }));
      },
      "must not be called from a coroutine");
}

COROLIB_LOOP_INSTANTIATE(EventLoopTest);
COROLIB_LOOP_INSTANTIATE(EventLoopDeathTest);

}  // namespace
