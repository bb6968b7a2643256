// DeviceOptions: names and parsing of formats and cache modes.
#include <gtest/gtest.h>

#include "blockdev/device_options.hpp"

namespace {

using namespace blockdev;

TEST(DeviceOptionsTest, CacheModeNamesRoundTrip) {
  for (CacheMode mode : {CacheMode::writeback, CacheMode::none, CacheMode::unsafe}) {
    auto parsed = parse_cache_mode(cache_mode_name(mode));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, mode);
  }
  EXPECT_FALSE(parse_cache_mode("directsync").has_value());
  EXPECT_FALSE(parse_cache_mode("").has_value());
  EXPECT_FALSE(parse_cache_mode("None").has_value());
}

TEST(DeviceOptionsTest, FormatNamesRoundTrip) {
  for (DeviceFormat format : {DeviceFormat::raw, DeviceFormat::null}) {
    auto parsed = parse_format(format_name(format));
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(*parsed, format);
  }
  EXPECT_FALSE(parse_format("qcow2").has_value());
}

TEST(DeviceOptionsTest, Defaults) {
  DeviceOptions options;
  EXPECT_EQ(options.format, DeviceFormat::raw);
  EXPECT_EQ(options.cache, CacheMode::writeback);
  EXPECT_FALSE(options.readonly);
  EXPECT_FALSE(options.create);
  EXPECT_EQ(options.size, 0u);
  EXPECT_TRUE(options.null_zero_reads);
}

}  // namespace
