// The raw driver on real files: opening, limits, reads and writes (aligned,
// unaligned, vectored, badly buffered), range and read-only checks, files
// shorter than the device, block status, prefetch and resize.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

#include "blockdev/open_device.hpp"
#include "corolib/co_event.hpp"
#include "raw_device_fixture.hpp"

namespace blockdev_test {
namespace {

using blockdev::BlockDevice;
using blockdev::CacheMode;
using blockdev::DeviceOptions;
using blockdev::kStatusHole;
using blockdev::kStatusZero;
using blockdev::RawDevice;
using blockdev::RawDeviceHooks;
using blockdev::WriteFlags;

// --- opening (independent of the cache mode) ---------------------------------

TEST(RawDeviceOpenTest, MissingFileWithoutCreate) {
  ScratchDir dir;
  DeviceOptions o;
  o.path = dir.file("missing.img");
  blockdev::OpenResult r = blockdev::open_device(o);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, -ENOENT);
  EXPECT_NE(r.message.find("missing.img"), std::string::npos) << r.message;
}

TEST(RawDeviceOpenTest, CreateNeedsSize) {
  ScratchDir dir;
  DeviceOptions o;
  o.path = dir.file("new.img");
  o.create = true;
  blockdev::OpenResult r = blockdev::open_device(o);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, -EINVAL);
  EXPECT_EQ(r.message.rfind("size:", 0), 0u) << r.message;
}

TEST(RawDeviceOpenTest, CreateMakesSparseFile) {
  ScratchDir dir;
  DeviceOptions o;
  o.path = dir.file("new.img");
  o.create = true;
  o.size = 64 << 20;
  blockdev::OpenResult r = blockdev::open_device(o);
  ASSERT_TRUE(r) << r.message;
  EXPECT_STREQ(r.device->driver_name(), "raw");
  EXPECT_EQ(r.device->size(), 64u << 20);
  struct stat st {};
  ASSERT_EQ(::stat(o.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 64 << 20);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "the new file should be sparse";
  // An existing file is opened, not recreated.
  o.size = 0;
  blockdev::OpenResult again = blockdev::open_device(o);
  ASSERT_TRUE(again) << again.message;
  EXPECT_EQ(again.device->size(), 64u << 20);
}

TEST(RawDeviceOpenTest, NotAFile) {
  ScratchDir dir;
  DeviceOptions o;
  o.path = dir.path();
  o.readonly = true;
  blockdev::OpenResult r = blockdev::open_device(o);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, -EINVAL);
  EXPECT_NE(r.message.find("not a regular file"), std::string::npos) << r.message;
  o.readonly = false;
  r = blockdev::open_device(o);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, -EISDIR) << r.message;
}

TEST(RawDeviceOpenTest, WrongFormat) {
  DeviceOptions o;
  o.format = blockdev::DeviceFormat::null;
  o.size = 4096;
  blockdev::OpenResult r = RawDevice::open(o);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, -EINVAL);
  EXPECT_EQ(r.message.rfind("format:", 0), 0u) << r.message;
}

TEST(RawDeviceOpenTest, OpenDeviceNull) {
  DeviceOptions o;
  o.format = blockdev::DeviceFormat::null;
  blockdev::OpenResult r = blockdev::open_device(o);
  EXPECT_FALSE(r);
  EXPECT_EQ(r.error, -EINVAL);
  o.size = 1 << 30;
  r = blockdev::open_device(o);
  ASSERT_TRUE(r) << r.message;
  EXPECT_STREQ(r.device->driver_name(), "null");
  EXPECT_EQ(r.device->size(), 1u << 30);
}

TEST(RawDeviceOpenTest, SizeOfExistingFile) {
  ScratchDir dir;
  write_file(dir.file("f.img"), std::vector<unsigned char>(12345, 7));
  DeviceOptions o;
  o.path = dir.file("f.img");
  blockdev::OpenResult r = blockdev::open_device(o);
  ASSERT_TRUE(r) << r.message;
  EXPECT_EQ(r.device->size(), 12345u);
}

// --- per cache mode ---------------------------------------------------------------

