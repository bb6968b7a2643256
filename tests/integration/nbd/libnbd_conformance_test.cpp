// Conformance: the server driven by libnbd, an independent client, on null,
// raw (page cache and O_DIRECT) and in-memory devices — negotiation with and
// without structured replies, every command, the option-mode queries, and
// libnbd's strict-mode switches cleared to send what a careful client never
// would (out of range, misaligned, unexpected flags, writes to a read-only
// export) so the server's exact errors can be checked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libnbd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "blockdev/open_device.hpp"
#include "memory_device.hpp"
#include "server_thread.hpp"

namespace nbd_test {
namespace {

constexpr std::uint64_t kNullSize = 64u << 20;
constexpr std::uint64_t kRawSize = 8u << 20;

// nbd_handle with RAII.
class Nbd {
 public:
  Nbd() : h_(nbd_create()) { EXPECT_NE(h_, nullptr) << nbd_get_error(); }
  Nbd(const Nbd&) = delete;
  Nbd& operator=(const Nbd&) = delete;
  ~Nbd() { nbd_close(h_); }
  nbd_handle* get() const { return h_; }
  operator nbd_handle*() const { return h_; }  // NOLINT: for the C API

 private:
  nbd_handle* h_;
};

std::vector<unsigned char> pattern(std::size_t n, unsigned seed) {
  std::vector<unsigned char> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<unsigned char>((i * 31 + seed * 101) | 1);
  return v;
}

std::string base_dir() {
  for (const char* var : {"COROBD_TEST_DIR", "TMPDIR"}) {
    const char* v = std::getenv(var);
    if (v != nullptr && *v != '\0') return v;
  }
  return "/var/tmp";
}

// A chunk callback for nbd_pread_structured that counts the chunks (libnbd
// itself places the data, and zeroes holes, in the caller's buffer).
nbd_chunk_callback count_chunks(int* chunks) {
  nbd_chunk_callback cb{};
  cb.callback = [](void* user, const void*, size_t, uint64_t, unsigned, int*) -> int {
    ++*static_cast<int*>(user);
    return 0;
  };
  cb.user_data = chunks;
  return cb;
}

struct Extent {
  std::uint32_t length;
  std::uint32_t flags;
};

// nbd_block_status for base:allocation into a vector.
std::vector<Extent> block_status(nbd_handle* h, std::uint64_t count, std::uint64_t offset,
                                 std::uint32_t flags = 0, int* result = nullptr) {
  std::vector<Extent> extents;
  nbd_extent_callback cb{};
  cb.callback = [](void* user, const char* context, uint64_t, uint32_t* entries, size_t n,
                   int*) -> int {
    if (std::strcmp(context, LIBNBD_CONTEXT_BASE_ALLOCATION) != 0) return 0;
    auto* out = static_cast<std::vector<Extent>*>(user);
    for (size_t i = 0; i + 1 < n; i += 2) out->push_back({entries[i], entries[i + 1]});
    return 0;
  };
  cb.user_data = &extents;
  int r = nbd_block_status(h, count, offset, cb, flags);
  if (result != nullptr) {
    *result = r;
  } else {
    EXPECT_EQ(r, 0) << nbd_get_error();
  }
  return extents;
}

class LibnbdTest : public ::testing::Test {
 protected:
  LibnbdTest() {
    blockdev::DeviceOptions raw;
    raw.path = dir_.file("raw.img");
    raw.format = blockdev::DeviceFormat::raw;
    raw.size = kRawSize;
    raw.create = true;
    auto opened = blockdev::open_device(raw);
    EXPECT_TRUE(opened) << opened.message;
    raw_path_ = raw.path;

    blockdev::DeviceOptions null;
    null.format = blockdev::DeviceFormat::null;
    null.size = kNullSize;
    auto null_dev = blockdev::open_device(null);
    EXPECT_TRUE(null_dev) << null_dev.message;

    auto registry = std::make_shared<nbd::ExportRegistry>();
    registry->add("raw", std::shared_ptr<blockdev::BlockDevice>(std::move(opened.device)),
                  {.description = "a raw file"});
    registry->add("null", std::shared_ptr<blockdev::BlockDevice>(std::move(null_dev.device)),
                  {.description = "nothing at all"});
    registry->add("ro", memory_ro_, {.read_only = true});
    registry->add("aligned", memory_aligned_, {.minimum_block_size = 512});

    // O_DIRECT, where the file system has it: minimum block size from the device.
    if (direct_dir_supported()) {
      blockdev::DeviceOptions direct = raw;
      direct.path = direct_dir_.file("direct.img");
      direct.cache = blockdev::CacheMode::none;
      auto d = blockdev::open_device(direct);
      if (d) {
        direct_min_ = d.device->limits().request_alignment;
        registry->add("direct", std::shared_ptr<blockdev::BlockDevice>(std::move(d.device)));
      }
    }
    registry_ = registry;
    server_ = std::make_unique<ServerThread>(registry_);
  }

