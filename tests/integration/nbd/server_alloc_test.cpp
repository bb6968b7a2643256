// The request path allocates nothing once warm: a mix of every command, in
// simple and structured mode, pipelined, with rejected requests among them,
// on a raw file and an in-memory device. Allocations are counted by a
// replaced global operator new (alloc_counter.hpp) on the server's loop
// thread only (this test is a binary of its own for that reason).
//
// "Warm" means the pools hold what the peak concurrency needs: the
// coroutine pool and the request buffer pool grow to the most requests ever
// in flight at once and then stop allocating. Since how many requests a
// pipelined round really has in flight depends on timing, the test fills
// both pools up to the connection's limit first (as a daemon may do at
// start-up with RequestBufferPool::reserve()), then measures.
#include <gtest/gtest.h>

#include "alloc_counter.hpp"
#include "blockdev/open_device.hpp"
#include "corolib/coroutine.hpp"
#include "raw_client.hpp"
#include "server_thread.hpp"
#include "test_exports.hpp"

namespace nbd_test {
namespace {

// One round of requests, pipelined 8 at a time (a client that sends without
// reading replies could fill the socket both ways and deadlock with the
// server's backpressure, so each group's replies are read before the next).
void request_mix(RawClient& c, bool block_status) {
  const Bytes data(65536, std::byte{0x42});
  std::uint64_t cookie = 0;
  auto read_replies = [&](int n) {
    for (int i = 0; i < n; ++i) {
      auto r = c.read_response();
      ASSERT_TRUE(r);
      ASSERT_LE(r->cookie, cookie);
    }
  };
  for (std::uint64_t i = 0; i < 4; ++i) {
    const std::uint64_t base = i * (1u << 20);
    c.send_request({0, nbd::kCmdWrite, ++cookie, base, 65536}, data);
    c.send_request({nbd::kCmdFlagFua, nbd::kCmdWrite, ++cookie, base + 65536, 4096},
                   {data.data(), 4096});
    c.send_request({0, nbd::kCmdRead, ++cookie, base, 65536});
    c.send_request({0, nbd::kCmdRead, ++cookie, base + 200000, 100000});  // data and holes
    c.send_request({0, nbd::kCmdFlush, ++cookie, 0, 0});
    c.send_request({0, nbd::kCmdWriteZeroes, ++cookie, base + 300000, 5000});
    c.send_request({0, nbd::kCmdTrim, ++cookie, base + 400000, 8192});
    if (block_status) {
      c.send_request({0, nbd::kCmdBlockStatus, ++cookie, base, 1u << 20});
    } else {
      c.send_request({0, nbd::kCmdCache, ++cookie, base, 1u << 20});
    }
    read_replies(8);
  }
  // Rejected ones: unknown command, past the end, an oversized write (drained).
  c.send_request({0, 77, ++cookie, 0, 0});
  c.send_request({0, nbd::kCmdRead, ++cookie, 1ull << 40, 4096});
  read_replies(2);
  const std::uint32_t big = nbd::kMaxRequestPayload + 1;
  c.send_request({0, nbd::kCmdWrite, ++cookie, 0, big});
  c.send_filler(big);
  read_replies(1);
}

constexpr std::uint32_t kLimit = 16;

// Leaves n coroutines in the calling thread's pool.
void warm_coroutine_pool(int n) {
  std::vector<corolib::Coroutine*> live;
  for (int i = 0; i < n; ++i) {
    live.push_back(corolib::create([] { corolib::yield(); }));
    corolib::enter(live.back());
  }
  for (corolib::Coroutine* co : live) corolib::enter(co);  // they terminate: pooled
}

TEST(ServerAllocHook, CountsOnlyWhenAsked) {
  test_support::count_allocations_on_this_thread(true);
  static int* volatile sink = nullptr;  // keeps the compiler from eliding the new
  test_support::start_counting_allocations();
  sink = new int(1);
  delete sink;
  test_support::stop_counting_allocations();
  sink = new int(2);  // not counted: counting is off
  delete sink;
  test_support::count_allocations_on_this_thread(false);
  EXPECT_EQ(test_support::stop_counting_allocations(), 1u);
}

class ServerAllocTest : public ::testing::TestWithParam<bool> {
 protected:
  ServerAllocTest() {
    blockdev::DeviceOptions raw;
    raw.path = dir_.file("raw.img");
    raw.size = 8u << 20;
    raw.create = true;
    auto d = blockdev::open_device(raw);
    EXPECT_TRUE(d) << d.message;
    registry_->add("raw", std::shared_ptr<blockdev::BlockDevice>(std::move(d.device)));
    registry_->add("memory", std::make_shared<MemoryDevice>(MemoryDevice::Options{}));
  }

  TempDir dir_;
  std::shared_ptr<nbd::ExportRegistry> registry_ = std::make_shared<nbd::ExportRegistry>();
};

INSTANTIATE_TEST_SUITE_P(, ServerAllocTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Structured" : "Simple"; });

TEST_P(ServerAllocTest, RequestsDoNotAllocateOnceWarm) {
  const bool structured = GetParam();
  nbd::ServerOptions options;
  options.max_requests_in_flight = kLimit;
  options.on_negotiated = [](const nbd::SessionInfo&) {
    test_support::count_allocations_on_this_thread(true);  // the server's loop thread
    warm_coroutine_pool(2 * kLimit);
  };
  ServerThread server(registry_, options);
  for (std::size_t bytes : {std::size_t{4096}, std::size_t{65536}, std::size_t{100000},
                            std::size_t{256 * 1024}}) {
    EXPECT_GE(server.server().buffer_pool().reserve(bytes, kLimit + 1), kLimit + 1);
  }
  for (const char* name : {"raw", "memory"}) {
    RawClient c(server.socket_path());
    ASSERT_NE(c.negotiate(name, structured, structured), 0);
    for (int round = 0; round < 2; ++round) request_mix(c, structured);  // caches, files
    test_support::start_counting_allocations();
    for (int round = 0; round < 5; ++round) request_mix(c, structured);
    EXPECT_EQ(test_support::stop_counting_allocations(), 0u) << name;
    c.send_request({0, nbd::kCmdDisc, 0, 0, 0});
    EXPECT_TRUE(c.closed_by_server());
  }
  auto results = server.wait_results(2);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.end, nbd::SessionEnd::kDisconnect);
    EXPECT_EQ(r.counters.errors, 7u * 3);  // 3 rejected per round, 7 rounds
    EXPECT_LE(r.counters.max_in_flight, kLimit);
  }
}

}  // namespace
}  // namespace nbd_test
