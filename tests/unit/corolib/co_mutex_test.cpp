// CoMutex: hand-off to the next locker, FIFO order, no barging, guards, held
// lock accounting, misuse (death tests), and two threads of coroutines
// hammering one mutex through a test scheduler.
#include "corolib/co_mutex.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <latch>
#include <mutex>
#include <string>
#include <utility>
#include <thread>
#include <vector>

#include "backend_param.hpp"
#include "corolib/coroutine.hpp"
#include "co_mutex_hooks.hpp"
#include "coroutine_impl.hpp"
#include "test_loop.hpp"

namespace {

using Log = std::vector<std::string>;

class CoMutexTest : public BackendTest {};

unsigned locks_held() { return corolib::self()->locks_held; }

TEST_P(CoMutexTest, UncontendedLockAndUnlock) {
  corolib::CoMutex mutex;
  corolib::enter(corolib::create([&] {
    EXPECT_FALSE(mutex.is_locked());
    mutex.lock();
    EXPECT_TRUE(mutex.is_locked());
    mutex.assert_locked();
    mutex.unlock();
    EXPECT_FALSE(mutex.is_locked());
    EXPECT_TRUE(mutex.try_lock());
    EXPECT_FALSE(mutex.try_lock());
    mutex.unlock();
  }));
  EXPECT_FALSE(mutex.is_locked());
}

TEST_P(CoMutexTest, LocksHeldIsCounted) {
  corolib::CoMutex a;
  corolib::CoMutex b;
  corolib::enter(corolib::create([&] {
    EXPECT_EQ(locks_held(), 0u);
    a.lock();
    EXPECT_EQ(locks_held(), 1u);
    EXPECT_TRUE(b.try_lock());
    EXPECT_EQ(locks_held(), 2u);
    b.unlock();
    a.unlock();
    EXPECT_EQ(locks_held(), 0u);
  }));
}

// The second locker runs when the first unlocks, not before, and only once
// the first yields or terminates.
TEST_P(CoMutexTest, SecondLockerRunsWhenTheFirstUnlocks) {
  corolib::CoMutex mutex;
  Log log;
  corolib::Coroutine* first = corolib::create([&] {
    mutex.lock();
    log.push_back("first locked");
    corolib::yield();
    mutex.unlock();
    log.push_back("first unlocked");
  });
  corolib::Coroutine* second = corolib::create([&] {
    log.push_back("second locking");
    mutex.lock();
    log.push_back("second locked");
    mutex.unlock();
  });
  corolib::enter(first);
  corolib::enter(second);
  EXPECT_EQ(log, (Log{"first locked", "second locking"}));
  corolib::enter(first);
  EXPECT_EQ(log, (Log{"first locked", "second locking", "first unlocked", "second locked"}));
  EXPECT_FALSE(mutex.is_locked());
}

// N waiters get the mutex in the order they queued; the former holder
// cannot barge in ahead of them even though none has run yet.
TEST_P(CoMutexTest, WaitersAreServedInFifoOrderWithoutBarging) {
  constexpr int kWaiters = 16;
  corolib::CoMutex mutex;
  std::vector<int> order;
  corolib::Coroutine* holder = corolib::create([&] {
    mutex.lock();
    corolib::yield();
    mutex.unlock();
    EXPECT_FALSE(mutex.try_lock());  // handed to waiter 0, which has not run
    EXPECT_TRUE(order.empty());
    mutex.lock();  // queues behind all of them
    order.push_back(kWaiters);
    mutex.unlock();
  });
  corolib::enter(holder);
  std::vector<corolib::Coroutine*> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.push_back(corolib::create([&order, &mutex, i] {
      mutex.lock();
      order.push_back(i);
      corolib::yield();  // hold it across a yield
      mutex.unlock();
    }));
    corolib::enter(waiters.back());
  }
  EXPECT_TRUE(order.empty());
  corolib::enter(holder);
  // Waiter 0 locked and yielded back to the enter loop; nobody else got in.
  std::vector<int> expected{0};
  EXPECT_EQ(order, expected);
  EXPECT_TRUE(mutex.is_locked());
  // Each waiter's unlock hands the mutex to the next one, which runs when the
  // former terminates; the former holder comes last.
  for (int i = 0; i < kWaiters; ++i) {
    corolib::enter(waiters[i]);
    expected.push_back(i + 1);
    EXPECT_EQ(order, expected);
  }
  EXPECT_FALSE(mutex.is_locked());
}

