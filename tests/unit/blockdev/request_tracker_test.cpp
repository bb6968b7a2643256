// RequestTracker: overlap waits between serialising and plain requests,
// driven by coroutines on one thread without an event loop. A coroutine
// "does I/O" by queueing itself on a ready list and yielding; the test
// re-enters ready coroutines until none is left.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "blockdev/request_tracker.hpp"
#include "corolib/coroutine.hpp"

namespace {

using blockdev::RequestTracker;
using blockdev::TrackedRequest;

class Sim {
 public:
  // Suspends the calling coroutine until the next run() step re-enters it.
  void io() {
    ready_.push_back(corolib::self());
    corolib::yield();
  }
  void spawn(std::function<void()> fn) {
    fns_.push_back(std::move(fn));
    ready_.push_back(corolib::create([this, i = fns_.size() - 1] { fns_[i](); }));
  }
  // Re-enters ready coroutines until none is left; returns how many steps ran.
  int run(int max_steps = 1 << 30) {
    int steps = 0;
    while (!ready_.empty() && steps < max_steps) {
      corolib::Coroutine* co = ready_.front();
      ready_.pop_front();
      corolib::enter(co);
      ++steps;
    }
    return steps;
  }
  bool idle() const { return ready_.empty(); }

 private:
  std::deque<corolib::Coroutine*> ready_;
  std::deque<std::function<void()>> fns_;
};

// One request of a scenario: admitted, it logs `name`, does `ios` I/Os,
// then logs `name` in upper case and ends.
struct Request {
  std::uint64_t offset;
  std::uint64_t length;
  bool serialising;
  char name;
  int ios;
};

struct Scenario {
  const char* name;
  std::vector<Request> requests;  // spawned in this order
  const char* log;                // the order of admissions and ends
  std::uint64_t waits;            // tracker.waits() at the end
};

void PrintTo(const Scenario& scenario, std::ostream* os) { *os << scenario.name; }

class RequestTrackerScenarioTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(RequestTrackerScenarioTest, AdmitsInOrder) {
  const Scenario& scenario = GetParam();
  RequestTracker tracker;
  Sim sim;
  std::string log;
  for (const Request& r : scenario.requests) {
    sim.spawn([&, r] {
      TrackedRequest req(tracker, r.offset, r.length, r.serialising);
      log += r.name;
      for (int i = 0; i < r.ios; ++i) sim.io();
      log += static_cast<char>(r.name - 'a' + 'A');
    });
  }
  sim.run();
  EXPECT_EQ(log, scenario.log);
  EXPECT_EQ(tracker.waits(), scenario.waits);
  EXPECT_EQ(tracker.in_flight(), 0u);
}

const Scenario kScenarios[] = {
    {"PlainRequestsDoNotWaitForEachOther",
     {{0, 4096, false, 'a', 1}, {0, 4096, false, 'b', 1}},
     "abAB",
     0},
    {"SerialisingWaitsForOverlappingPlain",
     {{1000, 100, false, 'p', 2}, {512, 512 * 2, true, 's', 1}},
     "pPsS",
     1},
    // q is adjacent to s, not overlapping: it runs at once.
    {"PlainWaitsForOverlappingSerialising",
     {{0, 4096, true, 's', 1}, {4095, 1, false, 'p', 0}, {4096, 4096, false, 'q', 1}},
     "sqSpPQ",
     1},
    {"DisjointSerialisingRequestsRunConcurrently",
     {{0, 512, true, 'a', 1}, {512, 512, true, 'b', 1}, {1024, 512, true, 'c', 1}},
     "abcABC",
     0},
    {"EmptyRangeConflictsWithNothing",
     {{0, 4096, true, 's', 1}, {100, 0, true, 'e', 0}},
     "seES",
     0},
};

INSTANTIATE_TEST_SUITE_P(, RequestTrackerScenarioTest, ::testing::ValuesIn(kScenarios),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(RequestTrackerTest, WaitersResumeInOrderAndNoneIsLost) {
  RequestTracker tracker;
  Sim sim;
  std::vector<int> order;
  for (int i = 0; i < 8; ++i) {
    sim.spawn([&, i] {
      TrackedRequest req(tracker, 0, 512, true);
      EXPECT_EQ(tracker.serialising_in_flight(), 1u);
      order.push_back(i);
      sim.io();
    });
  }
  sim.run();
  ASSERT_EQ(order.size(), 8u);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(order[i], i);
  EXPECT_EQ(tracker.in_flight(), 0u);
}

// Read-modify-write of 512-byte blocks with an I/O (yield) between the read
// and the write, from many coroutines writing disjoint byte ranges that
// share blocks: with the tracker no update is lost; the same workload
// without it loses some (which shows the test can fail).
void rmw_workload(bool use_tracker, std::vector<unsigned char>* disk,
                  std::vector<unsigned char>* model) {
  constexpr std::size_t kBlock = 512;
  RequestTracker tracker;
  Sim sim;
  std::mt19937 rng(42);
  const std::size_t size = disk->size();
  // Writer i owns bytes [i*97, i*97+97): neighbours share blocks.
  const int writers = static_cast<int>(size / 97);
  for (int i = 0; i < writers; ++i) {
    const std::size_t off = static_cast<std::size_t>(i) * 97;
    constexpr std::size_t len = 97;
    const auto value = static_cast<unsigned char>(1 + i % 255);
    std::memset(model->data() + off, value, len);
    const int delay = static_cast<int>(rng() % 3);
    sim.spawn([&, off, value, delay] {
      const std::size_t start = off / kBlock * kBlock;
      const std::size_t end = (off + len + kBlock - 1) / kBlock * kBlock;
      std::optional<TrackedRequest> req;
      if (use_tracker) req.emplace(tracker, start, end - start, true);
      std::vector<unsigned char> bounce(disk->begin() + start, disk->begin() + end);
      for (int d = 0; d <= delay; ++d) sim.io();  // the read
      std::memset(bounce.data() + (off - start), value, len);
      sim.io();  // the write, applied when it completes
      std::copy(bounce.begin(), bounce.end(), disk->begin() + start);
    });
  }
  sim.run();
}

TEST(RequestTrackerTest, ReadModifyWriteLosesNothing) {
  std::vector<unsigned char> disk(64 * 1024, 0), model(64 * 1024, 0);
  rmw_workload(true, &disk, &model);
  EXPECT_EQ(disk, model);

  std::vector<unsigned char> unsafe_disk(64 * 1024, 0), unsafe_model(64 * 1024, 0);
  rmw_workload(false, &unsafe_disk, &unsafe_model);
  EXPECT_NE(unsafe_disk, unsafe_model) << "the workload should lose updates without the tracker";
}

}  // namespace
