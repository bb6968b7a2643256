// CoInflight: waiting until the count of operations in flight drops to zero.
#include "corolib/co_inflight.hpp"

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

class CoInflightTest : public BackendTest {};

TEST_P(CoInflightTest, WaitZeroReturnsAtOnceWhenNothingIsInFlight) {
  corolib::CoInflight inflight;
  bool done = false;
  corolib::enter(corolib::create([&] {
    inflight.wait_zero();
    done = true;
  }));
  EXPECT_TRUE(done);
  inflight.inc();
  inflight.dec();
  EXPECT_EQ(inflight.count(), 0u);
}

// Requests in flight hold the drainer until the last one finishes; the
// drainer runs right after it.
TEST_P(CoInflightTest, DrainWaitsForTheLastRequest) {
  constexpr int kRequests = 5;
  corolib::CoInflight inflight;
  Log log;
  std::vector<corolib::Coroutine*> requests;
  for (int i = 0; i < kRequests; ++i) {
    requests.push_back(corolib::create([&inflight, &log, i] {
      inflight.inc();
      corolib::yield();
      log.push_back("request " + std::to_string(i));
      inflight.dec();
    }));
    corolib::enter(requests.back());
  }
  EXPECT_EQ(inflight.count(), static_cast<std::size_t>(kRequests));
  corolib::Coroutine* drainer = corolib::create([&] {
    inflight.wait_zero();
    log.push_back("drained");
  });
  corolib::enter(drainer);
  corolib::Coroutine* drainer2 = corolib::create([&] {
    inflight.wait_zero();
    log.push_back("drained 2");
  });
  corolib::enter(drainer2);
  for (int i = kRequests - 1; i >= 1; --i) corolib::enter(requests[i]);
  EXPECT_EQ(log.back(), "request 1");
  corolib::enter(requests[0]);
  EXPECT_EQ(log, (Log{"request 4", "request 3", "request 2", "request 1", "request 0", "drained",
                      "drained 2"}));
}

// A waiter woken by the drop to zero waits again if the count rose before
// it ran.
TEST_P(CoInflightTest, WaiterWaitsAgainIfTheCountRisesBeforeItRuns) {
  corolib::CoInflight inflight;
  bool drained = false;
  inflight.inc();
  corolib::enter(corolib::create([&] {
    inflight.wait_zero();
    drained = true;
  }));
  corolib::Coroutine* worker = corolib::create([&] {
    inflight.dec();  // wakes the drainer (deferred) ...
    inflight.inc();  // ... but a new request starts first
    corolib::yield();
    inflight.dec();
  });
  corolib::enter(worker);
  EXPECT_FALSE(drained);
  EXPECT_EQ(inflight.count(), 1u);
  corolib::enter(worker);
  EXPECT_TRUE(drained);
}

// dec() outside a coroutine (a completion callback) runs the waiter at once.
TEST_P(CoInflightTest, DecOutsideACoroutineRunsTheWaiter) {
  corolib::CoInflight inflight;
  bool drained = false;
  inflight.inc();
  corolib::enter(corolib::create([&] {
    inflight.wait_zero();
    drained = true;
  }));
  EXPECT_FALSE(drained);
  inflight.dec();
  EXPECT_TRUE(drained);
}

// Requests finish on another thread; the drainer waits on its own loop.
TEST_P(CoInflightTest, DrainAcrossThreads) {
  constexpr int kRequests = 1000;
  corolib::CoInflight inflight;
  for (int i = 0; i < kRequests; ++i) inflight.inc();
  std::atomic<bool> waiting{false};
  bool drained = false;
  std::thread drainer([&] {
    TestLoop loop;
    loop.attach();
    corolib::enter(corolib::create([&] {
      waiting = true;
      inflight.wait_zero();
      drained = true;
    }));
    loop.run_until([&] { return drained; });
    loop.detach();
  });
  while (!waiting) std::this_thread::yield();
  std::thread worker([&] {
    for (int i = 0; i < kRequests; ++i) inflight.dec();
  });
  worker.join();
  drainer.join();
  EXPECT_TRUE(drained);
  EXPECT_EQ(inflight.count(), 0u);
}

class CoInflightDeathTest : public BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

TEST_P(CoInflightDeathTest, DecBelowZeroAborts) {
  EXPECT_DEATH(
      {
        corolib::CoInflight inflight;
        inflight.dec();
      },
      "CoInflight::dec below zero");
}

COROLIB_INSTANTIATE_FOR_BACKEND(CoInflightTest);
COROLIB_INSTANTIATE_FOR_BACKEND(CoInflightDeathTest);

}  // namespace
