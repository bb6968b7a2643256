// InlineWriteGate: decides whether the raw driver may issue a buffered write
// as a synchronous pwritev2() on the event loop's thread, a write that the
// kernel cannot do without possibly blocking (no RWF_NOWAIT support, as on
// ext4). Private to the raw driver.
//
// Why: io_uring hands such writes to an io-wq worker thread (one wake-up and
// one context switch each way per write), which costs several times the
// 1-2 µs a write into the page cache takes. But a synchronous write stalls
// the whole loop when it does block: dirty-page throttling, a read of the
// page for a partial-page write, a journal wait, reclaim.
//
// Contract
// - open(now): inline writes are allowed at `now`. record(start, end): the
//   inline write issued at `start` returned at `end`.
// - A write that took longer than kStallThreshold is a stall: the gate then
//   closes for a back-off period (writes go through the ring meanwhile). The
//   first inline write after it reopens is on probation: if it stalls too,
//   the next back-off doubles (up to kMaxBackoff), so a lasting condition
//   such as dirty throttling costs at most one stall per back-off period;
//   if it is quick, the back-off returns to kMinBackoff, so an isolated
//   stall costs little.
// - Wall-clock timing cannot tell a write that slept from one whose thread
//   was preempted (on a loaded machine, most slow writes are preempted
//   ones: several per second). That is why kMinBackoff is short: a false
//   alarm sends about a millisecond of writes through the ring. Telling
//   them apart (getrusage's voluntary switches) would cost two system calls
//   per write.
// - Thread-safe and lock-free: loops on several threads may share a device.
//   Concurrent updates may lose one another (the policy only needs to be
//   roughly right).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace blockdev {

class InlineWriteGate {
 public:
  using Clock = std::chrono::steady_clock;

  static constexpr std::chrono::microseconds kStallThreshold{1000};
  static constexpr std::chrono::milliseconds kMinBackoff{1};
  static constexpr std::chrono::milliseconds kMaxBackoff{10000};

  bool open(Clock::time_point now) const {
    return ns(now) >= reopen_at_ns_.load(std::memory_order_relaxed);
  }

  void record(Clock::time_point start, Clock::time_point end);

  // Diagnostics: stalls seen, and the current back-off.
  std::uint64_t stalls() const { return stalls_.load(std::memory_order_relaxed); }
  std::chrono::nanoseconds backoff() const {
    return std::chrono::nanoseconds(backoff_ns_.load(std::memory_order_relaxed));
  }

 private:
  static std::int64_t ns(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  }

  std::atomic<std::int64_t> reopen_at_ns_{INT64_MIN};
  std::atomic<std::int64_t> backoff_ns_{
      std::chrono::duration_cast<std::chrono::nanoseconds>(kMinBackoff).count()};
  std::atomic<bool> probation_{false};
  std::atomic<std::uint64_t> stalls_{0};
};

}  // namespace blockdev
