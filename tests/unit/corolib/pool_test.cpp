// The coroutine pool: reuse, cross-thread create/free, run-time toggle.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "backend_param.hpp"
#include "corolib/coroutine.hpp"
#include "corolib/pool.hpp"

namespace {

class PoolTest : public BackendTest {
 protected:
  void TearDown() override { corolib::pool_set_enabled(true); }
};

TEST_P(PoolTest, TerminatedCoroutineIsHandedOutAgain) {
  if (!corolib::pool_set_enabled(true)) GTEST_SKIP() << "pool disabled for this backend/build";
  corolib::Coroutine* first = corolib::create([] {});
  corolib::enter(first);
  corolib::Coroutine* second = corolib::create([] {});
  EXPECT_EQ(first, second);
  corolib::enter(second);
}

TEST_P(PoolTest, ThreadBackendRunsWithoutPool) {
  if (std::string(corolib::backend_name()) != "thread") GTEST_SKIP();
  EXPECT_FALSE(corolib::pool_enabled());
  EXPECT_FALSE(corolib::pool_set_enabled(true));
}

TEST_P(PoolTest, DisabledPoolFreesCoroutines) {
  corolib::pool_set_enabled(false);
  EXPECT_FALSE(corolib::pool_enabled());
  for (int i = 0; i < 10; ++i) corolib::enter(corolib::create([] {}));
  EXPECT_EQ(corolib::pool_local_size(), 0u);
  EXPECT_EQ(corolib::pool_global_size(), 0u);
}

TEST_P(PoolTest, OverflowMovesBatchesToGlobalPool) {
  if (!corolib::pool_set_enabled(true)) GTEST_SKIP() << "pool disabled for this backend/build";
  // Many coroutines alive at once, then all terminated: the local cache
  // overflows into the global list.
  std::vector<corolib::Coroutine*> live;
  for (int i = 0; i < 400; ++i) {
    corolib::Coroutine* co = corolib::create([] { corolib::yield(); });
    corolib::enter(co);
    live.push_back(co);
  }
  for (corolib::Coroutine* co : live) corolib::enter(co);
  EXPECT_GT(corolib::pool_global_size(), 0u);
  EXPECT_LE(corolib::pool_local_size(), 2u * 64);
}

// Coroutines created on one thread and terminated on another: TSan checks
// the pool's hand-over; the counts check nothing is lost.
TEST_P(PoolTest, CrossThreadCreateAndFree) {
  constexpr int kRounds = 2000;
  std::atomic<corolib::Coroutine*> slot{nullptr};
  std::atomic<int> finished{0};
  std::thread producer([&] {
    for (int i = 0; i < kRounds; ++i) {
      corolib::Coroutine* co = corolib::create([&finished] {
        corolib::yield();
        finished.fetch_add(1, std::memory_order_relaxed);
      });
      corolib::enter(co);  // runs until its yield on this thread
      corolib::Coroutine* expected = nullptr;
      while (!slot.compare_exchange_weak(expected, co, std::memory_order_release,
                                         std::memory_order_relaxed)) {
        expected = nullptr;
        std::this_thread::yield();
      }
    }
  });
  std::thread consumer([&] {
    for (int i = 0; i < kRounds; ++i) {
      corolib::Coroutine* co;
      while ((co = slot.exchange(nullptr, std::memory_order_acquire)) == nullptr) {
        std::this_thread::yield();
      }
      corolib::enter(co);  // terminates here, released into this thread's pool
    }
  });
  producer.join();
  consumer.join();
  EXPECT_EQ(finished.load(), kRounds);
}

COROLIB_INSTANTIATE_FOR_BACKEND(PoolTest);

}  // namespace
