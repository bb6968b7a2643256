// nbd::Client against independent servers: qemu-nbd (raw file, default and
// named export) and nbdkit (memory and file plugins; with structured
// replies switched off; with the fixed-newstyle handshake masked, which
// forces NBD_OPT_EXPORT_NAME). Each server runs as a child process on a
// socket in a temporary directory. Tests skip when the program is missing.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "client_test_util.hpp"
#include "corolib/co_event.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/timer.hpp"
#include "nbd/client/client.hpp"
#include "server_process.hpp"

namespace nbd_client_test {
namespace {

using ::testing::HasSubstr;
using test_support::ServerProcess;
using namespace std::chrono_literals;

constexpr std::uint64_t kImageSize = 64u << 20;

struct ServerKind {
  const char* name;
  const char* program;
  // Arguments after the program name; "@S" is replaced by the socket path,
  // "@F" by the image file.
  std::vector<std::string> args;
  const char* export_name;
  bool structured;   // the server negotiates structured replies
  bool block_sizes;  // it sends NBD_INFO_BLOCK_SIZE (nbdkit 1.32 does not for these plugins)
};

void PrintTo(const ServerKind& kind, std::ostream* os) { *os << kind.name; }

const ServerKind kServers[] = {
    {"QemuNbdRaw",
     "qemu-nbd",
     {"--socket=@S", "--format=raw", "--persistent", "--shared=8", "--discard=unmap", "@F"},
     "",
     true,
     true},
    {"QemuNbdNamedExport",
     "qemu-nbd",
     {"--socket=@S", "--format=raw", "--persistent", "--shared=8", "--discard=unmap", "-x", "disk",
      "@F"},
     "disk",
     true,
     true},
    {"NbdkitMemory",
     "nbdkit",
     {"-f", "--exit-with-parent", "-U", "@S", "memory", "64M"},
     "",
     true,
     false},
    {"NbdkitFile",
     "nbdkit",
     {"-f", "--exit-with-parent", "-U", "@S", "file", "@F"},
     "",
     true,
     false},
    {"NbdkitSimpleReplies",
     "nbdkit",
     {"-f", "--exit-with-parent", "--no-sr", "-U", "@S", "memory", "64M"},
     "",
     false,
     false},
    {"NbdkitOldHandshake",
     "nbdkit",
     {"-f", "--exit-with-parent", "--mask-handshake=0", "-U", "@S", "memory", "64M"},
     "",
     false,
     false},
};

class ClientInteropTest : public ::testing::TestWithParam<ServerKind> {
 protected:
  void SetUp() override {
    const ServerKind& kind = GetParam();
    if (!test_support::program_available(kind.program)) {
      GTEST_SKIP() << kind.program << " is not installed";
    }
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/corobd-client-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    socket_ = dir_ + "/nbd.sock";
    image_ = dir_ + "/disk.img";
    {
      const int fd = ::open(image_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      ASSERT_GE(fd, 0);
      ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(kImageSize)), 0);
      ::close(fd);
    }
    start_server();
    nbd::NbdUri uri{kind.export_name, socket_};
    uri_ = uri.to_string();
  }

  void start_server() {
    const ServerKind& kind = GetParam();
    std::vector<std::string> argv{kind.program};
    for (std::string a : kind.args) {
      if (auto p = a.find("@S"); p != std::string::npos) a.replace(p, 2, socket_);
      if (auto p = a.find("@F"); p != std::string::npos) a.replace(p, 2, image_);
      argv.push_back(a);
    }
    server_ = std::make_unique<ServerProcess>(argv, socket_, dir_ + "/server.log");
    ASSERT_TRUE(server_->ready()) << kind.program << " did not start:\n" << server_->log();
  }

  void TearDown() override {
    server_.reset();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
    }
  }

  int connect(nbd::Client& client) {
    const int r = client.connect(uri_);
    EXPECT_EQ(r, 0) << client.error_message() << "\nserver log:\n" << server_->log();
    return r;
  }

  std::string dir_, socket_, image_, uri_;
  std::unique_ptr<ServerProcess> server_;
  corolib::EventLoop loop_;
};

