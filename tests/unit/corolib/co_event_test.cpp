// CoEvent: one-shot wait/notify, inside and outside coroutines and across
// threads.
#include "corolib/co_event.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "backend_param.hpp"
#include "corolib/coroutine.hpp"
#include "test_loop.hpp"

namespace {

using Log = std::vector<std::string>;

class CoEventTest : public BackendTest {};

TEST_P(CoEventTest, WaitAfterSetReturnsAtOnce) {
  corolib::CoEvent event;
  EXPECT_FALSE(event.is_set());
  event.set();
  EXPECT_TRUE(event.is_set());
  bool done = false;
  corolib::enter(corolib::create([&] {
    event.wait();
    event.wait();
    done = true;
  }));
  EXPECT_TRUE(done);
}

// From a coroutine, set() wakes every waiter in waiting order, after the
// setter yields.
TEST_P(CoEventTest, SetWakesAllWaitersInOrderAfterTheSetterYields) {
  corolib::CoEvent event;
  Log log;
  for (const char* name : {"A", "B", "C"}) {
    corolib::enter(corolib::create([&event, &log, name] {
      event.wait();
      log.push_back(name);
    }));
  }
  EXPECT_TRUE(log.empty());
  corolib::Coroutine* setter = corolib::create([&] {
    event.set();
    event.set();  // harmless
    log.push_back("setter continues");
    corolib::yield();
  });
  corolib::enter(setter);
  EXPECT_EQ(log, (Log{"setter continues", "A", "B", "C"}));
  corolib::enter(setter);
}

// A completion callback (outside any coroutine) runs the waiter at once.
TEST_P(CoEventTest, SetOutsideACoroutineRunsTheWaiterBeforeReturning) {
  corolib::CoEvent event;
  Log log;
  corolib::enter(corolib::create([&] {
    event.wait();
    log.push_back("waiter");
  }));
  event.set();
  log.push_back("after set");
  EXPECT_EQ(log, (Log{"waiter", "after set"}));
}

TEST_P(CoEventTest, ResetMakesTheEventReusable) {
  corolib::CoEvent event;
  event.set();
  event.reset();
  EXPECT_FALSE(event.is_set());
  event.reset();  // not set: nothing happens
  bool done = false;
  corolib::enter(corolib::create([&] {
    event.wait();
    done = true;
  }));
  EXPECT_FALSE(done);
  event.set();
  EXPECT_TRUE(done);
}

// Waiters on two threads' loops, set from a third thread.
TEST_P(CoEventTest, SetFromAnotherThreadWakesWaitersOnTheirLoops) {
  constexpr int kThreads = 2;
  constexpr int kWaiters = 4;
  corolib::CoEvent event;
  std::atomic<int> waiting{0};
  std::atomic<int> woken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      TestLoop loop;
      loop.attach();
      int finished = 0;
      for (int i = 0; i < kWaiters; ++i) {
        corolib::enter(corolib::create([&] {
          waiting.fetch_add(1);
          event.wait();
          woken.fetch_add(1);
          ++finished;
        }));
      }
      loop.run_until([&] { return finished == kWaiters; });
      loop.detach();
    });
  }
  // wait() pushes its record after counting itself; wait until all counted,
  // then set (late pushes see the event set and return at once).
  while (waiting.load() != kThreads * kWaiters) std::this_thread::yield();
  event.set();
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(woken.load(), kThreads * kWaiters);
}

class CoEventDeathTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

TEST_P(CoEventDeathTest, WaitOutsideACoroutineAborts) {
  EXPECT_DEATH(
      {
        corolib::CoEvent event;
        event.wait();
      },
      "CoEvent::wait must be called from a coroutine");
}

COROLIB_INSTANTIATE_FOR_BACKEND(CoEventTest);
COROLIB_INSTANTIATE_FOR_BACKEND(CoEventDeathTest);

}  // namespace
