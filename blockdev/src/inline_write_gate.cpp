#include "inline_write_gate.hpp"

#include <algorithm>

namespace blockdev {

namespace {

constexpr std::int64_t to_ns(std::chrono::nanoseconds d) { return d.count(); }

}  // namespace

void InlineWriteGate::record(Clock::time_point start, Clock::time_point end) {
  constexpr std::int64_t kMin = to_ns(kMinBackoff);
  constexpr std::int64_t kMax = to_ns(kMaxBackoff);
  const bool on_probation = probation_.load(std::memory_order_relaxed);
  if (end - start <= kStallThreshold) {
    if (on_probation) {  // the condition behind the last stall is gone
      probation_.store(false, std::memory_order_relaxed);
      backoff_ns_.store(kMin, std::memory_order_relaxed);
    }
    return;
  }
  stalls_.fetch_add(1, std::memory_order_relaxed);
  std::int64_t backoff = kMin;
  if (on_probation) backoff = std::min(2 * backoff_ns_.load(std::memory_order_relaxed), kMax);
  backoff_ns_.store(backoff, std::memory_order_relaxed);
  probation_.store(true, std::memory_order_relaxed);
  reopen_at_ns_.store(ns(end) + backoff, std::memory_order_relaxed);
}

}  // namespace blockdev
