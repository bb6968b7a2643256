// nbd::Client against corobd's own nbd::Server: a ServerThread (the server
// on an EventLoop in a thread of this process, tests/integration/nbd) on
// MemoryDevices, driven by the client on the test thread's loop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "client_test_util.hpp"
#include "corolib/co_event.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/timer.hpp"
#include "nbd/client/client.hpp"
#include "server_thread.hpp"
#include "test_exports.hpp"

namespace nbd_client_test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ClientServerTest : public ::testing::Test {
 protected:
  // A failed test must not leave requests held: the server could not stop.
  void TearDown() override { exports_.release_all(); }

  int connect(nbd::Client& client, const std::string& name = "disk") {
    const int r = client.connect(server_.uri(name));
    EXPECT_EQ(r, 0) << client.error_message();
    return r;
  }

  // Sleeps (yielding) until pred() holds or 10 s pass.
  template <class Pred>
  static bool eventually(Pred pred) {
    for (int i = 0; i < 10000 && !pred(); ++i) corolib::co_sleep(1ms);
    return pred();
  }

  nbd_test::TestExports exports_;
  nbd_test::ServerThread server_{exports_.registry,
                                 nbd::ServerOptions{.max_requests_in_flight = 16}};
  corolib::EventLoop loop_;
};

TEST_F(ClientServerTest, HandshakeGetsWhatTheServerAdvertises) {
  nbd::Client client, by_default;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    const nbd::NegotiatedExport& x = client.export_info();
    EXPECT_EQ(x.size, 16u << 20);
    EXPECT_TRUE(x.used_go);
    EXPECT_TRUE(x.structured_replies);
    EXPECT_TRUE(x.base_allocation);
    EXPECT_TRUE(x.block_size_advertised);
    EXPECT_EQ(nbd::check_block_size(x.block_size), nbd::WireError::kOk);
    for (std::uint16_t flag :
         {nbd::kFlagHasFlags, nbd::kFlagSendFlush, nbd::kFlagSendFua, nbd::kFlagSendTrim,
          nbd::kFlagSendWriteZeroes, nbd::kFlagSendFastZero, nbd::kFlagSendDf,
          nbd::kFlagCanMultiConn, nbd::kFlagSendCache}) {
      EXPECT_TRUE(x.has(flag)) << "flag " << flag;
    }
    EXPECT_FALSE(x.read_only());
    // The empty name selects the default export.
    if (connect(by_default, "") == 0) {
      EXPECT_EQ(by_default.size(), 16u << 20);
      EXPECT_EQ(by_default.disconnect(), 0);
    }
    EXPECT_EQ(client.disconnect(), 0);
  });
  auto results = server_.wait_results(2);
  ASSERT_EQ(results.size(), 2u);
  for (const nbd::SessionResult& r : results) {
    EXPECT_EQ(r.end, nbd::SessionEnd::kDisconnect) << nbd::session_end_name(r.end);
    EXPECT_TRUE(r.info.structured_replies);
    EXPECT_TRUE(r.info.base_allocation);
    EXPECT_TRUE(r.info.no_zeroes);
  }
}

