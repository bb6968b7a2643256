// IoTimeout: an optional time limit for one co_* I/O request.
//
// Contract
// - Default-constructed: no limit. From a std::chrono duration: the request
//   must complete within that long after the helper is called (negative
//   durations count as zero). IoTimeout::at(t): by steady_clock time t.
// - The helpers turn it into an absolute CLOCK_MONOTONIC deadline once, on
//   entry, and attach it to every (re)submission as an io_uring linked
//   timeout, so -EINTR/-EAGAIN retries never extend it.
// - A plain value type: copy it freely, use it on any thread.
#pragma once

#include <chrono>
#include <cstdint>

namespace corolib {

class IoTimeout {
 public:
  constexpr IoTimeout() = default;

  template <class Rep, class Period>
  constexpr IoTimeout(std::chrono::duration<Rep, Period> limit)  // NOLINT: implicit on purpose
      : ns_(clamp(limit)), kind_(Kind::kRelative) {}

  static IoTimeout at(std::chrono::steady_clock::time_point deadline) {
    IoTimeout t;
    t.ns_ = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
    t.kind_ = Kind::kAbsolute;
    return t;
  }

  constexpr bool enabled() const { return kind_ != Kind::kNone; }

  // The deadline in nanoseconds of CLOCK_MONOTONIC (steady_clock's epoch).
  // Only meaningful when enabled().
  std::int64_t deadline_ns() const {
    if (kind_ == Kind::kAbsolute) return ns_;
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
               .count() +
           ns_;
  }

 private:
  enum class Kind : std::uint8_t { kNone, kRelative, kAbsolute };

  // Limits beyond ~100 years are as good as none but must not overflow.
  template <class Rep, class Period>
  static constexpr std::int64_t clamp(std::chrono::duration<Rep, Period> limit) {
    using Years = std::chrono::duration<double, std::ratio<86400 * 365>>;
    if (limit <= limit.zero()) return 0;
    if (std::chrono::duration_cast<Years>(limit).count() > 100.0) {
      return std::int64_t{100} * 86400 * 365 * 1000000000;
    }
    return std::chrono::duration_cast<std::chrono::nanoseconds>(limit).count();
  }

  std::int64_t ns_ = 0;
  Kind kind_ = Kind::kNone;
};

}  // namespace corolib