TEST_P(ClientInteropTest, HandshakeReportsTheExport) {
  const ServerKind& kind = GetParam();
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    const nbd::NegotiatedExport& x = client.export_info();
    EXPECT_EQ(x.size, kImageSize);
    EXPECT_EQ(x.name, kind.export_name);
    EXPECT_EQ(x.structured_replies, kind.structured);
    EXPECT_EQ(x.base_allocation, kind.structured);
    EXPECT_EQ(x.used_go, x.fixed_newstyle);
    EXPECT_TRUE(x.has(nbd::kFlagHasFlags));
    EXPECT_FALSE(x.read_only());
    EXPECT_TRUE(x.can_flush());
    EXPECT_TRUE(x.can_trim());
    EXPECT_TRUE(x.can_write_zeroes());
    EXPECT_TRUE(x.can_fua());
    EXPECT_EQ(nbd::check_block_size(x.block_size), nbd::WireError::kOk);
    EXPECT_EQ(x.block_size_advertised, kind.block_sizes);
    EXPECT_GE(x.max_payload(), 1u << 20);
    EXPECT_EQ(client.disconnect(), 0);
  });
}

TEST_P(ClientInteropTest, WriteReadVerify) {
  nbd::Client client;
  int mismatches = 0;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    const std::uint32_t minimum = client.export_info().block_size.minimum;
    struct Piece {
      std::uint64_t offset;
      std::uint32_t length;
    };
    std::vector<Piece> pieces = {{0, 4096},
                                 {1u << 20, 65536},
                                 {5u << 20, 1u << 20},
                                 {kImageSize - 4096, 4096},
                                 {12288, 512}};
    if (minimum == 1) pieces.push_back({200777, 3333});  // unaligned, where allowed
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      const Bytes data = pattern(i + 1, pieces[i].offset, pieces[i].length);
      EXPECT_EQ(client.write(data.data(), pieces[i].length, pieces[i].offset), 0);
    }
    for (std::size_t i = 0; i < pieces.size(); ++i) {
      Bytes back(pieces[i].length);
      EXPECT_EQ(client.read(back.data(), pieces[i].length, pieces[i].offset), 0);
      if (back != pattern(i + 1, pieces[i].offset, pieces[i].length)) ++mismatches;
    }
    // Never written: zeroes.
    Bytes zeroes(65536, std::byte{0xff});
    EXPECT_EQ(client.read(zeroes.data(), 65536, 32u << 20), 0);
    EXPECT_EQ(zeroes, Bytes(65536));
    EXPECT_EQ(client.disconnect(), 0);
  });
  EXPECT_EQ(mismatches, 0);
}

TEST_P(ClientInteropTest, FuaFlushAndCache) {
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    const Bytes data = pattern(11, 8192, 8192);
    EXPECT_EQ(client.write(data.data(), 8192, 8192, nbd::kCmdFlagFua), 0);
    EXPECT_EQ(client.flush(), 0);
    if (client.export_info().can_cache()) {
      EXPECT_EQ(client.cache(65536, 0), 0);
    }
    Bytes back(8192);
    EXPECT_EQ(client.read(back.data(), 8192, 8192), 0);
    EXPECT_EQ(back, data);
    if (client.export_info().can_df()) {
      EXPECT_EQ(client.read(back.data(), 8192, 8192, nbd::kCmdFlagDf), 0);
      EXPECT_EQ(back, data);
    }
    EXPECT_EQ(client.disconnect(), 0);
  });
}