TEST_F(ClientServerTest, EveryCommandDoesWhatItSays) {
  constexpr std::uint64_t kBase = 1u << 20;
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    const Bytes data = pattern(1, kBase, 1u << 20);
    EXPECT_EQ(client.write(data.data(), 1u << 20, kBase), 0);
    EXPECT_EQ(client.write(data.data(), 4096, kBase, nbd::kCmdFlagFua), 0);
    EXPECT_EQ(client.flush(), 0);
    Bytes back(1u << 20);
    EXPECT_EQ(client.read(back.data(), 1u << 20, kBase), 0);
    EXPECT_EQ(back, data);
    EXPECT_EQ(client.read(back.data(), 65536, kBase, nbd::kCmdFlagDf), 0);
    EXPECT_TRUE(std::equal(back.begin(), back.begin() + 65536, data.begin()));

    EXPECT_EQ(client.trim(65536, kBase + 65536), 0);
    EXPECT_EQ(client.read(back.data(), 65536, kBase + 65536), 0);
    EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 65536,
                            [](std::byte b) { return b == std::byte{0}; }));
    std::vector<nbd::Extent> extents;
    EXPECT_EQ(client.block_status(3 * 65536, kBase, &extents), 0);
    ASSERT_GE(extents.size(), 3u);
    EXPECT_EQ(extents[0], (nbd::Extent{kBase, 65536, 0}));
    EXPECT_EQ(extents[1], (nbd::Extent{kBase + 65536, 65536, nbd::kStateHole | nbd::kStateZero}));
    EXPECT_EQ(extents[2].offset, kBase + 2 * 65536);
    EXPECT_EQ(extents[2].flags, 0u);
    EXPECT_EQ(client.block_status(3 * 65536, kBase, &extents, nbd::kCmdFlagReqOne), 0);
    EXPECT_EQ(extents, (std::vector<nbd::Extent>{{kBase, 65536, 0}}));

    EXPECT_EQ(client.write_zeroes(65536, kBase + 2 * 65536, nbd::kCmdFlagNoHole), 0);
    EXPECT_TRUE(exports_.disk->allocated(kBase + 2 * 65536));
    EXPECT_EQ(client.write_zeroes(65536, kBase + 3 * 65536), 0);
    EXPECT_EQ(client.write_zeroes(65536, kBase + 4 * 65536, nbd::kCmdFlagFastZero), 0);
    EXPECT_EQ(client.read(back.data(), 3 * 65536, kBase + 2 * 65536), 0);
    EXPECT_TRUE(std::all_of(back.begin(), back.begin() + 3 * 65536,
                            [](std::byte b) { return b == std::byte{0}; }));
    EXPECT_EQ(client.cache(1u << 20, 0), 0);
    EXPECT_EQ(client.disconnect(), 0);
  });
  EXPECT_GE(exports_.disk->fua_writes.load(), 1u);
  EXPECT_GE(exports_.disk->flushes.load(), 1u);
  EXPECT_GE(exports_.disk->discards.load(), 1u);
  EXPECT_GE(exports_.disk->zeroes_fast.load(), 1u);
  EXPECT_GE(exports_.disk->prefetches.load(), 1u);
  const nbd::SessionResult r = server_.wait_result(0);
  EXPECT_EQ(r.end, nbd::SessionEnd::kDisconnect);
  EXPECT_EQ(r.counters.errors, 0u);
}

