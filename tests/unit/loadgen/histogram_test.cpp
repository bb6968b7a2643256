// LatencyHistogram: bucket arithmetic and percentiles against known inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "loadgen/histogram.hpp"

namespace loadgen {
namespace {

// The exact percentile by HdrHistogram's definition: the ceil(p/100*n)-th
// smallest value.
std::uint64_t exact_percentile(std::vector<std::uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()) - 1e-9));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

void expect_close(std::uint64_t got, std::uint64_t exact) {
  EXPECT_GE(got, exact);
  EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * (1.0 + 1.0 / 128) + 1)
      << "exact " << exact;
}

TEST(HistogramTest, EmptyAnswersZero) {
  auto h = std::make_unique<LatencyHistogram>();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->max(), 0u);
  EXPECT_EQ(h->mean(), 0.0);
  EXPECT_EQ(h->percentile(50), 0u);
  EXPECT_EQ(h->percentile(99.9), 0u);
}

TEST(HistogramTest, SmallValuesAreExact) {
  auto h = std::make_unique<LatencyHistogram>();
  for (std::uint64_t v = 1; v <= 100; ++v) h->record(v);
  EXPECT_EQ(h->count(), 100u);
  EXPECT_EQ(h->min(), 1u);
  EXPECT_EQ(h->max(), 100u);
  EXPECT_DOUBLE_EQ(h->mean(), 50.5);
  EXPECT_EQ(h->percentile(50), 50u);
  EXPECT_EQ(h->percentile(90), 90u);
  EXPECT_EQ(h->percentile(99), 99u);
  EXPECT_EQ(h->percentile(99.9), 100u);
  EXPECT_EQ(h->percentile(100), 100u);
  EXPECT_EQ(h->percentile(0), 1u);
  EXPECT_EQ(h->percentile(1), 1u);
}

TEST(HistogramTest, OneThousandValues) {
  auto h = std::make_unique<LatencyHistogram>();
  std::vector<std::uint64_t> values;
  for (std::uint64_t v = 1; v <= 1000; ++v) {
    h->record(v * 1000);  // 1 us .. 1 ms in ns
    values.push_back(v * 1000);
  }
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    SCOPED_TRACE(p);
    expect_close(h->percentile(p), exact_percentile(values, p));
  }
  EXPECT_EQ(h->min(), 1000u);
  EXPECT_EQ(h->max(), 1000000u);
  EXPECT_DOUBLE_EQ(h->mean(), 500500.0);
}

TEST(HistogramTest, OutliersShowInTheTail) {
  // 990 requests at 100 us, 9 at 5 ms, 1 at 80 ms.
  auto h = std::make_unique<LatencyHistogram>();
  for (int i = 0; i < 990; ++i) h->record(100'000);
  for (int i = 0; i < 9; ++i) h->record(5'000'000);
  h->record(80'000'000);
  expect_close(h->percentile(50), 100'000);
  expect_close(h->percentile(99), 100'000);    // rank 990
  expect_close(h->percentile(99.9), 5'000'000);  // rank 999
  EXPECT_EQ(h->percentile(100), 80'000'000u);
  EXPECT_EQ(h->max(), 80'000'000u);
}

TEST(HistogramTest, RandomInputsStayWithinPrecision) {
  std::mt19937_64 rng(7);
  std::lognormal_distribution<double> dist(11.0, 1.5);  // around 60 us, long tail
  auto h = std::make_unique<LatencyHistogram>();
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng)) + 1;
    values.push_back(v);
    h->record(v);
  }
  for (double p : {1.0, 25.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    SCOPED_TRACE(p);
    expect_close(h->percentile(p), exact_percentile(values, p));
  }
  EXPECT_EQ(h->min(), *std::min_element(values.begin(), values.end()));
  EXPECT_EQ(h->max(), *std::max_element(values.begin(), values.end()));
}

TEST(HistogramTest, BucketsTileTheRange) {
  for (std::size_t i = 0; i + 1 < LatencyHistogram::kBuckets; ++i) {
    ASSERT_EQ(LatencyHistogram::highest_in_bucket(i) + 1, LatencyHistogram::lowest_in_bucket(i + 1)) << i;
    ASSERT_EQ(LatencyHistogram::index_of(LatencyHistogram::lowest_in_bucket(i)), i);
    ASSERT_EQ(LatencyHistogram::index_of(LatencyHistogram::highest_in_bucket(i)), i);
  }
  EXPECT_EQ(LatencyHistogram::index_of(UINT64_MAX), LatencyHistogram::kBuckets - 1);
  EXPECT_EQ(LatencyHistogram::highest_in_bucket(LatencyHistogram::kBuckets - 1), UINT64_MAX);
  // Relative width of every bucket beyond the exact range is at most 1/128.
  for (std::size_t i = 256; i < LatencyHistogram::kBuckets; ++i) {
    const double lo = static_cast<double>(LatencyHistogram::lowest_in_bucket(i));
    const double hi = static_cast<double>(LatencyHistogram::highest_in_bucket(i));
    ASSERT_LE((hi - lo + 1) / lo, 1.0 / 128 + 1e-12) << i;
  }
}

TEST(HistogramTest, HugeValues) {
  auto h = std::make_unique<LatencyHistogram>();
  h->record(UINT64_MAX / 2);
  h->record(1);
  EXPECT_EQ(h->max(), UINT64_MAX / 2);
  EXPECT_EQ(h->percentile(100), UINT64_MAX / 2);
  EXPECT_EQ(h->percentile(50), 1u);
}

TEST(HistogramTest, MergeAndReset) {
  auto a = std::make_unique<LatencyHistogram>();
  auto b = std::make_unique<LatencyHistogram>();
  for (std::uint64_t v = 1; v <= 50; ++v) a->record(v);
  for (std::uint64_t v = 51; v <= 100; ++v) b->record(v);
  a->merge(*b);
  EXPECT_EQ(a->count(), 100u);
  EXPECT_EQ(a->min(), 1u);
  EXPECT_EQ(a->max(), 100u);
  EXPECT_EQ(a->percentile(75), 75u);
  auto empty = std::make_unique<LatencyHistogram>();
  a->merge(*empty);
  EXPECT_EQ(a->min(), 1u);
  a->reset();
  EXPECT_EQ(a->count(), 0u);
  EXPECT_EQ(a->percentile(50), 0u);
}

}  // namespace
}  // namespace loadgen
