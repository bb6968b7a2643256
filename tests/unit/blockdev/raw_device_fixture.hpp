// The fixture of the raw driver tests: one scratch file per test, opened in
// each cache mode (with a forced 4096-byte O_DIRECT alignment, and with the
// page cache but without inline I/O), with
// counting hooks and an EventLoop to run coroutines on.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <ostream>
#include <string>

#include "blockdev/raw_device.hpp"
#include "blockdev_test_util.hpp"

namespace blockdev_test {

struct RawMode {
  blockdev::CacheMode cache;
  std::uint32_t align_override;  // 0: the detected O_DIRECT alignment
  const char* name;
  bool inline_io = true;  // DeviceOptions::inline_io
};

inline void PrintTo(const RawMode& mode, std::ostream* os) { *os << mode.name; }

inline std::string raw_mode_name(const ::testing::TestParamInfo<RawMode>& info) {
  return info.param.name;
}

inline const RawMode kWriteback{blockdev::CacheMode::writeback, 0, "writeback"};
inline const RawMode kNone{blockdev::CacheMode::none, 0, "none"};
inline const RawMode kNone4k{blockdev::CacheMode::none, 4096, "none_align4096"};
inline const RawMode kUnsafe{blockdev::CacheMode::unsafe, 0, "unsafe"};
// The page cache with every read and write through io_uring.
inline const RawMode kWritebackRing{blockdev::CacheMode::writeback, 0, "writeback_ring", false};

class RawDeviceTest : public ::testing::TestWithParam<RawMode> {
 protected:
  void SetUp() override {
    if (direct() && !supports_o_direct(dir_.path())) {
      GTEST_SKIP() << dir_.path() << " does not support O_DIRECT (set COROBD_TEST_DIR)";
    }
    hooks_.request_alignment = GetParam().align_override;
  }

  bool direct() const { return GetParam().cache == blockdev::CacheMode::none; }

  blockdev::DeviceOptions options(std::uint64_t size, bool create = true) const {
    blockdev::DeviceOptions o;
    o.path = path_;
    o.size = size;
    o.create = create;
    o.cache = GetParam().cache;
    o.inline_io = GetParam().inline_io;
    return o;
  }

  // Opens (creating a sparse file of `size` if needed) with the hooks.
  std::unique_ptr<blockdev::BlockDevice> open(std::uint64_t size, bool readonly = false) {
    blockdev::DeviceOptions o = options(size);
    o.readonly = readonly;
    return open(o);
  }
  std::unique_ptr<blockdev::BlockDevice> open(const blockdev::DeviceOptions& o) {
    blockdev::OpenResult r = blockdev::RawDevice::open(o, &hooks_);
    EXPECT_TRUE(r) << r.message;
    return std::move(r.device);
  }

  ScratchDir dir_;
  std::string path_ = dir_.file("disk.img");
  blockdev::RawDeviceHooks hooks_;
  LoopRunner runner_;
};

}  // namespace blockdev_test