  bool direct_dir_supported() {
    const std::string probe = direct_dir_.file("probe");
    int fd = ::open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
    if (fd < 0) return false;
    ::close(fd);
    ::unlink(probe.c_str());
    return true;
  }

  // Connects h to `name` (options set by the caller beforehand).
  void connect(nbd_handle* h, const char* name, bool structured = true, bool meta = true) {
    ASSERT_EQ(nbd_set_export_name(h, name), 0);
    ASSERT_EQ(nbd_set_request_structured_replies(h, structured), 0);
    if (meta) {
      ASSERT_EQ(nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION), 0);
    }
    ASSERT_EQ(nbd_connect_unix(h, server_->socket_path().c_str()), 0) << nbd_get_error();
  }

  // The raw file's bytes, read without the server.
  std::vector<unsigned char> file_bytes(std::uint64_t offset, std::size_t n) {
    std::vector<unsigned char> v(n);
    int fd = ::open(raw_path_.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::pread(fd, v.data(), n, static_cast<off_t>(offset)), static_cast<ssize_t>(n));
    ::close(fd);
    return v;
  }

  TempDir dir_;
  TempDir direct_dir_ = [] {
    ::setenv("TMPDIR", base_dir().c_str(), 0);
    return TempDir();
  }();
  std::string raw_path_;
  std::uint32_t direct_min_ = 0;
  std::shared_ptr<MemoryDevice> memory_ro_ =
      std::make_shared<MemoryDevice>(MemoryDevice::Options{.size = 1u << 20});
  std::shared_ptr<MemoryDevice> memory_aligned_ =
      std::make_shared<MemoryDevice>(MemoryDevice::Options{.size = 1u << 20});
  std::shared_ptr<const nbd::ExportRegistry> registry_;
  std::unique_ptr<ServerThread> server_;
};

TEST_F(LibnbdTest, NullExportAdvertisesEverythingAndReadsZeroes) {
  Nbd h;
  connect(h, "null");
  EXPECT_EQ(nbd_get_size(h), static_cast<int64_t>(kNullSize));
  EXPECT_EQ(nbd_get_structured_replies_negotiated(h), 1);
  EXPECT_EQ(nbd_is_read_only(h), 0);
  EXPECT_EQ(nbd_can_flush(h), 1);
  EXPECT_EQ(nbd_can_fua(h), 1);
  EXPECT_EQ(nbd_can_trim(h), 1);
  EXPECT_EQ(nbd_can_zero(h), 1);
  EXPECT_EQ(nbd_can_fast_zero(h), 1);
  EXPECT_EQ(nbd_can_df(h), 1);
  EXPECT_EQ(nbd_can_multi_conn(h), 1);
  EXPECT_EQ(nbd_can_cache(h), 1);
  EXPECT_EQ(nbd_is_rotational(h), 0);
  EXPECT_EQ(nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION), 1);
  EXPECT_EQ(nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM), 1);
  EXPECT_EQ(nbd_get_block_size(h, LIBNBD_SIZE_PREFERRED), 4096);
  EXPECT_EQ(nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM), 32 << 20);

  std::vector<unsigned char> buf(1 << 20, 0xff);
  ASSERT_EQ(nbd_pread(h, buf.data(), buf.size(), 4096, 0), 0) << nbd_get_error();
  EXPECT_EQ(buf, std::vector<unsigned char>(buf.size(), 0));
  std::fill(buf.begin(), buf.end(), 0xff);
  int chunks = 0;
  ASSERT_EQ(nbd_pread_structured(h, buf.data(), buf.size(), 0, count_chunks(&chunks),
                                 LIBNBD_CMD_FLAG_DF),
            0)
      << nbd_get_error();
  EXPECT_EQ(buf, std::vector<unsigned char>(buf.size(), 0));
  EXPECT_EQ(chunks, 1);  // DF: one OFFSET_DATA chunk, not a hole
  chunks = 0;
  ASSERT_EQ(nbd_pread_structured(h, buf.data(), buf.size(), 0, count_chunks(&chunks), 0), 0);
  EXPECT_EQ(chunks, 1);  // a hole

  EXPECT_EQ(nbd_pwrite(h, buf.data(), buf.size(), 0, LIBNBD_CMD_FLAG_FUA), 0);
  EXPECT_EQ(nbd_flush(h, 0), 0);
  EXPECT_EQ(nbd_trim(h, 1 << 20, 0, 0), 0);
  EXPECT_EQ(nbd_zero(h, 1 << 20, 0, LIBNBD_CMD_FLAG_FAST_ZERO), 0);
  EXPECT_EQ(nbd_zero(h, 1 << 20, 0, LIBNBD_CMD_FLAG_NO_HOLE), 0);
  EXPECT_EQ(nbd_cache(h, 1 << 20, 0, 0), 0);

  auto extents = block_status(h, kNullSize, 0);
  ASSERT_EQ(extents.size(), 1u);
  EXPECT_EQ(extents[0].length, kNullSize);
  EXPECT_EQ(extents[0].flags, LIBNBD_STATE_HOLE | LIBNBD_STATE_ZERO);
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
  EXPECT_EQ(server_->wait_result(0).end, nbd::SessionEnd::kDisconnect);
}