TEST_P(ClientInteropTest, TrimAndWriteZeroesReadBackZeroesAndBlockStatusShowsHoles) {
  constexpr std::uint64_t kData = 3u << 20, kHole = 4u << 20, kLen = 1u << 20;
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    const Bytes data = pattern(21, kData, 2 * kLen);
    EXPECT_EQ(client.write(data.data(), 2 * kLen, kData), 0);  // [3M, 5M)
    EXPECT_EQ(client.trim(kLen, kHole), 0);                    // [4M, 5M)
    EXPECT_EQ(client.flush(), 0);
    Bytes back(kLen, std::byte{0xff});
    EXPECT_EQ(client.read(back.data(), kLen, kHole), 0);
    EXPECT_EQ(back, Bytes(kLen));
    EXPECT_EQ(client.read(back.data(), kLen, kData), 0);
    EXPECT_TRUE(std::equal(back.begin(), back.end(), data.begin()));

    if (client.export_info().can_block_status()) {
      // Extents from 3M: data, then the hole; contiguous, in order.
      std::vector<nbd::Extent> all;
      std::uint64_t pos = kData;
      while (pos < kHole + kLen) {
        std::vector<nbd::Extent> extents;
        ASSERT_EQ(
            client.block_status(static_cast<std::uint32_t>(kHole + kLen - pos), pos, &extents), 0);
        ASSERT_FALSE(extents.empty());
        for (const nbd::Extent& e : extents) {
          EXPECT_EQ(e.offset, pos);
          EXPECT_GT(e.length, 0u);
          pos += e.length;
          all.push_back(e);
        }
      }
      for (const nbd::Extent& e : all) {
        if (e.offset >= kHole + kLen) break;
        const bool in_hole = e.offset >= kHole;
        if (in_hole) {
          EXPECT_EQ(e.flags, nbd::kStateHole | nbd::kStateZero) << e.offset;
        } else {
          EXPECT_EQ(e.flags, 0u) << e.offset;
          EXPECT_LE(e.offset + e.length, kHole) << "data extent runs into the hole";
        }
      }
      std::vector<nbd::Extent> one;
      EXPECT_EQ(client.block_status(static_cast<std::uint32_t>(2 * kLen), kData, &one,
                                    nbd::kCmdFlagReqOne),
                0);
      ASSERT_EQ(one.size(), 1u);
      EXPECT_EQ(one[0].offset, kData);
      EXPECT_LE(one[0].length, 2 * kLen);
    } else {
      std::vector<nbd::Extent> extents;
      EXPECT_EQ(client.block_status(4096, 0, &extents), -EOPNOTSUPP);
    }

    // WRITE_ZEROES, keeping the allocation and not.
    EXPECT_EQ(client.write(data.data(), 65536, 0), 0);
    EXPECT_EQ(client.write_zeroes(65536, 0, nbd::kCmdFlagNoHole), 0);
    EXPECT_EQ(client.write(data.data(), 65536, 65536), 0);
    EXPECT_EQ(client.write_zeroes(65536, 65536, nbd::kCmdFlagFua), 0);
    Bytes z(131072, std::byte{0xff});
    EXPECT_EQ(client.read(z.data(), 131072, 0), 0);
    EXPECT_EQ(z, Bytes(131072));
    if (client.export_info().can_fast_zero()) {
      const int r = client.write_zeroes(65536, 1u << 20, nbd::kCmdFlagFastZero);
      EXPECT_TRUE(r == 0 || r == -EOPNOTSUPP) << r;
    }
    EXPECT_EQ(client.disconnect(), 0);
  });
}

// 64 coroutines on one connection (64 cookies), each writing and reading
// back its own region with random lengths and offsets; every byte checked
// against the coroutine's model of its region.
TEST_P(ClientInteropTest, SixtyFourConcurrentRequestsVerifiedByteForByte) {
  constexpr int kWorkers = 64;
  constexpr std::uint32_t kRegion = 256 * 1024;
  constexpr int kRounds = 24;
  nbd::ClientOptions options;
  options.max_in_flight = 64;
  nbd::Client client(options);
  int failures = 0, mismatches = 0;
  std::uint32_t max_in_flight = 0;
  std::uint64_t issued = 0, out_of_order = 0, last_completed_issue = 0;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    const std::uint32_t align =
        std::max<std::uint32_t>(512, client.export_info().block_size.minimum);
    corolib::CoEvent all_done;
    int left = kWorkers;
    for (int w = 0; w < kWorkers; ++w) {
      corolib::enter(corolib::create([&, w] {
        std::mt19937_64 rng(1000 + w);
        const std::uint64_t base = static_cast<std::uint64_t>(w) * kRegion;
        Bytes model(kRegion);
        for (int round = 0; round < kRounds; ++round) {
          const std::uint32_t len = align * (1 + rng() % (65536 / align));
          const std::uint32_t off = align * (rng() % ((kRegion - len) / align + 1));
          if (rng() % 3 != 0) {
            Bytes data = pattern(rng(), base + off, len);
            const std::uint64_t ticket = ++issued;
            const int r =
                client.write(data.data(), len, base + off, round % 5 == 0 ? nbd::kCmdFlagFua : 0);
            if (ticket < last_completed_issue) ++out_of_order;
            last_completed_issue = ticket;
            if (r != 0) ++failures;
            std::copy(data.begin(), data.end(), model.begin() + off);
          } else {
            Bytes back(len);
            const std::uint64_t ticket = ++issued;
            const int r = client.read(back.data(), len, base + off);
            if (ticket < last_completed_issue) ++out_of_order;
            last_completed_issue = ticket;
            if (r != 0) ++failures;
            if (!std::equal(back.begin(), back.end(), model.begin() + off)) ++mismatches;
          }
          max_in_flight = std::max(max_in_flight, client.in_flight());
        }
        // The whole region at the end.
        Bytes all(kRegion);
        if (client.read(all.data(), kRegion, base) != 0) ++failures;
        if (all != model) ++mismatches;
        if (--left == 0) all_done.set();
      }));
    }
    all_done.wait();
    EXPECT_EQ(client.disconnect(), 0);
  });
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(max_in_flight, 1u) << "requests were not pipelined";
  RecordProperty("max_in_flight", static_cast<int>(max_in_flight));
  RecordProperty("out_of_order_completions", static_cast<int>(out_of_order));
}

