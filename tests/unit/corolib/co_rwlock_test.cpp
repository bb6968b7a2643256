// CoRwlock: readers share, writers exclude, fairness, upgrade re-queues
// behind a waiting writer, QEMU's downgrade scenario, misuse, and a
// two-thread stress test.
#include "corolib/co_rwlock.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <latch>
#include <string>
#include <thread>
#include <vector>

#include "backend_param.hpp"
#include "corolib/coroutine.hpp"
#include "coroutine_impl.hpp"
#include "test_loop.hpp"

namespace {

using Log = std::vector<std::string>;

class CoRwlockTest : public BackendTest {};

TEST_P(CoRwlockTest, ReadersShare) {
  corolib::CoRwlock lock;
  Log log;
  auto reader = [&](std::string name) {
    return corolib::create([&lock, &log, name] {
      lock.rdlock();
      log.push_back(name + " in");
      corolib::yield();
      log.push_back(name + " out");
      lock.unlock();
    });
  };
  corolib::Coroutine* r1 = reader("r1");
  corolib::Coroutine* r2 = reader("r2");
  corolib::enter(r1);
  corolib::enter(r2);
  EXPECT_EQ(lock.readers(), 2);
  EXPECT_FALSE(lock.write_locked());
  corolib::enter(r1);
  corolib::enter(r2);
  EXPECT_EQ(lock.readers(), 0);
  EXPECT_EQ(log, (Log{"r1 in", "r2 in", "r1 out", "r2 out"}));
}

TEST_P(CoRwlockTest, LocksHeldIsCounted) {
  corolib::CoRwlock lock;
  corolib::enter(corolib::create([&] {
    lock.rdlock();
    EXPECT_EQ(corolib::self()->locks_held, 1u);
    lock.upgrade();
    EXPECT_EQ(corolib::self()->locks_held, 1u);
    lock.downgrade();
    EXPECT_EQ(corolib::self()->locks_held, 1u);
    lock.unlock();
    EXPECT_EQ(corolib::self()->locks_held, 0u);
    lock.wrlock();
    EXPECT_EQ(corolib::self()->locks_held, 1u);
    lock.unlock();
    EXPECT_EQ(corolib::self()->locks_held, 0u);
  }));
}

// A writer excludes readers and other writers; waiting coroutines are served
// in arrival order, and the readers at the head of the queue together.
TEST_P(CoRwlockTest, WritersExcludeAndTicketsAreServedInOrder) {
  corolib::CoRwlock lock;
  Log log;
  auto locker = [&](std::string name, bool write) {
    return corolib::create([&lock, &log, name, write] {
      write ? lock.wrlock() : lock.rdlock();
      log.push_back(name + " in");
      corolib::yield();
      log.push_back(name + " out");
      lock.unlock();
    });
  };
  corolib::Coroutine* w1 = locker("w1", true);
  corolib::Coroutine* w2 = locker("w2", true);
  corolib::Coroutine* r1 = locker("r1", false);
  corolib::Coroutine* r2 = locker("r2", false);
  corolib::Coroutine* w3 = locker("w3", true);
  for (corolib::Coroutine* co : {w1, w2, r1, r2, w3}) corolib::enter(co);
  EXPECT_TRUE(lock.write_locked());
  EXPECT_EQ(log, (Log{"w1 in"}));
  corolib::enter(w1);  // w2 next
  EXPECT_EQ(log, (Log{"w1 in", "w1 out", "w2 in"}));
  corolib::enter(w2);  // r1 and r2 together
  EXPECT_EQ(log, (Log{"w1 in", "w1 out", "w2 in", "w2 out", "r1 in", "r2 in"}));
  EXPECT_EQ(lock.readers(), 2);
  corolib::enter(r1);
  EXPECT_EQ(lock.readers(), 1);  // w3 waits for r2
  corolib::enter(r2);
  EXPECT_TRUE(lock.write_locked());
  corolib::enter(w3);
  EXPECT_EQ(log.back(), "w3 out");
  EXPECT_FALSE(lock.write_locked());
  EXPECT_EQ(lock.readers(), 0);
}

// A reader does not join the current readers while a writer waits.
TEST_P(CoRwlockTest, ReaderQueuesBehindAWaitingWriter) {
  corolib::CoRwlock lock;
  Log log;
  corolib::Coroutine* r1 = corolib::create([&] {
    lock.rdlock();
    corolib::yield();
    lock.unlock();
    log.push_back("r1 out");
  });
  corolib::Coroutine* w = corolib::create([&] {
    lock.wrlock();
    log.push_back("w");
    lock.unlock();
  });
  corolib::Coroutine* r2 = corolib::create([&] {
    lock.rdlock();
    log.push_back("r2");
    lock.unlock();
  });
  corolib::enter(r1);
  corolib::enter(w);
  corolib::enter(r2);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(lock.readers(), 1);
  corolib::enter(r1);
  EXPECT_EQ(log, (Log{"r1 out", "w", "r2"}));
}

TEST_P(CoRwlockTest, UpgradeIsImmediateForTheOnlyReader) {
  corolib::CoRwlock lock;
  bool done = false;
  corolib::enter(corolib::create([&] {
    lock.rdlock();
    lock.upgrade();
    EXPECT_TRUE(lock.write_locked());
    lock.unlock();
    done = true;
  }));
  EXPECT_TRUE(done);
}

// QEMU's test_co_rwlock_upgrade: c1 reads and yields; c2 queues for the
// write lock; c1's upgrade gives up its read lock and queues behind c2,
// which therefore writes first.
TEST_P(CoRwlockTest, UpgradeRequeuesBehindAWaitingWriter) {
  corolib::CoRwlock lock;
  Log log;
  bool c1_done = false;
  bool c2_done = false;
  corolib::Coroutine* c1 = corolib::create([&] {
    lock.rdlock();
    corolib::yield();
    lock.upgrade();
    log.push_back("c1 writes");
    lock.unlock();
    c1_done = true;
  });
  corolib::Coroutine* c2 = corolib::create([&] {
    lock.wrlock();
    log.push_back("c2 writes");
    corolib::yield();
    lock.unlock();
    c2_done = true;
  });
  corolib::enter(c1);
  corolib::enter(c2);  // queued behind c1's read lock
  EXPECT_TRUE(log.empty());
  corolib::enter(c1);  // upgrade: c2 gets the lock, c1 sleeps
  EXPECT_FALSE(c1_done);
  EXPECT_EQ(log, (Log{"c2 writes"}));
  corolib::enter(c2);
  EXPECT_TRUE(c1_done);
  EXPECT_TRUE(c2_done);
  EXPECT_EQ(log, (Log{"c2 writes", "c1 writes"}));
}

// QEMU's test_co_rwlock_downgrade, the 2021 hang:
//   c1 rdlock, yield | c2 wrlock (queued) | c3 rdlock (queued) |
//   c4 wrlock (queued) | c1 unlock -> c2 downgrade, unlock -> c3 -> c4.
TEST_P(CoRwlockTest, DowngradeScenarioCompletes) {
  corolib::CoRwlock lock;
  bool done[4] = {false, false, false, false};
  Log log;
  corolib::Coroutine* c1 = corolib::create([&] {
    lock.rdlock();
    corolib::yield();
    lock.unlock();
    corolib::yield();
    done[0] = true;
  });
  corolib::Coroutine* c2 = corolib::create([&] {
    lock.wrlock();
    log.push_back("c2 writes");
    lock.downgrade();
    log.push_back("c2 reads");
    lock.unlock();
    done[1] = true;
  });
  corolib::Coroutine* c3 = corolib::create([&] {
    lock.rdlock();
    log.push_back("c3 reads");
    lock.unlock();
    done[2] = true;
  });
  corolib::Coroutine* c4 = corolib::create([&] {
    lock.wrlock();
    log.push_back("c4 writes");
    lock.unlock();
    done[3] = true;
  });
  corolib::enter(c1);
  corolib::enter(c2);
  corolib::enter(c3);
  corolib::enter(c4);
  corolib::enter(c1);
  EXPECT_TRUE(done[1]);
  EXPECT_TRUE(done[2]);
  EXPECT_TRUE(done[3]);
  EXPECT_EQ(log, (Log{"c2 writes", "c2 reads", "c3 reads", "c4 writes"}));
  corolib::enter(c1);
  EXPECT_TRUE(done[0]);
  EXPECT_EQ(lock.readers(), 0);
  EXPECT_FALSE(lock.write_locked());
}

// downgrade() never suspends and lets the readers queued at the head in at
// once; a writer queued behind them keeps waiting.
TEST_P(CoRwlockTest, DowngradeAdmitsQueuedReadersAndNeverSuspends) {
  corolib::CoRwlock lock;
  Log log;
  corolib::Coroutine* w = corolib::create([&] {
    lock.wrlock();
    corolib::yield();
    lock.downgrade();
    log.push_back("w downgraded");
    EXPECT_EQ(lock.readers(), 3);  // granted, although r1, r2 have not run
    corolib::yield();
    lock.unlock();
  });
  auto reader = [&](std::string name) {
    return corolib::create([&lock, &log, name] {
      lock.rdlock();
      log.push_back(name);
      corolib::yield();
      lock.unlock();
    });
  };
  corolib::Coroutine* r1 = reader("r1");
  corolib::Coroutine* r2 = reader("r2");
  corolib::Coroutine* w2 = corolib::create([&] {
    lock.wrlock();
    log.push_back("w2");
    lock.unlock();
  });
  for (corolib::Coroutine* co : {w, r1, r2, w2}) corolib::enter(co);
  EXPECT_TRUE(log.empty());
  corolib::enter(w);
  EXPECT_EQ(log, (Log{"w downgraded", "r1", "r2"}));
  corolib::enter(r1);
  corolib::enter(w);
  EXPECT_EQ(log.size(), 3u);  // w2 still waits for r2
  corolib::enter(r2);
  EXPECT_EQ(log, (Log{"w downgraded", "r1", "r2", "w2"}));
}

// Two threads of readers and writers on one CoRwlock. Writers update two
// plain fields in two steps (yielding in between now and then); readers
// check they match. TSan checks the happens-before edges.
TEST_P(CoRwlockTest, TwoThreadsOfReadersAndWriters) {
  constexpr int kThreads = 2;
  constexpr int kCoroutines = 6;
  constexpr int kIterations = 600;
  corolib::CoRwlock lock;
  long a = 0;
  long b = 0;
  std::atomic<int> writers_inside{0};
  std::atomic<int> readers_inside{0};
  std::atomic<int> violations{0};
  std::atomic<long> writes{0};
  std::latch start(kThreads);

  auto thread_main = [&](int t) {
    TestLoop loop;
    loop.attach();
    int finished = 0;
    start.arrive_and_wait();
    for (int c = 0; c < kCoroutines; ++c) {
      corolib::enter(corolib::create([&, c] {
        for (int i = 0; i < kIterations; ++i) {
          int kind = (i + c + t) % 4;  // 0: write, 1: read then upgrade, else read
          if (kind == 0) {
            lock.wrlock();
          } else {
            lock.rdlock();
            readers_inside.fetch_add(1);
            if (writers_inside.load() != 0) violations.fetch_add(1);
            if (a != b) violations.fetch_add(1);
            if (i % 8 == 0) loop.yield_to_loop();
            readers_inside.fetch_sub(1);
            if (kind == 1) {
              lock.upgrade();
            } else if (i % 5 == 0) {
              lock.unlock();
              continue;
            } else {
              lock.unlock();
              loop.yield_to_loop();
              continue;
            }
          }
          if (writers_inside.fetch_add(1) != 0 || readers_inside.load() != 0) {
            violations.fetch_add(1);
          }
          ++a;
          if (i % 16 == 0) loop.yield_to_loop();
          ++b;
          writes.fetch_add(1);
          writers_inside.fetch_sub(1);
          if (i % 7 == 0) {
            lock.downgrade();
            readers_inside.fetch_add(1);
            if (a != b) violations.fetch_add(1);
            readers_inside.fetch_sub(1);
          }
          lock.unlock();
          loop.yield_to_loop();
        }
        ++finished;
      }));
    }
    loop.run_until([&] { return finished == kCoroutines; });
    loop.detach();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back(thread_main, t);
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(a, writes.load());
  EXPECT_EQ(b, writes.load());
  EXPECT_EQ(lock.readers(), 0);
  EXPECT_FALSE(lock.write_locked());
}

class CoRwlockDeathTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

TEST_P(CoRwlockDeathTest, UnlockWhenNotLockedAborts) {
  EXPECT_DEATH(
      {
        corolib::CoRwlock lock;
        corolib::enter(corolib::create([&] { lock.unlock(); }));
      },
      "CoRwlock::unlock: the rwlock is not locked");
}

TEST_P(CoRwlockDeathTest, UnlockOfAnotherCoroutinesWriteLockAborts) {
  EXPECT_DEATH(
      {
        corolib::CoRwlock lock;
        corolib::enter(corolib::create([&] {
          lock.wrlock();
          corolib::yield();
        }));
        corolib::enter(corolib::create([&] { lock.unlock(); }));
      },
      "CoRwlock::unlock: the rwlock is write-locked by another coroutine");
}

TEST_P(CoRwlockDeathTest, TerminatingWhileHoldingAReadLockAborts) {
  EXPECT_DEATH(
      {
        corolib::CoRwlock lock;
        corolib::enter(corolib::create([&] { lock.rdlock(); }));
      },
      "coroutine terminated while holding 1 CoMutex lock");
}

TEST_P(CoRwlockDeathTest, DowngradeWithoutTheWriteLockAborts) {
  EXPECT_DEATH(
      {
        corolib::CoRwlock lock;
        corolib::enter(corolib::create([&] {
          lock.rdlock();
          lock.downgrade();
        }));
      },
      "CoRwlock::downgrade: the caller does not hold the write lock");
}

COROLIB_INSTANTIATE_FOR_BACKEND(CoRwlockTest);
COROLIB_INSTANTIATE_FOR_BACKEND(CoRwlockDeathTest);

}  // namespace