TEST_P(CoMutexTest, FifoOrderWhenEachWaiterReleasesWithoutYielding) {
  constexpr int kWaiters = 64;
  corolib::CoMutex mutex;
  std::vector<int> order;
  corolib::Coroutine* holder = corolib::create([&] {
    mutex.lock();
    corolib::yield();
    mutex.unlock();
  });
  corolib::enter(holder);
  for (int i = 0; i < kWaiters; ++i) {
    corolib::enter(corolib::create([&order, &mutex, i] {
      mutex.lock();
      order.push_back(i);
      mutex.unlock();
    }));
  }
  corolib::enter(holder);  // every waiter runs, one after the other
  std::vector<int> expected;
  for (int i = 0; i < kWaiters; ++i) expected.push_back(i);
  EXPECT_EQ(order, expected);
  EXPECT_FALSE(mutex.is_locked());
}

TEST_P(CoMutexTest, GuardUnlocksAtScopeEndOrEarly) {
  corolib::CoMutex mutex;
  corolib::enter(corolib::create([&] {
    {
      corolib::CoMutexGuard guard(mutex);
      mutex.assert_locked();
      EXPECT_EQ(locks_held(), 1u);
    }
    EXPECT_FALSE(mutex.is_locked());
    {
      corolib::CoMutexGuard guard(mutex);
      guard.unlock();
      EXPECT_FALSE(mutex.is_locked());
    }
    {
      std::lock_guard guard(mutex);  // BasicLockable
      EXPECT_TRUE(mutex.is_locked());
    }
    EXPECT_EQ(locks_held(), 0u);
  }));
  EXPECT_FALSE(mutex.is_locked());
}

// Many coroutines on one thread, yielding inside and outside the critical
// section in a scrambled order.
TEST_P(CoMutexTest, ManyCoroutinesOnOneThreadKeepTheCounterExact) {
  constexpr int kCoroutines = 32;
  constexpr int kIterations = 200;
  corolib::CoMutex mutex;
  long counter = 0;
  int inside = 0;
  std::vector<corolib::Coroutine*> runnable;
  int finished = 0;
  for (int c = 0; c < kCoroutines; ++c) {
    corolib::enter(corolib::create([&, c] {
      for (int i = 0; i < kIterations; ++i) {
        corolib::CoMutexGuard guard(mutex);
        EXPECT_EQ(++inside, 1);
        long value = counter;
        if ((i + c) % 3 == 0) {
          runnable.push_back(corolib::self());
          corolib::yield();
        }
        counter = value + 1;
        --inside;
      }
      ++finished;
    }));
  }
  while (!runnable.empty()) {
    std::vector<corolib::Coroutine*> batch;
    batch.swap(runnable);
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) corolib::enter(*it);
  }
  EXPECT_EQ(finished, kCoroutines);
  EXPECT_EQ(counter, static_cast<long>(kCoroutines) * kIterations);
  EXPECT_FALSE(mutex.is_locked());
}