// A request held in the device while 63 others overtake it: the client
// matches every reply by cookie; then 64 coroutines verify their regions
// byte for byte through the server's in-flight limit of 16.
TEST_F(ClientServerTest, SixtyFourRequestsInFlightOutOfOrderAndVerified) {
  constexpr int kWorkers = 64;
  constexpr std::uint32_t kRegion = 128 * 1024;
  nbd::ClientOptions options;
  options.max_in_flight = 64;
  nbd::Client client(options);
  std::vector<int> order;
  int failures = 0, mismatches = 0;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    exports_.disk->fill(0, std::vector<unsigned char>(4096, 0x5a));
    exports_.disk->hold(0, 1);
    corolib::CoEvent overtaken;
    int left = 16;
    Bytes held(4096);
    int held_result = 1;
    corolib::enter(corolib::create([&] {
      held_result = client.read(held.data(), 4096, 0);
      order.push_back(-1);
    }));
    for (int i = 0; i < 15; ++i) {
      corolib::enter(corolib::create([&, i] {
        Bytes buf(4096);
        if (client.read(buf.data(), 4096, 65536u * (i + 1)) != 0) ++failures;
        order.push_back(i);
        if (--left == 1) overtaken.set();
      }));
    }
    overtaken.wait();
    exports_.disk->release();
    EXPECT_TRUE(eventually([&] { return held_result != 1; }));
    EXPECT_EQ(held_result, 0);
    EXPECT_EQ(held, Bytes(4096, std::byte{0x5a}));
    ASSERT_EQ(order.size(), 16u);
    EXPECT_EQ(order.back(), -1) << "the held read should finish last";

    corolib::CoEvent all_done;
    int workers_left = kWorkers;
    for (int w = 0; w < kWorkers; ++w) {
      corolib::enter(corolib::create([&, w] {
        std::mt19937 rng(w);
        const std::uint64_t base = static_cast<std::uint64_t>(w) * kRegion;
        Bytes model(kRegion);
        EXPECT_EQ(client.read(model.data(), kRegion, base), 0);
        for (int round = 0; round < 16; ++round) {
          const std::uint32_t len = 512 * (1 + rng() % 64);
          const std::uint32_t off = 512 * (rng() % ((kRegion - len) / 512 + 1));
          const Bytes data = pattern(rng(), base + off, len);
          if (client.write(data.data(), len, base + off) != 0) ++failures;
          std::copy(data.begin(), data.end(), model.begin() + off);
          if (round % 4 == 3) {
            if (client.trim(4096, base) != 0) ++failures;
            std::fill(model.begin(), model.begin() + 4096, std::byte{0});
          }
          Bytes back(len);
          if (client.read(back.data(), len, base + off) != 0) ++failures;
          if (!std::equal(back.begin(), back.end(), model.begin() + off)) ++mismatches;
        }
        Bytes all(kRegion);
        if (client.read(all.data(), kRegion, base) != 0) ++failures;
        if (all != model) ++mismatches;
        if (--workers_left == 0) all_done.set();
      }));
    }
    all_done.wait();
    EXPECT_EQ(client.disconnect(), 0);
  });
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(mismatches, 0);
  const nbd::SessionResult r = server_.wait_result(0);
  EXPECT_EQ(r.end, nbd::SessionEnd::kDisconnect);
  EXPECT_LE(r.counters.max_in_flight, 16u);
  EXPECT_GE(r.counters.max_in_flight, 2u);
}

TEST_F(ClientServerTest, ReadOnlyExportRefusesWritesLocallyAndRemotely) {
  nbd::Client strict;
  nbd::ClientOptions options;
  options.strict = false;
  nbd::Client lax(options);
  run_coroutine(loop_, [&] {
    if (connect(strict, "ro") != 0 || connect(lax, "ro") != 0) {
      strict.close();
      lax.close();
      return;
    }
    EXPECT_TRUE(strict.export_info().read_only());
    Bytes buf(4096);
    EXPECT_EQ(strict.write(buf.data(), 4096, 0), -EPERM);
    EXPECT_EQ(strict.trim(4096, 0), -EPERM);
    EXPECT_EQ(lax.write(buf.data(), 4096, 0), -EPERM);  // the server's answer
    EXPECT_EQ(lax.write_zeroes(4096, 0), -EPERM);
    EXPECT_EQ(lax.read(buf.data(), 4096, 0), 0);  // still connected
    EXPECT_EQ(strict.disconnect(), 0);
    EXPECT_EQ(lax.disconnect(), 0);
  });
  EXPECT_EQ(exports_.ro->modifications(), 0u);
}

TEST_F(ClientServerTest, AlignmentAndBoundsAreCheckedOnBothSides) {
  nbd::Client strict;
  nbd::ClientOptions options;
  options.strict = false;
  nbd::Client lax(options);
  run_coroutine(loop_, [&] {
    if (connect(strict, "aligned") != 0 || connect(lax, "aligned") != 0) {
      strict.close();
      lax.close();
      return;
    }
    EXPECT_EQ(strict.export_info().block_size.minimum, 512u);
    Bytes buf(8192);
    EXPECT_EQ(strict.read(buf.data(), 100, 0), -EINVAL);
    EXPECT_EQ(strict.write(buf.data(), 512, 3), -EINVAL);
    EXPECT_EQ(strict.write(buf.data(), 4096, (1u << 20) - 512), -ENOSPC);
    EXPECT_EQ(lax.read(buf.data(), 100, 0), -EINVAL);
    EXPECT_EQ(lax.write(buf.data(), 512, 3), -EINVAL);
    EXPECT_EQ(lax.write(buf.data(), 4096, (1u << 20) - 512), -ENOSPC);
    EXPECT_EQ(lax.read(buf.data(), 4096, (1u << 20) - 512), -EINVAL);
    EXPECT_EQ(lax.read(buf.data(), 512, 512), 0);
    EXPECT_EQ(strict.disconnect(), 0);
    EXPECT_EQ(lax.disconnect(), 0);
  });
  EXPECT_EQ(exports_.aligned->modifications(), 0u);
}

