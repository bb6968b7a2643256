// LatencyHistogram: an HDR-style log-bucketed histogram of latencies in
// nanoseconds, with fixed memory.
//
// Contract
// - Buckets: every power of two is split into 128 linear sub-buckets, and
//   values below 256 are counted exactly. So a recorded value is known to
//   within 1/128 (0.79 %) of itself, over the whole uint64_t range, in a
//   fixed array of kBuckets counters (about 58 KiB): record() never
//   allocates, never fails, and costs a bit scan and an increment.
// - min(), max(), mean() and count() are exact. percentile(p) returns the
//   highest value equivalent to the bucket that holds the ceil(p/100 *
//   count)-th smallest value (HdrHistogram's definition), clamped to
//   [min(), max()]: at most 0.79 % above the true value, never below it.
//   An empty histogram answers 0 everywhere.
// - Not thread-safe; one owner. Copyable (a plain array); merge() adds
//   another histogram's counts.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace loadgen {

class LatencyHistogram {
 public:
  static constexpr unsigned kSubBucketBits = 7;
  static constexpr std::uint64_t kSubBuckets = 1u << kSubBucketBits;  // 128
  // [0, 256) exact, then 56 halves of powers of two with 128 buckets each.
  static constexpr std::size_t kBuckets = 2 * kSubBuckets + (64 - kSubBucketBits - 1 - 1 + 1) * kSubBuckets;

  void record(std::uint64_t value) {
    ++counts_[index_of(value)];
    ++count_;
    sum_ += value;
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }

  void merge(const LatencyHistogram& other);
  void reset();

  std::uint64_t count() const { return count_; }
  std::uint64_t min() const { return count_ == 0 ? 0 : min_; }
  std::uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_); }
  // p in [0, 100].
  std::uint64_t percentile(double p) const;

  // Bucket arithmetic, public for tests.
  static std::size_t index_of(std::uint64_t value) {
    if (value < 2 * kSubBuckets) return static_cast<std::size_t>(value);
    const unsigned width = 64u - static_cast<unsigned>(__builtin_clzll(value));
    const unsigned shift = width - (kSubBucketBits + 1);
    return static_cast<std::size_t>(2 * kSubBuckets + (shift - 1) * kSubBuckets +
                                    ((value >> shift) - kSubBuckets));
  }
  static std::uint64_t lowest_in_bucket(std::size_t index);
  static std::uint64_t highest_in_bucket(std::size_t index);

 private:
  std::array<std::uint64_t, kBuckets> counts_{};
  std::uint64_t count_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

}  // namespace loadgen
