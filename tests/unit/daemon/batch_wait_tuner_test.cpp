// BatchWaitTuner: windows of synthetic measurements, each scenario a client
// that batching helps (deep queue), hurts (shallow queue) or does not matter
// to (light load).
#include <gtest/gtest.h>

#include <chrono>

#include "daemon/batch_wait_tuner.hpp"

namespace {

using corobd::BatchWaitTuner;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr microseconds kDelay{30};

// A 20 ms window at `rate` requests per second costing `cpu_ns` each.
BatchWaitTuner::Window window(double rate, double cpu_ns) {
  BatchWaitTuner::Window w;
  w.wall = milliseconds(20);
  w.requests = static_cast<std::uint64_t>(rate * 0.020);
  w.cpu = nanoseconds(static_cast<std::int64_t>(cpu_ns * static_cast<double>(w.requests)));
  return w;
}

// Plays a load whose cost depends on whether the last answer batched, for n
// windows; returns how many of them batched.
struct Load {
  double rate_plain, cpu_plain, rate_batched, cpu_batched;
};
int play(BatchWaitTuner& t, const Load& load, int n) {
  microseconds delay{0};
  int batched = 0;
  for (int i = 0; i < n; ++i) {
    const bool batching = delay.count() > 0;
    batched += batching ? 1 : 0;
    delay = t.next(batching ? window(load.rate_batched, load.cpu_batched)
                          : window(load.rate_plain, load.cpu_plain));
    EXPECT_TRUE(delay == microseconds(0) || delay == kDelay);
  }
  return batched;
}

// Deep queue (measured: randread QD32): batching is faster and cheaper.
constexpr Load kDeepQueue{195'000, 4'800, 220'000, 3'700};
// Shallow queue (measured: randread QD4): batching loses a third, and costs
// more CPU per request.
constexpr Load kShallowQueue{87'000, 6'400, 56'000, 17'000};

TEST(BatchWaitTunerTest, LightLoadNeverBatches) {
  BatchWaitTuner t;
  EXPECT_EQ(play(t, Load{1'000, 20'000, 1'000, 1'000}, 200), 0);
  EXPECT_FALSE(t.batching());
}

TEST(BatchWaitTunerTest, StartsPlainAndProbesAfterTheDwell) {
  BatchWaitTuner t;
  const unsigned dwell = t.dwell();
  for (unsigned i = 1; i < dwell; ++i) EXPECT_EQ(t.next(window(100'000, 5'000)), microseconds(0));
  EXPECT_EQ(t.next(window(100'000, 5'000)), kDelay);  // the probe
  EXPECT_TRUE(t.probing());
}

TEST(BatchWaitTunerTest, DeepQueueSettlesOnBatching) {
  BatchWaitTuner t;
  const int batched = play(t, kDeepQueue, 400);
  EXPECT_TRUE(t.batching());
  EXPECT_EQ(t.switches(), 1u);
  // After the first probe, only the probes of receiving at once do not batch.
  EXPECT_GE(batched, 400 - 2 * static_cast<int>(BatchWaitTuner::Options{}.min_dwell) - 10);
}

TEST(BatchWaitTunerTest, ShallowQueueStaysPlainAndProbesLessAndLess) {
  BatchWaitTuner t;
  const int batched = play(t, kShallowQueue, 1000);
  EXPECT_FALSE(t.batching());
  EXPECT_EQ(t.switches(), 0u);
  EXPECT_EQ(t.dwell(), BatchWaitTuner::Options{}.max_dwell);
  // 8 + 16 + 32 + 64 + 128 + 128 ... windows between single-window probes.
  EXPECT_LE(batched, 12);
}

TEST(BatchWaitTunerTest, StopsBatchingWhenTheLoadTurnsShallow) {
  BatchWaitTuner t;
  play(t, kDeepQueue, 100);
  ASSERT_TRUE(t.batching());
  play(t, kShallowQueue, 300);
  EXPECT_FALSE(t.batching());
}

TEST(BatchWaitTunerTest, ALostProbeIsNotALoadChange) {
  BatchWaitTuner t;
  // Batching halves this load's rate: the window after a lost probe must not
  // read as the load doubling (which would bring the dwell back to the
  // minimum and probe all the time).
  play(t, Load{200'000, 4'900, 90'000, 8'000}, 600);
  EXPECT_FALSE(t.batching());
  EXPECT_EQ(t.dwell(), BatchWaitTuner::Options{}.max_dwell);
}

TEST(BatchWaitTunerTest, ALoadChangeShortensTheDwell) {
  BatchWaitTuner t;
  play(t, kShallowQueue, 600);
  ASSERT_GT(t.dwell(), BatchWaitTuner::Options{}.min_dwell);
  t.next(window(kShallowQueue.rate_plain * 3, kShallowQueue.cpu_plain));
  EXPECT_EQ(t.dwell(), BatchWaitTuner::Options{}.min_dwell);
}

TEST(BatchWaitTunerTest, ARampingLoadDoesNotLookLikeAWin) {
  BatchWaitTuner t;
  // A client warming up: 10% more requests every window, whatever the
  // choice, at the same cost. A probe held against the windows before it
  // alone would look 15% faster.
  double rate = 20'000;
  for (int i = 0; i < 40; ++i, rate *= 1.10) t.next(window(rate, 5'000));
  EXPECT_EQ(t.switches(), 0u);
  EXPECT_FALSE(t.batching());
}

TEST(BatchWaitTunerTest, ALightWindowCancelsAProbe) {
  BatchWaitTuner t;
  const unsigned dwell = t.dwell();
  for (unsigned i = 0; i < dwell; ++i) t.next(window(200'000, 5'000));
  ASSERT_TRUE(t.probing());
  t.next(window(200'000, 2'000));  // the probe: much cheaper
  t.next(window(100, 5'000));      // the load stops before it is judged
  EXPECT_EQ(t.next(window(200'000, 5'000)), microseconds(0));
  EXPECT_EQ(t.switches(), 0u);
  EXPECT_FALSE(t.batching());
}

TEST(BatchWaitTunerTest, NoisyEqualCostsDoNotSwitch) {
  BatchWaitTuner t;
  // Batching changes nothing; +-3% noise must not flip the choice.
  int flips = 0;
  bool was_batching = t.batching();
  for (int i = 0; i < 500; ++i) {
    const double noise = (i % 3 == 0) ? 1.03 : (i % 3 == 1 ? 0.97 : 1.0);
    t.next(window(150'000 * noise, 5'000 / noise));
    if (t.batching() != was_batching) ++flips;
    was_batching = t.batching();
  }
  EXPECT_EQ(flips, 0);
}

}  // namespace