TEST_F(ClientServerTest, DeviceErrorsComeBackAsErrno) {
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    Bytes buf(4096, std::byte{1});
    EXPECT_EQ(client.write(buf.data(), 4096, 0), 0);  // data, so a READ reaches the device
    exports_.disk->inject_errno.store(EIO);
    EXPECT_EQ(client.read(buf.data(), 4096, 0), -EIO);
    exports_.disk->inject_errno.store(ENOSPC);
    EXPECT_EQ(client.write(buf.data(), 4096, 0), -ENOSPC);
    exports_.disk->inject_errno.store(0);
    EXPECT_EQ(client.write(buf.data(), 4096, 0), 0);
    EXPECT_EQ(client.disconnect(), 0);
  });
}

TEST_F(ClientServerTest, UnknownExportIsRefused) {
  nbd::Client client;
  run_coroutine(loop_, [&] {
    EXPECT_EQ(client.connect(server_.uri("nope")), -ENOENT);
    EXPECT_THAT(client.error_message(), HasSubstr("NBD_REP_ERR_UNKNOWN"));
  });
}

// The server drops every connection (Server::disconnect_all()) while
// requests are held in the device: every one fails, none hangs.
TEST_F(ClientServerTest, ServerDisconnectingEveryoneFailsRequestsInFlight) {
  constexpr int kRequests = 8;
  nbd::Client client;
  std::vector<int> results;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    exports_.disk->hold(0, 1u << 20);
    corolib::CoEvent all_done;
    int left = kRequests;
    for (int i = 0; i < kRequests; ++i) {
      corolib::enter(corolib::create([&, i] {
        Bytes buf(4096);
        results.push_back(client.read(buf.data(), 4096, 4096u * i));
        if (--left == 0) all_done.set();
      }));
    }
    EXPECT_TRUE(eventually([&] { return exports_.disk->held.load() == kRequests; }));
    server_.server().disconnect_all();
    exports_.disk->release();
    all_done.wait();
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.close(), 0);
  });
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kRequests));
  for (int r : results) EXPECT_EQ(r, -ECONNRESET);
  EXPECT_EQ(server_.wait_result(0).end, nbd::SessionEnd::kShutdown);
}

TEST_F(ClientServerTest, ClientCloseWithRequestsInFlightEndsTheSession) {
  nbd::Client client;
  std::vector<int> results;
  run_coroutine(loop_, [&] {
    if (connect(client) != 0) return;
    exports_.disk->hold(0, 1u << 20);
    corolib::CoEvent all_done;
    int left = 4;
    for (int i = 0; i < 4; ++i) {
      corolib::enter(corolib::create([&, i] {
        Bytes buf(4096);
        results.push_back(client.read(buf.data(), 4096, 4096u * i));
        if (--left == 0) all_done.set();
      }));
    }
    EXPECT_TRUE(eventually([&] { return exports_.disk->held.load() == 4; }));
    EXPECT_EQ(client.close(), 0);
    all_done.wait();
    exports_.disk->release();
  });
  EXPECT_EQ(results, std::vector<int>(4, -ESHUTDOWN));
  EXPECT_EQ(server_.wait_result(0).end, nbd::SessionEnd::kClientClosed);
}

}  // namespace
}  // namespace nbd_client_test
