#include "loadgen/histogram.hpp"

#include <cmath>

namespace loadgen {

static_assert(LatencyHistogram::kBuckets == 7424);

void LatencyHistogram::merge(const LatencyHistogram& other) {
  for (std::size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  sum_ += other.sum_;
  if (other.count_ != 0) {
    if (other.min_ < min_) min_ = other.min_;
    if (other.max_ > max_) max_ = other.max_;
  }
}

void LatencyHistogram::reset() { *this = LatencyHistogram(); }

std::uint64_t LatencyHistogram::lowest_in_bucket(std::size_t index) {
  if (index < 2 * kSubBuckets) return index;
  const std::size_t rest = index - 2 * kSubBuckets;
  const unsigned shift = static_cast<unsigned>(rest / kSubBuckets) + 1;
  const std::uint64_t sub = rest % kSubBuckets + kSubBuckets;
  return sub << shift;
}

std::uint64_t LatencyHistogram::highest_in_bucket(std::size_t index) {
  if (index < 2 * kSubBuckets) return index;
  const std::size_t rest = index - 2 * kSubBuckets;
  const unsigned shift = static_cast<unsigned>(rest / kSubBuckets) + 1;
  return lowest_in_bucket(index) + ((std::uint64_t{1} << shift) - 1);
}

std::uint64_t LatencyHistogram::percentile(double p) const {
  if (count_ == 0) return 0;
  if (!(p > 0.0)) return min();
  if (p >= 100.0) return max_;
  // The rank of the value asked for, 1-based; the small epsilon keeps
  // p * count exact for decimal percentiles (99.9 % of 1000 is 999, not
  // 999.0000000000001 rounded up to 1000).
  const double exact = p / 100.0 * static_cast<double>(count_);
  auto rank = static_cast<std::uint64_t>(std::ceil(exact - 1e-9 * exact));
  if (rank == 0) rank = 1;
  if (rank > count_) rank = count_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < kBuckets; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      std::uint64_t v = highest_in_bucket(i);
      if (v > max_) v = max_;
      if (v < min_) v = min_;
      return v;
    }
  }
  return max_;
}

}  // namespace loadgen