TEST_P(RawDeviceTest, Limits) {
  auto dev = open(1 << 20);
  ASSERT_TRUE(dev);
  const blockdev::BlockLimits& l = dev->limits();
  if (direct()) {
    EXPECT_GE(l.request_alignment, 512u);
    if (GetParam().align_override != 0) {
      EXPECT_EQ(l.request_alignment, GetParam().align_override);
    }
    EXPECT_GE(l.memory_alignment, 1u);
    EXPECT_FALSE(l.supports_prefetch);
  } else {
    EXPECT_EQ(l.request_alignment, 1u);
    EXPECT_EQ(l.memory_alignment, 1u);
    EXPECT_TRUE(l.supports_prefetch);
  }
  EXPECT_EQ(l.needs_flush, GetParam().cache != CacheMode::unsafe);
  EXPECT_GE(l.preferred_size, l.request_alignment);
  EXPECT_TRUE(l.supports_fua);
  EXPECT_TRUE(l.supports_discard);
  EXPECT_TRUE(l.supports_write_zeroes);
  EXPECT_TRUE(l.supports_block_status);
  EXPECT_TRUE(l.supports_resize);
  EXPECT_FALSE(l.read_only);
  auto* raw = static_cast<RawDevice*>(dev.get());
  EXPECT_EQ(raw->cache_mode(), GetParam().cache);
  EXPECT_FALSE(raw->is_block_device());
}

TEST_P(RawDeviceTest, ReadBackWhatWasWritten) {
  const std::uint64_t size = 4 << 20;
  auto dev = open(size);
  ASSERT_TRUE(dev);
  struct Case {
    std::uint64_t offset;
    std::size_t length;
  };
  // Aligned, unaligned at either end, inside one block, across many blocks,
  // larger than a bounce buffer, at the very end of the device.
  const std::vector<Case> cases = {{0, 4096},        {4096, 65536},   {1, 1},
                                   {511, 2},         {1000, 100},     {4095, 4097},
                                   {12345, 300000},  {1 << 20, 1 << 20}, {size - 700, 700},
                                   {size - 4096, 4096}};
  std::vector<unsigned char> model(size, 0);
  runner_.run([&] {
    std::uint64_t seq = 0;
    for (const Case& c : cases) {
      std::vector<unsigned char> data = pattern(seq++, c.offset, c.length);
      ASSERT_EQ(dev->pwrite(c.offset, data.data(), data.size()), 0)
          << c.offset << "+" << c.length;
      std::memcpy(model.data() + c.offset, data.data(), data.size());
      std::vector<unsigned char> back(c.length, 0xee);
      ASSERT_EQ(dev->pread(c.offset, back.data(), back.size()), 0);
      ASSERT_EQ(back, data) << c.offset << "+" << c.length;
    }
    // Reads with unaligned ends of what neighbours wrote.
    std::vector<unsigned char> all(size);
    ASSERT_EQ(dev->pread(0, all.data(), 1 << 20), 0);
    ASSERT_EQ(dev->pread(1 << 20, all.data() + (1 << 20), size - (1 << 20)), 0);
    EXPECT_TRUE(all == model);
    std::vector<unsigned char> piece(777);
    ASSERT_EQ(dev->pread(12000, piece.data(), piece.size()), 0);
    EXPECT_EQ(std::memcmp(piece.data(), model.data() + 12000, piece.size()), 0);
  });
  EXPECT_TRUE(read_file(path_) == model);
}

