// The loop as corolib::Scheduler: enter_soon, wake() from other threads and
// other loops, many producers, double scheduling.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "corolib/coroutine.hpp"
#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/scheduler.hpp"
#include "loop_test_util.hpp"

namespace {

using corolib::EventLoop;
using corolib_test::Tasks;

class LoopScheduleTest : public corolib_test::LoopTest {};

TEST_P(LoopScheduleTest, EnterSoonRunsInOrderInTheNextIteration) {
  EventLoop loop;
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) loop.enter_soon(corolib::create([&order, i] { order.push_back(i); }));
  EXPECT_TRUE(order.empty());
  loop.run_once(false);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(loop.stats().coroutines_scheduled, 5u);
}

// A coroutine parked on loop A (the thread that last entered it) is woken
// from a thread with no loop: it runs on A's thread, not the waker's.
TEST_P(LoopScheduleTest, WakeFromAPlainThreadRunsOnTheHomeLoop) {
  std::atomic<corolib::Coroutine*> parked{nullptr};
  std::atomic<bool> resumed_on_home{false};
  std::thread home([&] {
    EventLoop loop;
    const auto home_id = std::this_thread::get_id();
    Tasks tasks(loop);
    tasks.spawn([&] {
      parked.store(corolib::self());
      corolib::yield();  // until wake()
      resumed_on_home.store(EventLoop::current() == &loop &&
                            (thread_backend() || std::this_thread::get_id() == home_id));
    });
    tasks.run();
  });
  corolib::Coroutine* co;
  while ((co = parked.load()) == nullptr) std::this_thread::yield();
  EXPECT_EQ(corolib::thread_scheduler(), nullptr);
  corolib::wake(co, "WakeFromAPlainThread");
  home.join();
  EXPECT_TRUE(resumed_on_home.load());
}

// The same between two loops: a coroutine of loop B wakes one parked on A.
TEST_P(LoopScheduleTest, WakeFromAnotherLoopRunsOnTheHomeLoop) {
  std::atomic<corolib::Coroutine*> parked{nullptr};
  std::atomic<EventLoop*> resumed_on{nullptr};
  std::atomic<EventLoop*> home_loop{nullptr};
  std::thread home([&] {
    EventLoop loop;
    home_loop.store(&loop);
    Tasks tasks(loop);
    tasks.spawn([&] {
      parked.store(corolib::self());
      corolib::yield();
      resumed_on.store(EventLoop::current());
    });
    tasks.run();
  });
  std::thread other([&] {
    EventLoop loop;
    corolib_test::run_coroutine(loop, [&] {
      corolib::Coroutine* co;
      while ((co = parked.load()) == nullptr) ASSERT_EQ(corolib::co_nop(), 0);
      ASSERT_NE(corolib::home_scheduler(co), corolib::thread_scheduler());
      corolib::wake(co, "WakeFromAnotherLoop");
    });
  });
  other.join();
  home.join();
  EXPECT_EQ(resumed_on.load(), home_loop.load());
}

TEST_P(LoopScheduleTest, ManyProducersLoseNothing) {
  const int per_thread = thread_backend() ? 200 : 5000;
  constexpr int kProducers = 2;
  EventLoop loop;
  int ran = 0;  // only touched by coroutines entered by the loop
  std::atomic<int> producers_done{0};
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&] {
      for (int i = 0; i < per_thread; ++i) loop.enter_soon(corolib::create([&ran] { ++ran; }));
      producers_done.fetch_add(1);
    });
  }
  loop.run_until([&] { return ran == kProducers * per_thread; });
  for (auto& t : producers) t.join();
  EXPECT_EQ(ran, kProducers * per_thread);
  EXPECT_EQ(loop.stats().coroutines_scheduled, static_cast<std::uint64_t>(kProducers * per_thread));
}

class LoopScheduleDeathTest : public corolib_test::LoopTest {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_P(LoopScheduleDeathTest, SchedulingTwiceAbortsNamingBothCallers) {
  EXPECT_DEATH(
      {
        EventLoop loop;
        corolib::Coroutine* co = corolib::create([] {});
        loop.enter_soon(co);
        corolib::mark_scheduled(co, "SecondCaller");
      },
      "SecondCaller: coroutine was already scheduled by EventLoop::enter_soon");
}

COROLIB_LOOP_INSTANTIATE(LoopScheduleTest);
COROLIB_LOOP_INSTANTIATE(LoopScheduleDeathTest);

}  // namespace
