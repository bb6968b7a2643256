// Export (what is advertised for a device) and ExportRegistry (lookup and
// the default export).
#include <gtest/gtest.h>

#include <stdexcept>

#include "blockdev/block_device.hpp"
#include "nbd/server/export_registry.hpp"

namespace nbd {
namespace {

// A device that does nothing, with limits a test may change.
class TunableDevice final : public blockdev::BlockDevice {
 public:
  explicit TunableDevice(bool read_only) {
    set_size(1u << 30);
    limits_.read_only = read_only;
  }
  blockdev::BlockLimits& limits() { return limits_; }

  const char* driver_name() const override { return "tunable"; }
  coroutine_fn int preadv(std::uint64_t, std::span<const iovec>) override { return 0; }
  coroutine_fn int pwritev(std::uint64_t, std::span<const iovec>, blockdev::WriteFlags) override {
    return 0;
  }
  coroutine_fn int flush() override { return 0; }
  coroutine_fn int discard(std::uint64_t, std::uint64_t, blockdev::WriteFlags) override {
    return 0;
  }
  coroutine_fn int write_zeroes(std::uint64_t, std::uint64_t, blockdev::WriteFlags) override {
    return 0;
  }
  coroutine_fn std::int64_t block_status(std::uint64_t, std::uint64_t length,
                                         std::uint32_t* status) override {
    *status = 0;
    return static_cast<std::int64_t>(length);
  }
};

std::shared_ptr<TunableDevice> device(bool read_only = false) {
  return std::make_shared<TunableDevice>(read_only);
}

TEST(Export, FlagsOfAWritableExport) {
  Export e("disk", device());
  const std::uint16_t base = kFlagHasFlags | kFlagSendFlush | kFlagSendFua | kFlagSendTrim |
                             kFlagSendWriteZeroes | kFlagSendFastZero | kFlagCanMultiConn |
                             kFlagSendCache;
  EXPECT_EQ(e.transmission_flags(false), base);
  EXPECT_EQ(e.transmission_flags(true), base | kFlagSendDf);
  EXPECT_FALSE(e.read_only());
  EXPECT_EQ(e.size(), 1u << 30);
}

TEST(Export, ReadOnlyFromTheDeviceOrTheOptions) {
  const std::uint16_t ro = kFlagHasFlags | kFlagReadOnly | kFlagCanMultiConn | kFlagSendCache;
  EXPECT_EQ(Export("a", device(true)).transmission_flags(false), ro);
  Export b("b", device(false), {.read_only = true});
  EXPECT_TRUE(b.read_only());
  EXPECT_EQ(b.transmission_flags(true), ro | kFlagSendDf);
}

TEST(Export, BlockSizesFollowTheDevice) {
  auto d = device();
  d->limits().request_alignment = 4096;
  d->limits().preferred_size = 65536;
  d->limits().max_transfer = 1u << 20;
  EXPECT_EQ(Export("d", d).block_size(), (BlockSize{4096, 65536, 1u << 20}));

  auto small = device();
  small->limits().preferred_size = 100;  // not a power of two, too small
  EXPECT_EQ(Export("s", small).block_size(), (BlockSize{1, 512, 32u << 20}));

  auto odd = device();
  odd->limits().request_alignment = 512;
  odd->limits().max_transfer = (1u << 20) + 100;  // rounded down to the minimum
  EXPECT_EQ(Export("o", odd).block_size(), (BlockSize{512, 4096, 1u << 20}));
}

TEST(Export, BlockSizeOverrides) {
  Export e("e", device(), {.minimum_block_size = 512, .preferred_block_size = 8192,
                           .maximum_block_size = 1u << 20});
  EXPECT_EQ(e.block_size(), (BlockSize{512, 8192, 1u << 20}));
  Export m("m", device(), {.minimum_block_size = 65536});
  EXPECT_EQ(m.block_size(), (BlockSize{65536, 65536, 32u << 20}));
}

TEST(Export, InvalidExportsThrow) {
  EXPECT_THROW(Export("x", nullptr), std::invalid_argument);
  EXPECT_THROW(Export(std::string(4097, 'n'), device()), std::invalid_argument);
  EXPECT_THROW(Export(std::string("a\0b", 3), device()), std::invalid_argument);
  EXPECT_THROW(Export("x", device(), {.description = std::string(4097, 'd')}),
               std::invalid_argument);
  EXPECT_THROW(Export("x", device(), {.minimum_block_size = 3}), std::invalid_argument);
  EXPECT_THROW(Export("x", device(), {.minimum_block_size = 1u << 17}), std::invalid_argument);
  EXPECT_THROW(Export("x", device(), {.maximum_block_size = 64u << 20}), std::invalid_argument);
  EXPECT_THROW(Export("x", device(), {.minimum_block_size = 4096, .maximum_block_size = 6144}),
               std::invalid_argument);
  EXPECT_NO_THROW(Export(std::string(4096, 'n'), device()));
}

TEST(ExportRegistry, LookupAndTheDefaultExport) {
  ExportRegistry r;
  EXPECT_EQ(r.find(""), nullptr);
  r.add("first", device());
  r.add("second", device(), {.description = "two"});
  EXPECT_EQ(r.find("first")->name(), "first");
  EXPECT_EQ(r.find("second")->description(), "two");
  EXPECT_EQ(r.find("third"), nullptr);
  EXPECT_EQ(r.find("")->name(), "first");
  r.set_default("second");
  EXPECT_EQ(r.find("")->name(), "second");
  EXPECT_THROW(r.set_default("third"), std::invalid_argument);
  EXPECT_THROW(r.add("first", device()), std::invalid_argument);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r.exports()[1]->name(), "second");
  // An export actually named "" wins over the default.
  r.add("", device());
  EXPECT_EQ(r.find("")->name(), "");
}

}  // namespace
}  // namespace nbd