TEST_P(RawDeviceTest, VectoredAndBadlyBufferedIo) {
  const std::uint64_t size = 1 << 20;
  auto dev = open(size);
  ASSERT_TRUE(dev);
  std::vector<unsigned char> model(size, 0);
  runner_.run([&] {
    // Buffers at odd addresses and with odd lengths, aligned device offsets.
    std::vector<unsigned char> store(3 * 8192 + 64);
    std::vector<unsigned char> data = pattern(1, 8192, 3 * 4096);
    unsigned char* odd = store.data() + 3;
    std::memcpy(odd, data.data(), data.size());
    iovec iov[3] = {{odd, 1000}, {odd + 1000, 4000}, {odd + 5000, 3 * 4096 - 5000}};
    ASSERT_EQ(dev->pwritev(8192, iov, WriteFlags::none), 0);
    std::memcpy(model.data() + 8192, data.data(), data.size());

    // Aligned buffers, split in block-sized iovecs (zero-copy with O_DIRECT).
    std::vector<unsigned char> aligned_store(4 * 4096 + 4096);
    auto* base = reinterpret_cast<unsigned char*>(
        (reinterpret_cast<std::uintptr_t>(aligned_store.data()) + 4095) & ~std::uintptr_t{4095});
    std::vector<unsigned char> data2 = pattern(2, 65536, 4 * 4096);
    std::memcpy(base, data2.data(), data2.size());
    iovec iov2[2] = {{base, 4096}, {base + 4096, 3 * 4096}};
    ASSERT_EQ(dev->pwritev(65536, iov2, WriteFlags::none), 0);
    std::memcpy(model.data() + 65536, data2.data(), data2.size());

    // Zero-length iovecs in the middle, unaligned device offset.
    std::vector<unsigned char> data3 = pattern(3, 100001, 5000);
    iovec iov3[4] = {{data3.data(), 2000}, {nullptr, 0}, {data3.data() + 2000, 3000}, {nullptr, 0}};
    ASSERT_EQ(dev->pwritev(100001, iov3, WriteFlags::none), 0);
    std::memcpy(model.data() + 100001, data3.data(), data3.size());

    // Read everything back through odd vectors.
    std::vector<unsigned char> back(size);
    std::vector<unsigned char> odd_back(size + 128);
    iovec r[3] = {{odd_back.data() + 1, 333}, {odd_back.data() + 400, 100000},
                  {odd_back.data() + 100400, size - 100333}};
    ASSERT_EQ(dev->preadv(0, r), 0);
    std::memcpy(back.data(), odd_back.data() + 1, 333);
    std::memcpy(back.data() + 333, odd_back.data() + 400, 100000);
    std::memcpy(back.data() + 100333, odd_back.data() + 100400, size - 100333);
    EXPECT_TRUE(back == model);
  });
  EXPECT_TRUE(read_file(path_) == model);
}

TEST_P(RawDeviceTest, OutOfRangeChangesNothing) {
  const std::uint64_t size = 1 << 20;
  auto dev = open(size);
  ASSERT_TRUE(dev);
  runner_.run([&] {
    std::vector<unsigned char> data = pattern(9, 0, size);
    ASSERT_EQ(dev->pwrite(0, data.data(), data.size()), 0);
  });
  const std::vector<unsigned char> before = read_file(path_);
  const std::uint64_t writes = hooks_.writes, fallocates = hooks_.fallocates,
                      reads = hooks_.reads;
  runner_.run([&] {
    std::vector<unsigned char> buf(8192, 0xab);
    EXPECT_EQ(dev->pwrite(size - 4096, buf.data(), 8192), -ENOSPC);
    EXPECT_EQ(dev->pwrite(size, buf.data(), 1), -ENOSPC);
    EXPECT_EQ(dev->pwrite(size - 1, buf.data(), 2, WriteFlags::fua), -ENOSPC);
    EXPECT_EQ(dev->pwrite(UINT64_MAX - 10, buf.data(), 4096), -ENOSPC);
    EXPECT_EQ(dev->write_zeroes(size - 4096, 8192, WriteFlags::may_unmap), -ENOSPC);
    EXPECT_EQ(dev->write_zeroes(size + 4096, 4096, WriteFlags::none), -ENOSPC);
    EXPECT_EQ(dev->write_zeroes(4096, UINT64_MAX, WriteFlags::none), -ENOSPC);
    EXPECT_EQ(dev->discard(size - 4096, 8192, WriteFlags::none), -EINVAL);
    EXPECT_EQ(dev->discard(UINT64_MAX, 1, WriteFlags::none), -EINVAL);
    EXPECT_EQ(dev->pread(size - 4096, buf.data(), 8192), -EINVAL);
    EXPECT_EQ(dev->pread(size + 1, buf.data(), 0), -EINVAL);
    EXPECT_EQ(dev->pread(size, buf.data(), 0), 0);
    std::uint32_t status = 0;
    EXPECT_EQ(dev->block_status(size - 1, 2, &status), -EINVAL);
    EXPECT_EQ(dev->block_status(size, 1, &status), -EINVAL);
    EXPECT_EQ(dev->block_status(0, 0, &status), -EINVAL);
    EXPECT_EQ(dev->prefetch(size, 1), -EINVAL);
    // Too long or too many iovecs.
    iovec big{buf.data(), std::size_t{dev->limits().max_transfer} + 1};
    EXPECT_EQ(dev->preadv(0, {&big, 1}), -EINVAL);
    EXPECT_EQ(dev->pwritev(0, {&big, 1}, WriteFlags::none), -EINVAL);
    std::vector<iovec> many(dev->limits().max_iov + 1, iovec{buf.data(), 1});
    EXPECT_EQ(dev->pwritev(0, many, WriteFlags::none), -EINVAL);
    for (unsigned char c : buf) ASSERT_EQ(c, 0xab) << "a rejected read touched the buffer";
  });
  EXPECT_EQ(hooks_.writes, writes);
  EXPECT_EQ(hooks_.fallocates, fallocates);
  EXPECT_EQ(hooks_.reads, reads);
  EXPECT_TRUE(read_file(path_) == before);
  EXPECT_EQ(dev->size(), size);
}