// Threads x N coroutines hammer one CoMutex. Each thread runs its own
// coroutines under a TestLoop; hand-offs to a waiter on another thread go
// through Scheduler::schedule(). The counter is a plain long updated in two
// steps, so any overlap (or missing happens-before, for TSan) shows. The
// coroutines keep going past `iterations` until the mutex has changed threads
// kMinCrossings times, so the cross-thread path is exercised however the OS
// schedules the threads.
void hammer(int threads, int coroutines, int iterations, bool yield_inside) {
  constexpr long kMinCrossings = 200;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  corolib::CoMutex mutex;
  long counter = 0;
  int last_thread = -1;  // protected by mutex
  std::atomic<long> crossings{0};
  std::atomic<long> total{0};
  std::atomic<int> inside{0};
  std::atomic<int> violations{0};
  std::latch start(threads);

  auto thread_main = [&](int t) {
    TestLoop loop;
    loop.attach();
    int finished = 0;
    long done = 0;
    start.arrive_and_wait();
    for (int c = 0; c < coroutines; ++c) {
      corolib::enter(corolib::create([&, c] {
        for (int i = 0; i < iterations || (crossings.load() < kMinCrossings &&
                                           std::chrono::steady_clock::now() < deadline);
             ++i) {
          mutex.lock();
          if (inside.fetch_add(1) != 0) violations.fetch_add(1);
          long value = counter;
          if (last_thread != t) {
            if (last_thread != -1) crossings.fetch_add(1);
            last_thread = t;
          }
          if (yield_inside && (i + c + t) % 64 == 0) loop.yield_to_loop();
          counter = value + 1;
          inside.fetch_sub(1);
          mutex.unlock();
          ++done;
          if (i % 16 == 0) loop.yield_to_loop();
        }
        ++finished;
      }));
    }
    loop.run_until([&] { return finished == coroutines; });
    total.fetch_add(done);
    loop.detach();
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(thread_main, t);
  for (auto& thread : pool) thread.join();

  EXPECT_EQ(violations.load(), 0);
  EXPECT_GE(total.load(), static_cast<long>(threads) * coroutines * iterations);
  EXPECT_EQ(counter, total.load());
  EXPECT_GE(crossings.load(), kMinCrossings);
  EXPECT_FALSE(mutex.is_locked());
}

// The test: 2 threads x N coroutines, some holding across a yield.
TEST_P(CoMutexTest, TwoThreadsOfCoroutinesKeepTheCounterExact) {
  hammer(2, 8, 2000, true);
}

// More threads than cores, short critical sections: preemption lands inside
// the fast path, the spin and the hand-off protocol.
TEST_P(CoMutexTest, FourThreadsWithShortCriticalSectionsKeepTheCounterExact) {
  hammer(4, 4, 3000, false);
}

// --- the responsibility hand-off, forced through the test seam ---------------
//
// These interleavings last nanoseconds in real runs; the hook blocks a thread
// at a chosen point of CoMutex's slow path until another thread got to a
// chosen point of its own. Each role runs one coroutine on its own thread and
// TestLoop.

using corolib::detail::CoMutexHookPoint;

class CoMutexHandoffTest : public BackendTest {
 protected:
  void TearDown() override { corolib::detail::set_comutex_hook(nullptr); }
};

struct Flag {
  std::atomic<bool> value{false};
  void set() { value.store(true); }
  void wait() const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!value.load()) {
      if (std::chrono::steady_clock::now() > deadline) {
        fprintf(stderr, "CoMutexHandoffTest: interleaving not reached\n");
        abort();
      }
      std::this_thread::yield();
    }
  }
};

// Roles are looked up by the coroutine's home loop, not by thread: the thread
// backend runs every coroutine on a thread of its own.
std::function<void(const std::string&, CoMutexHookPoint)> scenario_hook;
std::mutex events_mutex;
std::vector<std::string> events;
std::vector<std::pair<const corolib::Scheduler*, std::string>> roles;

std::string role() {
  const corolib::Scheduler* home = corolib::home_scheduler(corolib::self());
  std::lock_guard lock(events_mutex);
  for (const auto& [loop, name] : roles) {
    if (loop == home) return name;
  }
  return "?";
}

void record(const std::string& event) {
  std::lock_guard lock(events_mutex);
  events.push_back(event);
}

const char* point_name(CoMutexHookPoint point) {
  switch (point) {
    case CoMutexHookPoint::kLockBeforePush: return "lock: before push";
    case CoMutexHookPoint::kLockAfterPush: return "lock: after push";
    case CoMutexHookPoint::kLockTookToken: return "lock: took token";
    case CoMutexHookPoint::kLockBeforeYield: return "lock: yield";
    case CoMutexHookPoint::kUnlockBeforeToken: return "unlock: no record";
    case CoMutexHookPoint::kUnlockTookTokenBack: return "unlock: took token back";
  }
  return "?";
}

