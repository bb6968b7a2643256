// Bottom halves: once per schedule, next iteration, cancel, from other
// threads, destroyed while pending or from their own callback.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "corolib/loop/bottom_half.hpp"
#include "corolib/loop/event_loop.hpp"
#include "loop_test_util.hpp"

namespace {

using corolib::BottomHalf;
using corolib::EventLoop;

class LoopBottomHalfTest : public corolib_test::LoopTest {};

void count(void* p) { ++*static_cast<int*>(p); }

TEST_P(LoopBottomHalfTest, RunsOnceInTheNextIteration) {
  EventLoop loop;
  int runs = 0;
  BottomHalf bh(loop, count, &runs);
  bh.schedule();
  bh.schedule();  // already pending: no second run
  EXPECT_TRUE(bh.scheduled());
  EXPECT_EQ(runs, 0);  // not before the loop runs
  loop.run_once();
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(bh.scheduled());
  loop.run_once(false);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(loop.stats().bottom_halves_run, 1u);
}

TEST_P(LoopBottomHalfTest, CancelWithdrawsAPendingRun) {
  EventLoop loop;
  int runs = 0;
  BottomHalf bh(loop, count, &runs);
  bh.schedule();
  bh.cancel();
  EXPECT_FALSE(bh.scheduled());
  loop.run_once(false);
  EXPECT_EQ(runs, 0);
  bh.schedule();  // and it can be scheduled again afterwards
  loop.run_once(false);
  EXPECT_EQ(runs, 1);
}

struct Rescheduler {
  BottomHalf* bh = nullptr;
  EventLoop* loop = nullptr;
  std::vector<std::uint64_t> iterations;
};

TEST_P(LoopBottomHalfTest, RescheduledFromItsCallbackRunsInTheNextIteration) {
  EventLoop loop;
  Rescheduler r;
  BottomHalf bh(
      loop,
      [](void* p) {
        auto* r = static_cast<Rescheduler*>(p);
        r->iterations.push_back(r->loop->stats().iterations);
        if (r->iterations.size() < 5) r->bh->schedule();
      },
      &r);
  r.bh = &bh;
  r.loop = &loop;
  bh.schedule();
  loop.run_until([&] { return r.iterations.size() == 5; });
  ASSERT_EQ(r.iterations.size(), 5u);
  for (size_t i = 1; i < r.iterations.size(); ++i) {
    EXPECT_EQ(r.iterations[i], r.iterations[i - 1] + 1);
  }
}

TEST_P(LoopBottomHalfTest, RunsInScheduleOrder) {
  EventLoop loop;
  std::vector<int> order;
  struct Entry {
    std::vector<int>* order;
    int id;
  } entries[3] = {{&order, 0}, {&order, 1}, {&order, 2}};
  auto record = [](void* p) {
    auto* e = static_cast<Entry*>(p);
    e->order->push_back(e->id);
  };
  BottomHalf a(loop, record, &entries[0]);
  BottomHalf b(loop, record, &entries[1]);
  BottomHalf c(loop, record, &entries[2]);
  b.schedule();
  c.schedule();
  a.schedule();
  loop.run_once(false);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 0}));
}

TEST_P(LoopBottomHalfTest, DestroyedWhilePendingNeverRuns) {
  EventLoop loop;
  int runs = 0;
  BottomHalf keep(loop, count, &runs);
  {
    BottomHalf gone(loop, count, &runs);
    keep.schedule();
    gone.schedule();
  }
  loop.run_once(false);
  EXPECT_EQ(runs, 1);
}

TEST_P(LoopBottomHalfTest, DestroyedFromItsOwnCallback) {
  EventLoop loop;
  struct Self {
    BottomHalf* bh = nullptr;
    bool ran = false;
  } self;
  self.bh = new BottomHalf(
      loop,
      [](void* p) {
        auto* s = static_cast<Self*>(p);
        s->ran = true;
        delete s->bh;
        s->bh = nullptr;
      },
      &self);
  self.bh->schedule();
  loop.run_once(false);
  EXPECT_TRUE(self.ran);
  EXPECT_EQ(self.bh, nullptr);
}

TEST_P(LoopBottomHalfTest, ScheduledFromOtherThreadsWakesTheLoop) {
  constexpr int kThreads = 2;
  constexpr int kRounds = 500;
  EventLoop loop;
  struct PerThread {
    std::atomic<int> runs{0};
  } per_thread[kThreads];
  std::vector<std::unique_ptr<BottomHalf>> bhs;
  for (auto& p : per_thread) {
    bhs.push_back(std::make_unique<BottomHalf>(
        loop, [](void* q) { static_cast<PerThread*>(q)->runs.fetch_add(1); }, &p));
  }
  std::atomic<int> finished{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Ping-pong: schedule, wait for the run, again. Each run needs the
      // blocked loop to be woken.
      for (int i = 0; i < kRounds; ++i) {
        bhs[t]->schedule();
        while (per_thread[t].runs.load() <= i) std::this_thread::yield();
      }
      finished.fetch_add(1);
      loop.stop();
    });
  }
  while (finished.load() < kThreads) loop.run();  // each thread's stop() ends one run()
  for (auto& t : threads) t.join();
  for (auto& p : per_thread) EXPECT_EQ(p.runs.load(), kRounds);
}

COROLIB_LOOP_INSTANTIATE(LoopBottomHalfTest);

}  // namespace