TEST_P(RawDeviceTest, ReadOnly) {
  write_file(path_, pattern(4, 0, 65536));
  auto dev = open(0, /*readonly=*/true);
  ASSERT_TRUE(dev);
  EXPECT_TRUE(dev->limits().read_only);
  EXPECT_FALSE(dev->limits().needs_flush);
  EXPECT_FALSE(dev->limits().supports_resize);
  runner_.run([&] {
    std::vector<unsigned char> buf(4096);
    EXPECT_EQ(dev->pread(4096, buf.data(), buf.size()), 0);
    EXPECT_TRUE(buf == pattern(4, 4096, 4096));
    EXPECT_EQ(dev->pwrite(0, buf.data(), buf.size()), -EPERM);
    EXPECT_EQ(dev->pwrite(1 << 30, buf.data(), buf.size()), -EPERM);
    EXPECT_EQ(dev->write_zeroes(0, 4096, WriteFlags::none), -EPERM);
    EXPECT_EQ(dev->discard(0, 4096, WriteFlags::none), -EPERM);
    EXPECT_EQ(dev->resize(4096), -EPERM);
    EXPECT_EQ(dev->flush(), 0);
  });
  EXPECT_EQ(hooks_.writes, 0u);
  EXPECT_EQ(hooks_.fdatasyncs, 0u);
  EXPECT_TRUE(read_file(path_) == pattern(4, 0, 65536));
}

// A device larger than its file: reads past the end of the file are
// zeroes (short reads resubmitted, then zero-filled), writes there extend
// the file, and block status calls it a hole.
TEST_P(RawDeviceTest, FileShorterThanDevice) {
  const std::size_t file_len = 10000;  // not a multiple of any alignment
  write_file(path_, pattern(5, 0, file_len));
  DeviceOptions o = options(1 << 20, false);
  auto dev = open(o);
  ASSERT_TRUE(dev);
  EXPECT_EQ(dev->size(), 1u << 20);
  runner_.run([&] {
    std::vector<unsigned char> buf(16384, 0xee);
    ASSERT_EQ(dev->pread(4096, buf.data(), buf.size()), 0);
    EXPECT_EQ(std::memcmp(buf.data(), pattern(5, 4096, file_len - 4096).data(), file_len - 4096),
              0);
    EXPECT_TRUE(all_zero(buf.data() + (file_len - 4096), buf.size() - (file_len - 4096)));
    // Entirely past the end of the file.
    std::fill(buf.begin(), buf.end(), 0xee);
    ASSERT_EQ(dev->pread(65536 + 3, buf.data(), 5000), 0);
    EXPECT_TRUE(all_zero(buf.data(), 5000));
    // Block status past the end of the file.
    std::uint32_t status = 0;
    std::int64_t len = dev->block_status(65536, 65536, &status);
    EXPECT_EQ(len, 65536);
    EXPECT_EQ(status, kStatusHole | kStatusZero);
    // Write past the end of the file: it grows, the gap reads as zeroes.
    std::vector<unsigned char> data = pattern(6, 200000, 3000);
    ASSERT_EQ(dev->pwrite(200000, data.data(), data.size()), 0);
    std::vector<unsigned char> back(3000);
    ASSERT_EQ(dev->pread(200000, back.data(), back.size()), 0);
    EXPECT_TRUE(back == data);
    ASSERT_EQ(dev->pread(file_len, buf.data(), 4096), 0);
    EXPECT_TRUE(all_zero(buf.data(), 4096));
  });
  EXPECT_GE(file_size(path_), 203000u);
  EXPECT_LE(file_size(path_), 203000u + 4096) << "grows at most to the alignment boundary";
}