TEST_P(ClientInteropTest, TwoConnectionsSeeEachOthersWritesAfterFlush) {
  nbd::Client a, b;
  run_coroutine(loop_, [&] {
    if (connect(a) != 0 || connect(b) != 0) {
      a.close();
      b.close();
      return;
    }
    const Bytes data = pattern(31, 40u << 20, 131072);
    EXPECT_EQ(a.write(data.data(), 131072, 40u << 20), 0);
    EXPECT_EQ(a.flush(), 0);
    Bytes back(131072);
    EXPECT_EQ(b.read(back.data(), 131072, 40u << 20), 0);
    EXPECT_EQ(back, data);
    EXPECT_EQ(a.disconnect(), 0);
    EXPECT_EQ(b.disconnect(), 0);
  });
}

// The server freezes (SIGSTOP) with 64 requests on their way (writes block
// in sendmsg once the socket buffer is full, the rest wait for the send
// mutex or for replies), then dies (SIGKILL): every request fails, none
// hangs, and the client is closed.
TEST_P(ClientInteropTest, ServerDyingMidFlightFailsEveryRequest) {
  constexpr int kRequests = 64;
  nbd::ClientOptions options;
  options.max_in_flight = kRequests;
  nbd::Client client(options);
  std::vector<int> results;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    if (!server_->freeze()) {
      ADD_FAILURE() << "cannot stop the server";
      client.close();
      return;
    }
    corolib::CoEvent all_done;
    int left = kRequests;
    for (int i = 0; i < kRequests; ++i) {
      corolib::enter(corolib::create([&, i] {
        Bytes buf(65536);
        const std::uint64_t offset = static_cast<std::uint64_t>(i) * 65536;
        results.push_back(i % 2 == 0 ? client.write(buf.data(), 65536, offset)
                                     : client.read(buf.data(), 65536, offset));
        if (--left == 0) all_done.set();
      }));
    }
    corolib::co_sleep(100ms);
    EXPECT_EQ(client.in_flight(), static_cast<std::uint32_t>(kRequests));
    EXPECT_EQ(left, kRequests) << "a request finished while the server was stopped";
    server_->signal(SIGKILL);
    all_done.wait();
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.flush(), -ENOTCONN);
    EXPECT_NE(client.disconnect(), 0);
  });
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kRequests));
  for (int r : results) EXPECT_EQ(r, -ECONNRESET);
  EXPECT_THAT(client.error_message(), HasSubstr("connection"));
}

INSTANTIATE_TEST_SUITE_P(, ClientInteropTest, ::testing::ValuesIn(kServers),
                         [](const auto& info) { return std::string(info.param.name); });

// An export the server does not have: NBD_REP_ERR_UNKNOWN -> -ENOENT.
TEST(ClientInteropErrorsTest, UnknownExportIsRefused) {
  if (!test_support::program_available("qemu-nbd")) GTEST_SKIP() << "qemu-nbd is not installed";
  char dir_template[] = "/tmp/corobd-client-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string image = dir + "/disk.img", socket = dir + "/nbd.sock";
  {
    const int fd = ::open(image.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
    ::close(fd);
  }
  {
    ServerProcess server({"qemu-nbd", "--socket=" + socket, "--format=raw", "--persistent",
                          "--shared=8", "-x", "disk", image},
                         socket, dir + "/server.log");
    ASSERT_TRUE(server.ready()) << server.log();
    corolib::EventLoop loop;
    nbd::Client client;
    run_coroutine(loop, [&] {
      EXPECT_EQ(client.connect(nbd::NbdUri{"nope", socket}), -ENOENT);
      EXPECT_THAT(client.error_message(), HasSubstr("NBD_REP_ERR_UNKNOWN"));
      EXPECT_THAT(client.error_message(), HasSubstr("'nope'"));
      EXPECT_EQ(client.connect(nbd::NbdUri{"disk", socket}), 0) << client.error_message();
      EXPECT_EQ(client.disconnect(), 0);
    });
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace nbd_client_test