void trampoline(CoMutexHookPoint point) {
  const std::string who = role();
  record(who + " " + point_name(point));
  scenario_hook(who, point);
}

bool happened(const std::string& event) {
  std::lock_guard lock(events_mutex);
  for (const auto& e : events) {
    if (e == event) return true;
  }
  return false;
}

// Runs body() in one coroutine on a new thread with its own TestLoop.
std::thread run_role(const std::string& name, std::function<void()> body) {
  return std::thread([name, body = std::move(body)] {
    TestLoop loop;
    loop.attach();
    {
      std::lock_guard lock(events_mutex);
      roles.emplace_back(&loop, name);
    }
    bool done = false;
    corolib::enter(corolib::create([&] {
      body();
      done = true;
    }));
    loop.run_until([&] { return done; });
    loop.detach();
    std::lock_guard lock(events_mutex);
    std::erase_if(roles, [&](const auto& entry) { return entry.first == &loop; });
  });
}

void start_scenario(std::function<void(const std::string&, CoMutexHookPoint)> hook) {
  events.clear();
  scenario_hook = std::move(hook);
  corolib::detail::set_comutex_hook(trampoline);
}

// unlock() finds no record (the locker counted itself but has not pushed),
// posts a token; the locker finds it after pushing and takes the mutex
// itself, without ever suspending.
TEST_P(CoMutexHandoffTest, LockerTakesTheTokenAndHoldsTheMutex) {
  corolib::CoMutex mutex;
  Flag a_holds, b_counted, a_unlocked;
  start_scenario([&](const std::string& who, CoMutexHookPoint point) {
    if (who == "B" && point == CoMutexHookPoint::kLockBeforePush) {
      b_counted.set();
      a_unlocked.wait();
    }
  });
  std::thread a = run_role("A", [&] {
    mutex.lock();
    a_holds.set();
    b_counted.wait();
    mutex.unlock();
    a_unlocked.set();
  });
  a_holds.wait();
  std::thread b = run_role("B", [&] {
    mutex.lock();
    record("B holds");
    mutex.unlock();
  });
  a.join();
  b.join();
  EXPECT_TRUE(happened("A unlock: no record"));
  EXPECT_TRUE(happened("B lock: took token"));
  EXPECT_FALSE(happened("B lock: yield"));
  EXPECT_TRUE(happened("B holds"));
  EXPECT_FALSE(mutex.is_locked());
}

// As above, but B1 pushes its record only after the token was posted and
// stalls before reading it; B2 arrives, takes the token and must hand the
// mutex to B1, first in line, then suspend itself. B1 then B2 hold it.
TEST_P(CoMutexHandoffTest, LockerTakingTheTokenHandsTheMutexToTheFirstWaiter) {
  corolib::CoMutex mutex;
  Flag a_holds, b1_counted, a_unlocked, b1_pushed, b2_took;
  start_scenario([&](const std::string& who, CoMutexHookPoint point) {
    if (who == "B1" && point == CoMutexHookPoint::kLockBeforePush) {
      b1_counted.set();
      a_unlocked.wait();
    } else if (who == "B1" && point == CoMutexHookPoint::kLockAfterPush) {
      b1_pushed.set();
      b2_took.wait();
    } else if (who == "B2" && point == CoMutexHookPoint::kLockTookToken) {
      b2_took.set();
    }
  });
  std::thread a = run_role("A", [&] {
    mutex.lock();
    a_holds.set();
    b1_counted.wait();
    mutex.unlock();
    a_unlocked.set();
  });
  a_holds.wait();
  std::thread b1 = run_role("B1", [&] {
    mutex.lock();
    record("B1 holds");
    mutex.unlock();
  });
  b1_pushed.wait();
  std::thread b2 = run_role("B2", [&] {
    mutex.lock();
    record("B2 holds");
    mutex.unlock();
  });
  a.join();
  b1.join();
  b2.join();
  EXPECT_TRUE(happened("A unlock: no record"));
  EXPECT_TRUE(happened("B2 lock: took token"));
  EXPECT_TRUE(happened("B1 lock: yield"));
  EXPECT_TRUE(happened("B2 lock: yield"));
  std::vector<std::string> holds;
  for (const auto& e : events) {
    if (e.find("holds") != std::string::npos) holds.push_back(e);
  }
  EXPECT_EQ(holds, (std::vector<std::string>{"B1 holds", "B2 holds"}));
  EXPECT_FALSE(mutex.is_locked());
}

