// CoQueue: deferred wakeup order, wait at the front, restart_all, waiting
// with a lock, wakeups outside coroutines and from another thread.
#include "corolib/co_queue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend_param.hpp"
#include "corolib/co_mutex.hpp"
#include "corolib/coroutine.hpp"
#include "test_loop.hpp"

namespace {

using Log = std::vector<std::string>;

class CoQueueTest : public BackendTest {};

TEST_P(CoQueueTest, EmptyAndNextOnEmptyQueue) {
  corolib::CoQueue queue;
  EXPECT_TRUE(queue.empty());
  EXPECT_FALSE(queue.next());
  EXPECT_FALSE(queue.restart_all());
}

// Waking A then B from C runs A and B only after C yields, in that order;
// nothing runs while C continues.
TEST_P(CoQueueTest, DeferredWakeupsRunAfterTheWakerYieldsInOrder) {
  corolib::CoQueue queue;
  Log log;
  auto waiter = [&](std::string name) {
    return corolib::create([&queue, &log, name] {
      queue.wait();
      log.push_back(name);
    });
  };
  corolib::enter(waiter("A"));
  corolib::enter(waiter("B"));
  EXPECT_FALSE(queue.empty());
  corolib::Coroutine* c = corolib::create([&] {
    EXPECT_TRUE(queue.next());
    EXPECT_TRUE(queue.next());
    EXPECT_TRUE(queue.empty());
    log.push_back("C continues");
    corolib::yield();
    log.push_back("C again");
  });
  corolib::enter(c);
  log.push_back("main");
  corolib::enter(c);
  EXPECT_EQ(log, (Log{"C continues", "A", "B", "main", "C again"}));
}

TEST_P(CoQueueTest, DeferredWakeupsRunWhenTheWakerTerminates) {
  corolib::CoQueue queue;
  Log log;
  corolib::enter(corolib::create([&] {
    queue.wait();
    log.push_back("A");
  }));
  corolib::enter(corolib::create([&] {
    queue.next();
    log.push_back("C ends");
  }));
  log.push_back("main");
  EXPECT_EQ(log, (Log{"C ends", "A", "main"}));
}

// A woken coroutine's own wakeups run before the ones queued earlier
// (depth first), as in QEMU.
TEST_P(CoQueueTest, WakeupsOfAWokenCoroutineRunFirst) {
  corolib::CoQueue first;
  corolib::CoQueue second;
  Log log;
  corolib::enter(corolib::create([&] {
    first.wait();
    log.push_back("A");
    second.next();
    log.push_back("A ends");
  }));
  corolib::enter(corolib::create([&] {
    first.wait();
    log.push_back("B");
  }));
  corolib::enter(corolib::create([&] {
    second.wait();
    log.push_back("D");
  }));
  corolib::enter(corolib::create([&] { first.restart_all(); }));
  EXPECT_EQ(log, (Log{"A", "A ends", "D", "B"}));
}

TEST_P(CoQueueTest, NextOutsideACoroutineEntersTheWaiterAtOnce) {
  corolib::CoQueue queue;
  Log log;
  corolib::enter(corolib::create([&] {
    queue.wait();
    log.push_back("A");
  }));
  EXPECT_TRUE(queue.next());
  log.push_back("main");
  EXPECT_EQ(log, (Log{"A", "main"}));
}

TEST_P(CoQueueTest, WaitFrontQueuesAtTheHead) {
  corolib::CoQueue queue;
  Log log;
  corolib::enter(corolib::create([&] {
    queue.wait();
    log.push_back("A");
  }));
  corolib::enter(corolib::create([&] {
    queue.wait();
    log.push_back("B");
  }));
  corolib::enter(corolib::create([&] {
    queue.wait_front();
    log.push_back("F");
  }));
  EXPECT_TRUE(queue.restart_all());
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(log, (Log{"F", "A", "B"}));
}

TEST_P(CoQueueTest, RestartAllFromACoroutineIsDeferred) {
  corolib::CoQueue queue;
  Log log;
  for (const char* name : {"A", "B", "C"}) {
    corolib::enter(corolib::create([&queue, &log, name] {
      queue.wait();
      log.push_back(name);
    }));
  }
  corolib::enter(corolib::create([&] {
    queue.restart_all();
    log.push_back("waker");
  }));
  EXPECT_EQ(log, (Log{"waker", "A", "B", "C"}));
}

// A waiter woken by restart_all() that waits again is not woken again by the
// same call, even when entered at once (outside a coroutine).
TEST_P(CoQueueTest, RestartAllDoesNotWakeCoroutinesThatWaitAgain) {
  corolib::CoQueue queue;
  int wakeups = 0;
  bool stop = false;
  corolib::enter(corolib::create([&] {
    while (!stop) {
      queue.wait();
      ++wakeups;
    }
  }));
  EXPECT_TRUE(queue.restart_all());
  EXPECT_EQ(wakeups, 1);
  EXPECT_FALSE(queue.empty());
  stop = true;
  queue.next();
  EXPECT_EQ(wakeups, 2);
  EXPECT_TRUE(queue.empty());
}

// The condition-variable pattern with a CoMutex: the lock is released while
// waiting and held again when wait() returns.
TEST_P(CoQueueTest, WaitReleasesAndRetakesACoMutex) {
  corolib::CoQueue queue;
  corolib::CoMutex mutex;
  bool ready = false;
  Log log;
  corolib::enter(corolib::create([&] {
    mutex.lock();
    while (!ready) queue.wait(mutex);
    mutex.assert_locked();
    log.push_back("consumer");
    mutex.unlock();
  }));
  EXPECT_FALSE(mutex.is_locked());  // released while waiting
  corolib::enter(corolib::create([&] {
    mutex.lock();
    ready = true;
    queue.next();
    log.push_back("producer");
    mutex.unlock();
  }));
  EXPECT_FALSE(mutex.is_locked());
  EXPECT_EQ(log, (Log{"producer", "consumer"}));
}

// With a thread mutex, waking outside a coroutine uses enter_next(), which
// drops the lock while the waiter runs (it takes the lock itself).
TEST_P(CoQueueTest, EnterNextReleasesAThreadMutexWhileTheWaiterRuns) {
  corolib::CoQueue queue;
  std::mutex mutex;
  bool ready = false;
  bool consumed = false;
  corolib::enter(corolib::create([&] {
    std::unique_lock lock(mutex);
    while (!ready) queue.wait(lock);
    consumed = true;
  }));
  std::unique_lock lock(mutex);
  ready = true;
  EXPECT_TRUE(queue.enter_next(lock));
  EXPECT_TRUE(lock.owns_lock());
  EXPECT_TRUE(consumed);
  EXPECT_FALSE(queue.enter_next(lock));
}

// A waiter whose home is another thread's loop is handed to that loop.
TEST_P(CoQueueTest, WaiterOnAnotherThreadIsScheduledOnItsLoop) {
  corolib::CoQueue queue;
  std::mutex mutex;
  bool ready = false;
  std::atomic<bool> waiting{false};
  std::atomic<bool> done{false};
  std::thread::id ran_on;
  std::thread::id other_id;
  std::thread other([&] {
    other_id = std::this_thread::get_id();
    TestLoop loop;
    loop.attach();
    corolib::enter(corolib::create([&] {
      std::unique_lock lock(mutex);
      waiting = true;
      while (!ready) queue.wait(lock);
      ran_on = std::this_thread::get_id();
      done = true;
    }));
    loop.run_until([&] { return done.load(); });
    EXPECT_EQ(loop.entered(), 1u);
    loop.detach();
  });
  while (!waiting) std::this_thread::yield();
  {
    std::lock_guard lock(mutex);
    ready = true;
    EXPECT_TRUE(queue.next());  // not entered here: scheduled on `other`
  }
  other.join();
  EXPECT_TRUE(done);
  // (The thread backend runs every coroutine on a thread of its own.)
  if (std::string(corolib::backend_name()) != "thread") {
    EXPECT_EQ(ran_on, other_id);
  }
}

class CoQueueDeathTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

TEST_P(CoQueueDeathTest, WaitOutsideACoroutineAborts) {
  EXPECT_DEATH(
      {
        corolib::CoQueue queue;
        queue.wait();
      },
      "CoQueue::wait must be called from a coroutine");
}

// Waking a coroutine that is already on a wakeup list names both wakers.
TEST_P(CoQueueDeathTest, DoubleWakeupNamesBothCallers) {
  EXPECT_DEATH(
      {
        corolib::CoQueue queue;
        corolib::Coroutine* waiter = corolib::create([&] { queue.wait(); });
        corolib::enter(waiter);
        corolib::enter(corolib::create([&] {
          queue.next();
          corolib::wake_deferred(waiter);
        }));
      },
      "wake_deferred: coroutine was already scheduled by CoQueue::next");
}

TEST_P(CoQueueDeathTest, EnteringAScheduledCoroutineAborts) {
  EXPECT_DEATH(
      {
        corolib::CoQueue queue;
        corolib::Coroutine* waiter = corolib::create([&] { queue.wait(); });
        corolib::enter(waiter);
        corolib::enter(corolib::create([&] {
          queue.next();
          corolib::enter(waiter);
        }));
      },
      "entered while already scheduled by CoQueue::next");
}

COROLIB_INSTANTIATE_FOR_BACKEND(CoQueueTest);
COROLIB_INSTANTIATE_FOR_BACKEND(CoQueueDeathTest);

}  // namespace