TEST_P(RawDeviceTest, ShortTransfersAreResubmitted) {
  const std::uint64_t size = 1 << 20;
  auto dev = open(size);
  ASSERT_TRUE(dev);
  // Every read and write completes with at most one block (or 1000 bytes
  // with the page cache), as a short transfer would.
  const int cap = direct() ? static_cast<int>(dev->limits().request_alignment) : 1000;
  hooks_.after = [cap](const RawDeviceHooks::Call& call, int result) {
    if (call.op == RawDeviceHooks::Op::read || call.op == RawDeviceHooks::Op::write) {
      return std::min(result, cap);
    }
    return result;
  };
  const std::vector<unsigned char> data = pattern(7, 8192, 65536);
  runner_.run([&] {
    std::vector<unsigned char> buf = data;
    iovec iov[3] = {{buf.data(), 4096}, {buf.data() + 4096, 30000}, {buf.data() + 34096, 65536 - 34096}};
    ASSERT_EQ(dev->pwritev(8192, iov, WriteFlags::none), 0);
    std::vector<unsigned char> back(65536);
    ASSERT_EQ(dev->pread(8192, back.data(), back.size()), 0);
    EXPECT_TRUE(back == data);
  });
  EXPECT_GE(hooks_.writes, 65536u / static_cast<unsigned>(cap));
  EXPECT_GE(hooks_.reads, 65536u / static_cast<unsigned>(cap));
  const std::vector<unsigned char> file = read_file(path_);
  ASSERT_GE(file.size(), 8192u + 65536u);
  EXPECT_EQ(std::memcmp(file.data() + 8192, data.data(), data.size()), 0);
}

TEST_P(RawDeviceTest, WriteWithoutProgressFailsWithEnospc) {
  auto dev = open(1 << 20);
  ASSERT_TRUE(dev);
  hooks_.after = [](const RawDeviceHooks::Call& call, int result) {
    return call.op == RawDeviceHooks::Op::write ? 0 : result;
  };
  runner_.run([&] {
    std::vector<unsigned char> data(8192, 1);
    EXPECT_EQ(dev->pwrite(4096, data.data(), data.size()), -ENOSPC);
    EXPECT_EQ(dev->pwrite(4097, data.data(), 100), -ENOSPC);
  });
}

TEST_P(RawDeviceTest, ErrorsArePassedOn) {
  auto dev = open(1 << 20);
  ASSERT_TRUE(dev);
  hooks_.before = [](const RawDeviceHooks::Call& call) -> std::optional<int> {
    if (call.op == RawDeviceHooks::Op::read) return -EIO;
    return std::nullopt;
  };
  runner_.run([&] {
    std::vector<unsigned char> data(4096, 1);
    EXPECT_EQ(dev->pread(0, data.data(), data.size()), -EIO);
    EXPECT_EQ(dev->pread(1, data.data(), 100), -EIO);
    // A read-modify-write fails in its read.
    if (direct()) {
      EXPECT_EQ(dev->pwrite(1, data.data(), 100), -EIO);
    }
  });
}

TEST_P(RawDeviceTest, BlockStatusFindsDataAndHoles) {
  const std::uint64_t size = 8 << 20;
  auto dev = open(size);  // a fresh sparse file
  ASSERT_TRUE(dev);
  runner_.run([&] {
    std::uint32_t status = 99;
    EXPECT_EQ(dev->block_status(0, size, &status), static_cast<std::int64_t>(size));
    EXPECT_EQ(status, kStatusHole | kStatusZero);

    std::vector<unsigned char> data = pattern(8, 1 << 20, 65536);
    ASSERT_EQ(dev->pwrite(1 << 20, data.data(), data.size()), 0);
    // The hole before the data, the data, the hole after it.
    EXPECT_EQ(dev->block_status(0, size, &status), 1 << 20);
    EXPECT_EQ(status, kStatusHole | kStatusZero);
    EXPECT_EQ(dev->block_status(1 << 20, size - (1 << 20), &status), 65536);
    EXPECT_EQ(status, 0u);
    EXPECT_EQ(dev->block_status((1 << 20) + 65536, 4096, &status), 4096);
    EXPECT_EQ(status, kStatusHole | kStatusZero);
    // Lengths are clamped to the request.
    EXPECT_EQ(dev->block_status((1 << 20) + 100, 200, &status), 200);
    EXPECT_EQ(status, 0u);
    EXPECT_EQ(dev->block_status(1000, 2000, &status), 2000);
    EXPECT_EQ(status, kStatusHole | kStatusZero);
    // The last extent reaches the end of the device.
    const std::uint64_t tail = (1 << 20) + 65536;
    EXPECT_EQ(dev->block_status(tail, size - tail, &status),
              static_cast<std::int64_t>(size - tail));
  });
}