// unlock() finds no record; before it posts its token the locker pushes,
// reads "no token" and suspends. unlock() then sees the record, takes its
// token back and hands the mutex over itself.
TEST_P(CoMutexHandoffTest, UnlockTakesItsTokenBackAndHandsOver) {
  corolib::CoMutex mutex;
  Flag a_holds, b_counted, a_found_nothing, b_yielding;
  start_scenario([&](const std::string& who, CoMutexHookPoint point) {
    if (who == "B" && point == CoMutexHookPoint::kLockBeforePush) {
      b_counted.set();
      a_found_nothing.wait();
    } else if (who == "A" && point == CoMutexHookPoint::kUnlockBeforeToken) {
      a_found_nothing.set();
      b_yielding.wait();
    } else if (who == "B" && point == CoMutexHookPoint::kLockBeforeYield) {
      b_yielding.set();
    }
  });
  std::thread a = run_role("A", [&] {
    mutex.lock();
    a_holds.set();
    b_counted.wait();
    mutex.unlock();
  });
  a_holds.wait();
  std::thread b = run_role("B", [&] {
    mutex.lock();
    record("B holds");
    mutex.unlock();
  });
  a.join();
  b.join();
  EXPECT_TRUE(happened("A unlock: took token back"));
  EXPECT_FALSE(happened("B lock: took token"));
  EXPECT_TRUE(happened("B holds"));
  EXPECT_FALSE(mutex.is_locked());
}

class CoMutexDeathTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

TEST_P(CoMutexDeathTest, TerminatingWhileHoldingAborts) {
  EXPECT_DEATH(
      {
        corolib::CoMutex mutex;
        corolib::enter(corolib::create([&] { mutex.lock(); }));
      },
      "coroutine terminated while holding 1 CoMutex lock");
}

TEST_P(CoMutexDeathTest, UnlockByANonHolderAborts) {
  EXPECT_DEATH(
      {
        corolib::CoMutex mutex;
        corolib::enter(corolib::create([&] {
          mutex.lock();
          corolib::yield();
        }));
        corolib::enter(corolib::create([&] { mutex.unlock(); }));
      },
      "CoMutex::unlock: caller .* does not hold the mutex \\(holder .*\\)");
}

TEST_P(CoMutexDeathTest, UnlockOfAFreeMutexAborts) {
  EXPECT_DEATH(
      {
        corolib::CoMutex mutex;
        corolib::enter(corolib::create([&] { mutex.unlock(); }));
      },
      "CoMutex::unlock: the mutex is not locked");
}

TEST_P(CoMutexDeathTest, LockOutsideACoroutineAborts) {
  EXPECT_DEATH(
      {
        corolib::CoMutex mutex;
        mutex.lock();
      },
      "CoMutex::lock must be called from a coroutine");
}

TEST_P(CoMutexDeathTest, AssertLockedByANonHolderAborts) {
  EXPECT_DEATH(
      {
        corolib::CoMutex mutex;
        corolib::enter(corolib::create([&] {
          mutex.lock();
          corolib::yield();
        }));
        corolib::enter(corolib::create([&] { mutex.assert_locked(); }));
      },
      "CoMutex::assert_locked: the calling coroutine does not hold the mutex");
}

COROLIB_INSTANTIATE_FOR_BACKEND(CoMutexTest);
COROLIB_INSTANTIATE_FOR_BACKEND(CoMutexDeathTest);
COROLIB_INSTANTIATE_FOR_BACKEND(CoMutexHandoffTest);

}  // namespace
