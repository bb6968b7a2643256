// RatePacer: when the k-th request of a --rate run is due.
//
// Contract
// - Requests are due at a fixed interval over all connections: request k
//   (counted from 0 when pacing starts) at start + k / rate seconds. A
//   worker sleeps (corolib::co_sleep_until, an io_uring timeout) until its
//   request is due; one that falls behind issues at once, so a slow server
//   sees the backlog rather than a silently lowered rate (as wrk2 does).
// - rate == 0 means unpaced: enabled() is false.
// - Pure arithmetic, exact to the nanosecond for any k (128-bit). Any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace loadgen {

class RatePacer {
 public:
  using Clock = std::chrono::steady_clock;

  RatePacer() = default;
  RatePacer(std::uint64_t rate, Clock::time_point start) : rate_(rate), start_(start) {}

  bool enabled() const { return rate_ != 0; }
  std::uint64_t rate() const { return rate_; }
  Clock::time_point start() const { return start_; }

  Clock::time_point due(std::uint64_t k) const {
    if (rate_ == 0) return start_;
    const auto ns = static_cast<std::int64_t>(
        static_cast<unsigned __int128>(k) * 1'000'000'000u / rate_);
    return start_ + std::chrono::nanoseconds(ns);
  }

 private:
  std::uint64_t rate_ = 0;
  Clock::time_point start_{};
};

}  // namespace loadgen
