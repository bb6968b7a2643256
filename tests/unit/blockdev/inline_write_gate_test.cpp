// InlineWriteGate: when buffered writes may run on the loop's thread, driven
// with made-up times.
#include "inline_write_gate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

namespace {

using blockdev::InlineWriteGate;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using Time = InlineWriteGate::Clock::time_point;

constexpr Time kT0 = Time(std::chrono::hours(1));
constexpr auto kQuick = microseconds(2);
constexpr auto kStall = InlineWriteGate::kStallThreshold + microseconds(1);

TEST(InlineWriteGateTest, OpenUntilAWriteStalls) {
  InlineWriteGate gate;
  EXPECT_TRUE(gate.open(Time{}));
  Time t = kT0;
  for (int i = 0; i < 1000; ++i, t += microseconds(10)) {
    ASSERT_TRUE(gate.open(t));
    gate.record(t, t + kQuick);
  }
  gate.record(t, t + InlineWriteGate::kStallThreshold);  // at the threshold: not a stall
  EXPECT_TRUE(gate.open(t + milliseconds(2)));
  EXPECT_EQ(gate.stalls(), 0u);
}

TEST(InlineWriteGateTest, AStallClosesTheGateForTheBackoff) {
  InlineWriteGate gate;
  const Time end = kT0 + kStall;
  gate.record(kT0, end);
  EXPECT_EQ(gate.stalls(), 1u);
  EXPECT_EQ(gate.backoff(), InlineWriteGate::kMinBackoff);
  EXPECT_FALSE(gate.open(end));
  EXPECT_FALSE(gate.open(end + InlineWriteGate::kMinBackoff - microseconds(1)));
  EXPECT_TRUE(gate.open(end + InlineWriteGate::kMinBackoff));
}

TEST(InlineWriteGateTest, StallsRightAfterReopeningDoubleTheBackoff) {
  InlineWriteGate gate;
  Time t = kT0;
  auto expected = std::chrono::duration_cast<std::chrono::nanoseconds>(InlineWriteGate::kMinBackoff);
  for (int i = 0; i < 20; ++i) {
    gate.record(t, t + kStall);
    EXPECT_EQ(gate.backoff(), expected) << "stall " << i;
    t += kStall + gate.backoff();
    ASSERT_TRUE(gate.open(t));
    expected = std::min<std::chrono::nanoseconds>(2 * expected, InlineWriteGate::kMaxBackoff);
  }
  EXPECT_EQ(gate.backoff(), InlineWriteGate::kMaxBackoff);
  EXPECT_EQ(gate.stalls(), 20u);
}

TEST(InlineWriteGateTest, AQuickWriteAfterReopeningResetsTheBackoff) {
  InlineWriteGate gate;
  Time t = kT0;
  for (int i = 0; i < 3; ++i) {  // 10, 20, 40 ms
    gate.record(t, t + kStall);
    t += kStall + gate.backoff();
  }
  EXPECT_EQ(gate.backoff(), 4 * InlineWriteGate::kMinBackoff);
  gate.record(t, t + kQuick);
  EXPECT_EQ(gate.backoff(), InlineWriteGate::kMinBackoff);
  // The next stall is an isolated one again.
  t += std::chrono::seconds(1);
  gate.record(t, t + kStall);
  EXPECT_EQ(gate.backoff(), InlineWriteGate::kMinBackoff);
}

}  // namespace