TEST_P(RawDeviceTest, Prefetch) {
  auto dev = open(1 << 20);
  ASSERT_TRUE(dev);
  runner_.run([&] {
    EXPECT_EQ(dev->prefetch(0, 1 << 20), 0);
    EXPECT_EQ(dev->prefetch(4096, 0), 0);
    EXPECT_EQ(dev->prefetch(1 << 20, 1), -EINVAL);
  });
}

TEST_P(RawDeviceTest, ResizeGrowsAndShrinks) {
  auto dev = open(1 << 20);
  ASSERT_TRUE(dev);
  runner_.run([&] {
    std::vector<unsigned char> data = pattern(10, (1 << 20) - 4096, 4096);
    ASSERT_EQ(dev->pwrite((1 << 20) - 4096, data.data(), data.size()), 0);
    ASSERT_EQ(dev->resize(2 << 20), 0);
    EXPECT_EQ(dev->size(), 2u << 20);
    std::vector<unsigned char> back(8192, 0xee);
    ASSERT_EQ(dev->pread((1 << 20) - 4096, back.data(), back.size()), 0);
    EXPECT_EQ(std::memcmp(back.data(), data.data(), 4096), 0);
    EXPECT_TRUE(all_zero(back.data() + 4096, 4096));
    ASSERT_EQ(dev->pwrite((2 << 20) - 4096, data.data(), data.size()), 0);

    ASSERT_EQ(dev->resize(65536), 0);
    EXPECT_EQ(dev->size(), 65536u);
    EXPECT_EQ(dev->pread(65536, back.data(), 1), -EINVAL);
    EXPECT_EQ(dev->pwrite(65536 - 4096, data.data(), 8192), -ENOSPC);
    // Grow again: what was cut off is gone.
    ASSERT_EQ(dev->resize(1 << 20), 0);
    ASSERT_EQ(dev->pread((1 << 20) - 4096, back.data(), 4096), 0);
    EXPECT_TRUE(all_zero(back.data(), 4096));
  });
  EXPECT_EQ(file_size(path_), 1u << 20);
}

// resize() waits for requests in flight (held in the kernel by a hook), and
// requests that arrive while it waits run after it, against the new size.
TEST_P(RawDeviceTest, ResizeWaitsForInFlightIo) {
  auto dev = open(1 << 20);
  ASSERT_TRUE(dev);
  corolib::CoEvent gate;
  bool hold = true;
  hooks_.before = [&](const RawDeviceHooks::Call& call) -> std::optional<int> {
    if (call.op == RawDeviceHooks::Op::write && hold) gate.wait();
    return std::nullopt;
  };
  std::vector<std::string> log;
  const std::vector<unsigned char> data = pattern(11, 512 * 1024, 4096);
  runner_.spawn([&] {
    EXPECT_EQ(dev->pwrite(512 * 1024, data.data(), data.size()), 0);
    log.push_back("write done");
  });
  runner_.spawn([&] {
    log.push_back("resize start");
    EXPECT_EQ(dev->resize(256 * 1024), 0);
    log.push_back("resize done");
  });
  runner_.spawn([&] {
    // Arrives while resize waits; in range now, not after the resize.
    EXPECT_EQ(dev->pwrite(300 * 1024, data.data(), data.size()), -ENOSPC);
    log.push_back("late write rejected");
  });
  // Let the loop spin a while: nothing can finish while the write is held.
  for (int i = 0; i < 20; ++i) runner_.loop().run_once(false);
  EXPECT_EQ(log, std::vector<std::string>{"resize start"});
  EXPECT_EQ(dev->size(), 1u << 20);
  hold = false;
  runner_.spawn([&] { gate.set(); });
  runner_.run();
  EXPECT_EQ(log, (std::vector<std::string>{"resize start", "write done", "resize done",
                                           "late write rejected"}));
  EXPECT_EQ(dev->size(), 256u * 1024);
  EXPECT_EQ(file_size(path_), 256u * 1024);
}

INSTANTIATE_TEST_SUITE_P(CacheModes, RawDeviceTest,
                         ::testing::Values(kWriteback, kWritebackRing, kNone, kNone4k, kUnsafe),
                         raw_mode_name);

}  // namespace
}  // namespace blockdev_test