class LibnbdRawTest : public LibnbdTest, public ::testing::WithParamInterface<bool> {};
INSTANTIATE_TEST_SUITE_P(, LibnbdRawTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Structured" : "Simple"; });

TEST_P(LibnbdRawTest, DataRoundTripsThroughTheFile) {
  const bool structured = GetParam();
  Nbd h;
  connect(h, "raw", structured, structured);
  EXPECT_EQ(nbd_get_structured_replies_negotiated(h), structured ? 1 : 0);
  EXPECT_EQ(nbd_can_df(h), structured ? 1 : 0);
  EXPECT_EQ(nbd_get_size(h), static_cast<int64_t>(kRawSize));

  const auto a = pattern(128 * 1024, 1);
  const auto b = pattern(777, 2);
  ASSERT_EQ(nbd_pwrite(h, a.data(), a.size(), 65536, 0), 0) << nbd_get_error();
  ASSERT_EQ(nbd_pwrite(h, b.data(), b.size(), 3 * 65536 + 13, LIBNBD_CMD_FLAG_FUA), 0);
  ASSERT_EQ(nbd_flush(h, 0), 0);

  std::vector<unsigned char> got(a.size());
  ASSERT_EQ(nbd_pread(h, got.data(), got.size(), 65536, 0), 0) << nbd_get_error();
  EXPECT_EQ(got, a);
  got.resize(b.size());
  ASSERT_EQ(nbd_pread(h, got.data(), got.size(), 3 * 65536 + 13, 0), 0);
  EXPECT_EQ(got, b);
  EXPECT_EQ(file_bytes(65536, a.size()), a);
  EXPECT_EQ(file_bytes(3 * 65536 + 13, b.size()), b);

  // A read spanning data and holes (a sparse file) comes back whole.
  std::vector<unsigned char> wide(1 << 20, 0xee);
  ASSERT_EQ(nbd_pread(h, wide.data(), wide.size(), 0, 0), 0);
  std::vector<unsigned char> want(1 << 20, 0);
  std::copy(a.begin(), a.end(), want.begin() + 65536);
  std::copy(b.begin(), b.end(), want.begin() + 3 * 65536 + 13);
  EXPECT_EQ(wide, want);

  // Zero and trim.
  ASSERT_EQ(nbd_zero(h, 4096, 65536, LIBNBD_CMD_FLAG_NO_HOLE), 0) << nbd_get_error();
  ASSERT_EQ(nbd_zero(h, 65536, 131072 - 4096, 0), 0) << nbd_get_error();
  ASSERT_EQ(nbd_trim(h, 65536, 65536 + 8192, 0), 0) << nbd_get_error();
  got.assign(4096, 0xee);
  ASSERT_EQ(nbd_pread(h, got.data(), got.size(), 65536, 0), 0);
  EXPECT_EQ(got, std::vector<unsigned char>(4096, 0));
  EXPECT_EQ(file_bytes(65536, 4096), std::vector<unsigned char>(4096, 0));
  EXPECT_EQ(nbd_cache(h, 1 << 20, 0, 0), 0);

  if (structured) {
    // base:allocation covers the range; the file's tail is a hole.
    auto extents = block_status(h, 1 << 20, 0);
    std::uint64_t covered = 0;
    for (auto e : extents) covered += e.length;
    EXPECT_GE(covered, 1u << 20);
    auto tail = block_status(h, 1 << 20, kRawSize - (1 << 20), LIBNBD_CMD_FLAG_REQ_ONE);
    ASSERT_EQ(tail.size(), 1u);
    EXPECT_EQ(tail[0].flags, LIBNBD_STATE_HOLE | LIBNBD_STATE_ZERO);
  }
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
}

TEST_F(LibnbdTest, StrictModeOffOutOfRangeRequestsGetTheSpecsErrors) {
  Nbd h;
  connect(h, "raw");
  ASSERT_EQ(nbd_set_strict_mode(h, 0), 0);
  std::vector<unsigned char> buf(8192, 1);
  EXPECT_EQ(nbd_pread(h, buf.data(), 8192, kRawSize - 4096, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_pwrite(h, buf.data(), 8192, kRawSize - 4096, 0), -1);
  EXPECT_EQ(nbd_get_errno(), ENOSPC);
  EXPECT_EQ(nbd_zero(h, 8192, kRawSize, 0), -1);
  EXPECT_EQ(nbd_get_errno(), ENOSPC);
  EXPECT_EQ(nbd_trim(h, 8192, kRawSize - 4096, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_cache(h, 8192, kRawSize + 1, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  int r = 0;
  block_status(h, 4096, kRawSize, 0, &r);
  EXPECT_EQ(r, -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  // Nothing reached the file, and the connection is still good.
  EXPECT_EQ(file_bytes(kRawSize - 4096, 4096), std::vector<unsigned char>(4096, 0));
  EXPECT_EQ(nbd_pread(h, buf.data(), 4096, kRawSize - 4096, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
  EXPECT_EQ(server_->wait_result(0).counters.errors, 6u);  // all sent, all refused
}

TEST_F(LibnbdTest, StrictModeOffUnexpectedFlagsAreInvalid) {
  // libnbd refuses flags a command can never take; with STRICT_FLAGS clear it
  // sends those the server did not advertise. The read-only export
  // advertises neither FUA nor FAST_ZERO; the flag check comes first.
  Nbd h;
  connect(h, "ro");
  ASSERT_EQ(nbd_set_strict_mode(h, 0), 0);
  std::vector<unsigned char> buf(4096, 1);
  EXPECT_EQ(nbd_pread(h, buf.data(), buf.size(), 0, LIBNBD_CMD_FLAG_FUA), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_zero(h, 4096, 0, LIBNBD_CMD_FLAG_FAST_ZERO), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_trim(h, 4096, 0, LIBNBD_CMD_FLAG_FUA), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_flush(h, LIBNBD_CMD_FLAG_FUA), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_pread(h, buf.data(), buf.size(), 0, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
  auto result = server_->wait_result(0);
  EXPECT_EQ(result.counters.errors, 4u);  // the server saw and refused all four
  EXPECT_EQ(memory_ro_->modifications(), 0u);

  // DF needs structured replies (SEND_DF is not advertised without them).
  Nbd simple;
  connect(simple, "raw", false, false);
  ASSERT_EQ(nbd_set_strict_mode(simple, 0), 0);
  int chunks = 0;
  EXPECT_EQ(nbd_pread_structured(simple, buf.data(), buf.size(), 0, count_chunks(&chunks),
                                 LIBNBD_CMD_FLAG_DF),
            -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_pread(simple, buf.data(), buf.size(), 0, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_shutdown(simple, 0), 0);
  EXPECT_EQ(server_->wait_result(1).counters.errors, 1u);
}

TEST_F(LibnbdTest, StrictModeOffReadOnlyViolationsAreEperm) {
  Nbd h;
  connect(h, "ro");
  EXPECT_EQ(nbd_is_read_only(h), 1);
  EXPECT_EQ(nbd_can_flush(h), 0);
  EXPECT_EQ(nbd_can_fua(h), 0);
  EXPECT_EQ(nbd_can_trim(h), 0);
  EXPECT_EQ(nbd_can_zero(h), 0);
  ASSERT_EQ(nbd_set_strict_mode(h, 0), 0);
  std::vector<unsigned char> buf(4096, 1);
  EXPECT_EQ(nbd_pwrite(h, buf.data(), buf.size(), 0, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EPERM);
  EXPECT_EQ(nbd_trim(h, 4096, 0, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EPERM);
  EXPECT_EQ(nbd_zero(h, 4096, 0, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EPERM);
  // FUA is not advertised on a read-only export: a flag error.
  EXPECT_EQ(nbd_pread(h, buf.data(), buf.size(), 0, LIBNBD_CMD_FLAG_FUA), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(memory_ro_->modifications(), 0u);
  EXPECT_EQ(nbd_pread(h, buf.data(), buf.size(), 0, 0), 0);
  EXPECT_EQ(nbd_flush(h, 0), 0);  // harmless, even unadvertised
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
  EXPECT_EQ(server_->wait_result(0).counters.errors, 4u);
}

TEST_F(LibnbdTest, StrictModeOffMisalignedRequestsAreInvalid) {
  Nbd h;
  connect(h, "aligned");
  EXPECT_EQ(nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM), 512);
  ASSERT_EQ(nbd_set_strict_mode(h, 0), 0);
  std::vector<unsigned char> buf(1024, 1);
  EXPECT_EQ(nbd_pread(h, buf.data(), 512, 100, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_pwrite(h, buf.data(), 100, 512, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_zero(h, 1000, 0, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(memory_aligned_->modifications(), 0u);
  EXPECT_EQ(nbd_pwrite(h, buf.data(), 1024, 512, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
  EXPECT_EQ(server_->wait_result(0).counters.errors, 3u);
}

TEST_F(LibnbdTest, DirectIoExportAdvertisesAndEnforcesTheDeviceAlignment) {
  if (direct_min_ == 0) GTEST_SKIP() << "no O_DIRECT under " << base_dir();
  Nbd h;
  connect(h, "direct");
  EXPECT_EQ(nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM), direct_min_);
  ASSERT_EQ(nbd_set_strict_mode(h, 0), 0);
  std::vector<unsigned char> buf(8192, 1);
  if (direct_min_ > 1) {
    EXPECT_EQ(nbd_pread(h, buf.data(), direct_min_, 1, 0), -1);
    EXPECT_EQ(nbd_get_errno(), EINVAL);
  }
  const auto data = pattern(8192, 3);
  ASSERT_EQ(nbd_pwrite(h, data.data(), data.size(), 8192, LIBNBD_CMD_FLAG_FUA), 0)
      << nbd_get_error();
  ASSERT_EQ(nbd_pread(h, buf.data(), buf.size(), 8192, 0), 0);
  EXPECT_EQ(buf, data);
}

TEST_F(LibnbdTest, StrictModeOffOversizedAndEmptyRequests) {
  Nbd h;
  connect(h, "null");
  ASSERT_EQ(nbd_set_strict_mode(h, 0), 0);
  std::vector<unsigned char> big((32u << 20) + 4096, 7);
  EXPECT_EQ(nbd_pwrite(h, big.data(), big.size(), 0, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  EXPECT_EQ(nbd_pread(h, big.data(), big.size(), 0, 0), -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  // The rejected write's payload was drained: the stream is in sync.
  EXPECT_EQ(nbd_pread(h, big.data(), 4096, 0, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_pread(h, big.data(), 0, 0, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_pwrite(h, big.data(), 0, 0, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
  auto result = server_->wait_result(0);
  EXPECT_EQ(result.counters.errors, 2u);
  EXPECT_EQ(result.counters.requests, 6u);  // DISC included
}

TEST_F(LibnbdTest, BlockStatusWithoutAContextIsInvalid) {
  Nbd h;
  connect(h, "raw", true, false);
  EXPECT_EQ(nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION), 0);
  ASSERT_EQ(nbd_set_strict_mode(h, 0), 0);
  int r = 0;
  block_status(h, 4096, 0, 0, &r);
  EXPECT_EQ(r, -1);
  EXPECT_EQ(nbd_get_errno(), EINVAL);
  std::vector<unsigned char> buf(512);
  EXPECT_EQ(nbd_pread(h, buf.data(), buf.size(), 0, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
  EXPECT_EQ(server_->wait_result(0).counters.errors, 1u);  // refused by the server
}

TEST_F(LibnbdTest, OptionModeListsExportsInfoAndContexts) {
  Nbd h;
  ASSERT_EQ(nbd_set_opt_mode(h, true), 0);
  ASSERT_EQ(nbd_set_request_structured_replies(h, true), 0);
  ASSERT_EQ(nbd_connect_unix(h, server_->socket_path().c_str()), 0) << nbd_get_error();

  std::vector<std::pair<std::string, std::string>> listed;
  nbd_list_callback list{};
  list.callback = [](void* user, const char* name, const char* description) -> int {
    static_cast<decltype(listed)*>(user)->emplace_back(name, description);
    return 0;
  };
  list.user_data = &listed;
  ASSERT_GE(nbd_opt_list(h, list), 0) << nbd_get_error();
  ASSERT_GE(listed.size(), 4u);
  EXPECT_EQ(listed[0], (std::pair<std::string, std::string>{"raw", "a raw file"}));
  EXPECT_EQ(listed[1], (std::pair<std::string, std::string>{"null", "nothing at all"}));
  EXPECT_EQ(listed[2].first, "ro");
  EXPECT_EQ(listed[3].first, "aligned");

  ASSERT_EQ(nbd_set_full_info(h, true), 0);
  ASSERT_EQ(nbd_set_export_name(h, "null"), 0);
  ASSERT_EQ(nbd_opt_info(h), 0) << nbd_get_error();
  EXPECT_EQ(nbd_get_size(h), static_cast<int64_t>(kNullSize));
  char* canonical = nbd_get_canonical_export_name(h);
  ASSERT_NE(canonical, nullptr);
  EXPECT_STREQ(canonical, "null");
  std::free(canonical);
  char* description = nbd_get_export_description(h);
  ASSERT_NE(description, nullptr);
  EXPECT_STREQ(description, "nothing at all");
  std::free(description);

  ASSERT_EQ(nbd_set_export_name(h, "no-such-export"), 0);
  EXPECT_EQ(nbd_opt_info(h), -1);
  EXPECT_EQ(nbd_get_errno(), ENOENT);

  ASSERT_EQ(nbd_set_export_name(h, ""), 0);  // the default export: "raw"
  ASSERT_EQ(nbd_opt_info(h), 0) << nbd_get_error();
  EXPECT_EQ(nbd_get_size(h), static_cast<int64_t>(kRawSize));

  std::vector<std::string> contexts;
  nbd_context_callback ctx{};
  ctx.callback = [](void* user, const char* name) -> int {
    static_cast<std::vector<std::string>*>(user)->emplace_back(name);
    return 0;
  };
  ctx.user_data = &contexts;
  ASSERT_EQ(nbd_opt_list_meta_context(h, ctx), 1) << nbd_get_error();
  EXPECT_EQ(contexts, std::vector<std::string>{"base:allocation"});
  contexts.clear();
  ASSERT_EQ(nbd_add_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION), 0);
  ASSERT_EQ(nbd_add_meta_context(h, "qemu:dirty-bitmap:nope"), 0);
  ASSERT_EQ(nbd_opt_list_meta_context(h, ctx), 1) << nbd_get_error();
  EXPECT_EQ(contexts, std::vector<std::string>{"base:allocation"});

  ASSERT_EQ(nbd_set_export_name(h, "null"), 0);
  ASSERT_EQ(nbd_opt_go(h), 0) << nbd_get_error();
  EXPECT_EQ(nbd_can_meta_context(h, LIBNBD_CONTEXT_BASE_ALLOCATION), 1);
  std::vector<unsigned char> buf(4096);
  EXPECT_EQ(nbd_pread(h, buf.data(), buf.size(), 0, 0), 0) << nbd_get_error();
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
}

TEST_F(LibnbdTest, OptionModeAbort) {
  Nbd h;
  ASSERT_EQ(nbd_set_opt_mode(h, true), 0);
  ASSERT_EQ(nbd_connect_unix(h, server_->socket_path().c_str()), 0) << nbd_get_error();
  ASSERT_EQ(nbd_opt_abort(h), 0) << nbd_get_error();
  EXPECT_EQ(server_->wait_result(0).end, nbd::SessionEnd::kAbort);
}

TEST_F(LibnbdTest, OldClientsWithoutFixedNewstyleOrNoZeroes) {
  for (std::uint32_t flags :
       {0u, static_cast<std::uint32_t>(LIBNBD_HANDSHAKE_FLAG_FIXED_NEWSTYLE)}) {
    Nbd h;
    ASSERT_EQ(nbd_set_handshake_flags(h, flags), 0);
    connect(h, "raw", false, false);
    EXPECT_EQ(nbd_get_size(h), static_cast<int64_t>(kRawSize));
    std::vector<unsigned char> buf(4096);
    EXPECT_EQ(nbd_pread(h, buf.data(), buf.size(), 0, 0), 0) << nbd_get_error();
    EXPECT_EQ(nbd_shutdown(h, 0), 0);
  }
}

TEST_F(LibnbdTest, ConnectByUri) {
  Nbd h;
  ASSERT_EQ(nbd_connect_uri(h, server_->uri("null").c_str()), 0) << nbd_get_error();
  EXPECT_EQ(nbd_get_size(h), static_cast<int64_t>(kNullSize));
  Nbd d;
  ASSERT_EQ(nbd_connect_uri(d, server_->uri().c_str()), 0) << nbd_get_error();
  EXPECT_EQ(nbd_get_size(d), static_cast<int64_t>(kRawSize));  // the default export
}

TEST_F(LibnbdTest, ManyCommandsInFlightThroughTheAioApi) {
  Nbd h;
  connect(h, "raw");
  constexpr int kCommands = 96;
  constexpr std::size_t kLen = 16384;
  std::vector<std::vector<unsigned char>> data;
  std::vector<int64_t> cookies;
  for (int i = 0; i < kCommands; ++i) {
    data.push_back(pattern(kLen, static_cast<unsigned>(i)));
    int64_t c = nbd_aio_pwrite(h, data.back().data(), kLen, static_cast<uint64_t>(i) * kLen,
                               NBD_NULL_COMPLETION, 0);
    ASSERT_GT(c, 0) << nbd_get_error();
    cookies.push_back(c);
  }
  while (nbd_aio_in_flight(h) > 0) ASSERT_GE(nbd_poll(h, -1), 0) << nbd_get_error();
  for (int64_t c : cookies) EXPECT_EQ(nbd_aio_command_completed(h, static_cast<uint64_t>(c)), 1);

  std::vector<std::vector<unsigned char>> back(kCommands, std::vector<unsigned char>(kLen));
  cookies.clear();
  int chunks = 0;
  for (int i = 0; i < kCommands; ++i) {
    int64_t c = nbd_aio_pread_structured(h, back[static_cast<std::size_t>(i)].data(), kLen,
                                         static_cast<uint64_t>(i) * kLen, count_chunks(&chunks),
                                         NBD_NULL_COMPLETION, i % 2 ? LIBNBD_CMD_FLAG_DF : 0);
    ASSERT_GT(c, 0) << nbd_get_error();
    cookies.push_back(c);
  }
  while (nbd_aio_in_flight(h) > 0) ASSERT_GE(nbd_poll(h, -1), 0) << nbd_get_error();
  for (int64_t c : cookies) EXPECT_EQ(nbd_aio_command_completed(h, static_cast<uint64_t>(c)), 1);
  for (int i = 0; i < kCommands; ++i) {
    EXPECT_EQ(back[static_cast<std::size_t>(i)], data[static_cast<std::size_t>(i)]) << i;
  }
  EXPECT_EQ(nbd_shutdown(h, 0), 0);
  EXPECT_GE(server_->wait_result(0).counters.max_in_flight, 2u);
}

}  // namespace
}  // namespace nbd_test
