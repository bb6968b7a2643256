// Requests in flight: concurrent execution and out-of-order replies, the
// per-connection limit (backpressure), and what happens to requests in
// flight when the client sends DISC, hangs up, or the server disconnects
// everyone.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "raw_client.hpp"
#include "server_thread.hpp"
#include "test_exports.hpp"

namespace nbd_test {
namespace {

using nbd::Request;
using nbd::SessionEnd;
using namespace std::chrono_literals;

// Waits (polling) until pred() holds or 10 s pass.
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

class ConcurrencyTest : public ::testing::Test {
 protected:
  static constexpr std::uint32_t kLimit = 4;
  std::unique_ptr<RawClient> connect(bool structured = true) {
    auto c = std::make_unique<RawClient>(server_.socket_path());
    EXPECT_NE(c->negotiate("disk", structured), 0);
    return c;
  }

  // A failed test must not leave requests held: the server could not stop.
  void TearDown() override { exports_.release_all(); }

  TestExports exports_;
  ServerThread server_{exports_.registry, nbd::ServerOptions{.max_requests_in_flight = kLimit}};
};

TEST_F(ConcurrencyTest, RepliesComeInCompletionOrder) {
  auto c = connect();
  exports_.disk->fill(0, std::vector<unsigned char>(65536, 0xab));  // data, not holes
  exports_.disk->hold(0, 4096);
  c->send_request({0, nbd::kCmdRead, 1, 0, 4096});
  ASSERT_TRUE(eventually([&] { return exports_.disk->held.load() == 1; }));
  c->send_request({0, nbd::kCmdRead, 2, 8192, 4096});
  c->send_request({0, nbd::kCmdWriteZeroes, 3, 32768, 4096});
  c->set_read_offset(8192);
  auto r = c->read_response(4096);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cookie, 2u);  // overtook the held request
  r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cookie, 3u);
  exports_.disk->release();
  c->set_read_offset(0);
  r = c->read_response(4096);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cookie, 1u);
  EXPECT_EQ(r->data, Bytes(4096, std::byte{0xab}));
}

TEST_F(ConcurrencyTest, AtMostTheLimitRunsAtOnce) {
  auto c = connect();
  exports_.disk->delay_us.store(20000);  // long enough to overlap even on a busy machine
  constexpr int kRequests = 64;
  for (int i = 0; i < kRequests; ++i) {
    Bytes data(4096, static_cast<std::byte>(i + 1));
    c->send_request({0, nbd::kCmdWrite, static_cast<std::uint64_t>(i),
                     static_cast<std::uint64_t>(i) * 4096, 4096},
                    data);
  }
  std::set<std::uint64_t> cookies;
  for (int i = 0; i < kRequests; ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, 0u);
    cookies.insert(r->cookie);
  }
  EXPECT_EQ(cookies.size(), static_cast<std::size_t>(kRequests));
  EXPECT_EQ(exports_.disk->max_running.load(), static_cast<int>(kLimit));
  for (int i = 0; i < kRequests; i += 9) {
    EXPECT_EQ(exports_.disk->contents(static_cast<std::uint64_t>(i) * 4096, 1)[0], i + 1);
  }
  c->send_request({0, nbd::kCmdDisc, 999, 0, 0});
  auto result = server_.wait_result(0);
  EXPECT_EQ(result.counters.max_in_flight, kLimit);
  EXPECT_EQ(result.counters.writes, static_cast<std::uint64_t>(kRequests));
}

TEST_F(ConcurrencyTest, TheReceiverStopsReadingAtTheLimit) {
  auto c = connect();
  exports_.disk->hold(0, 1u << 30);  // everything waits
  for (std::uint64_t i = 0; i < 10; ++i) c->send_request({0, nbd::kCmdFlush, i, 0, 0});
  ASSERT_TRUE(eventually([&] { return exports_.disk->held.load() == static_cast<int>(kLimit); }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(exports_.disk->held.load(), static_cast<int>(kLimit));
  EXPECT_EQ(exports_.disk->running.load(), static_cast<int>(kLimit));
  exports_.disk->release();
  for (int i = 0; i < 10; ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, 0u);
  }
  EXPECT_EQ(exports_.disk->flushes.load(), 10u);
}

TEST_F(ConcurrencyTest, DiscFinishesRequestsInFlightFirst) {
  auto c = connect();
  exports_.disk->hold(0, 1u << 30);
  const Bytes data(4096, std::byte{0x77});
  c->send_request({0, nbd::kCmdWrite, 1, 0, 4096}, data);
  c->send_request({0, nbd::kCmdWrite, 2, 4096, 4096}, data);
  c->send_request({0, nbd::kCmdFlush, 3, 0, 0});
  ASSERT_TRUE(eventually([&] { return exports_.disk->held.load() == 3; }));
  c->send_request({0, nbd::kCmdDisc, 4, 0, 0});
  std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(server_.results().empty());  // still finishing
  exports_.disk->release();
  std::set<std::uint64_t> cookies;
  for (int i = 0; i < 3; ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, 0u);
    cookies.insert(r->cookie);
  }
  EXPECT_EQ(cookies, (std::set<std::uint64_t>{1, 2, 3}));
  EXPECT_TRUE(c->closed_by_server());
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kDisconnect);
  EXPECT_EQ(exports_.disk->contents(4096, 1)[0], 0x77);
}

TEST_F(ConcurrencyTest, ClientHangingUpWithRequestsInFlight) {
  auto c = connect();
  exports_.disk->hold(0, 1u << 30);
  for (std::uint64_t i = 0; i < kLimit; ++i) {
    c->send_request({0, nbd::kCmdRead, i, i * 65536, 65536});
  }
  ASSERT_TRUE(eventually([&] { return exports_.disk->held.load() == static_cast<int>(kLimit); }));
  c->close();
  std::this_thread::sleep_for(20ms);
  exports_.disk->release();
  auto r = server_.wait_result(0);
  EXPECT_EQ(r.end, SessionEnd::kClientClosed);
  EXPECT_EQ(server_.server().buffer_pool().outstanding(), 0u);
  EXPECT_EQ(server_.server().active_connections(), 0u);
}

// Replies far larger than the socket buffers, and a client that reads a
// little and hangs up: the send fails mid-flush, the session ends as closed
// by the client, and every request's buffer comes back.
TEST_F(ConcurrencyTest, ClientHangingUpInTheMiddleOfTheReplies) {
  auto c = connect(false);  // simple replies: the data is sent, holes or not
  for (std::uint64_t i = 0; i < kLimit; ++i) {
    c->send_request({0, nbd::kCmdRead, i, i << 20, 1u << 20});
  }
  ASSERT_TRUE(c->recv(1000));
  c->close();
  auto r = server_.wait_result(0);
  EXPECT_EQ(r.end, SessionEnd::kClientClosed);
  EXPECT_EQ(r.counters.reads, kLimit);
  EXPECT_EQ(server_.server().buffer_pool().outstanding(), 0u);
  EXPECT_EQ(server_.server().active_connections(), 0u);
}

TEST_F(ConcurrencyTest, DisconnectAllEndsEveryConnection) {
  auto a = connect();
  auto b = connect(false);
  RawClient negotiating(server_.socket_path());
  negotiating.greet();
  exports_.disk->hold(0, 4096);
  a->send_request({0, nbd::kCmdFlush, 1, 0, 0});
  ASSERT_TRUE(eventually([&] { return exports_.disk->held.load() == 1; }));
  ASSERT_TRUE(eventually([&] { return server_.server().active_connections() == 3; }));
  server_.server().disconnect_all();
  EXPECT_TRUE(b->closed_by_server());
  EXPECT_TRUE(negotiating.closed_by_server());
  exports_.disk->release();
  auto results = server_.wait_results(3);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) EXPECT_EQ(r.end, SessionEnd::kShutdown);
  // Later connections are turned away at once.
  RawClient late(server_.socket_path());
  EXPECT_TRUE(late.closed_by_server());
}

TEST_F(ConcurrencyTest, ManyConnectionsWriteAndVerifyConcurrently) {
  constexpr int kConnections = 6;
  constexpr int kWrites = 40;
  exports_.disk->delay_us.store(200);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kConnections; ++t) {
    threads.emplace_back([&, t] {
      RawClient c(server_.socket_path());
      if (c.negotiate("disk", t % 2 == 0) == 0) {
        ++failures;
        return;
      }
      const std::uint64_t base = static_cast<std::uint64_t>(t) << 20;
      // Pipelined writes, then pipelined reads, verified.
      for (int i = 0; i < kWrites; ++i) {
        Bytes data(8192, static_cast<std::byte>(t * 16 + i % 16 + 1));
        c.send_request({0, nbd::kCmdWrite, static_cast<std::uint64_t>(i),
                        base + static_cast<std::uint64_t>(i) * 8192, 8192},
                       data);
      }
      for (int i = 0; i < kWrites; ++i) {
        auto r = c.read_response();
        if (!r || r->error != 0) ++failures;
      }
      for (int i = 0; i < kWrites; ++i) {
        const std::uint64_t off = base + static_cast<std::uint64_t>(i) * 8192;
        c.set_read_offset(off);
        c.send_request({static_cast<std::uint16_t>(t % 2 == 0 ? nbd::kCmdFlagDf : 0), nbd::kCmdRead, 0, off, 8192});
        auto r = c.read_response(8192);
        if (!r || r->error != 0 || r->data != Bytes(8192, static_cast<std::byte>(t * 16 + i % 16 + 1))) {
          ++failures;
        }
      }
      c.send_request({0, nbd::kCmdDisc, 0, 0, 0});
      if (!c.closed_by_server()) ++failures;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto results = server_.wait_results(kConnections);
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kConnections));
  for (const auto& r : results) {
    EXPECT_EQ(r.end, SessionEnd::kDisconnect);
    EXPECT_LE(r.counters.max_in_flight, kLimit);
  }
}

// One Server, connections on two event loops (threads) at once: the buffer
// pool, the statistics and the connection list are shared.
TEST(SharedServerTest, TwoEventLoopsServeOneServer) {
  TestExports exports;
  ServerThread first(exports.registry, nbd::ServerOptions{.max_requests_in_flight = 8});
  ServerThread second(first.shared_server());
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      RawClient c((t % 2 ? second : first).socket_path());
      if (c.negotiate("disk", true) == 0) ++failures;
      const std::uint64_t base = static_cast<std::uint64_t>(t) << 20;
      for (std::uint64_t i = 0; i < 50; ++i) {
        Bytes data(16384, static_cast<std::byte>(t + 1));
        c.send_request({0, nbd::kCmdWrite, i, base + i * 16384, 16384}, data);
        c.set_read_offset(base + i * 16384);
        c.send_request({0, nbd::kCmdRead, 1000 + i, base + i * 16384, 16384});
        for (int k = 0; k < 2; ++k) {
          auto r = c.read_response(k == 1 ? 16384 : 0);
          if (!r || r->error != 0) ++failures;
        }
      }
      c.send_request({0, nbd::kCmdDisc, 0, 0, 0});
      if (!c.closed_by_server()) ++failures;
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(first.wait_results(2).size() + second.wait_results(2).size(), 4u);
  const nbd::ServerStats stats = first.server().stats();
  EXPECT_EQ(stats.connections, 4u);
  EXPECT_EQ(stats.negotiated, 4u);
  EXPECT_EQ(stats.bytes_written, 4u * 50 * 16384);
  EXPECT_EQ(stats.active_connections, 0u);
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(exports.disk->contents((static_cast<std::uint64_t>(t) << 20) + 49 * 16384, 1)[0],
              t + 1);
  }
  EXPECT_EQ(first.server().buffer_pool().outstanding(), 0u);
}

class ByteBudgetTest : public ::testing::Test {
 protected:
  void TearDown() override { exports_.release_all(); }
  TestExports exports_;
  ServerThread server_{exports_.registry,
                       nbd::ServerOptions{.max_requests_in_flight = 64,
                                          .max_bytes_in_flight = 3 * 65536}};
};

TEST_F(ByteBudgetTest, PayloadBytesInFlightAreBounded) {
  RawClient c(server_.socket_path());
  ASSERT_NE(c.negotiate("disk", true), 0);
  exports_.disk->fill(0, std::vector<unsigned char>(1 << 20, 1));
  exports_.disk->hold(0, 1u << 30);
  for (std::uint64_t i = 0; i < 8; ++i) c.send_request({0, nbd::kCmdRead, i, i * 65536, 65536});
  ASSERT_TRUE(eventually([&] { return exports_.disk->held.load() == 3; }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(exports_.disk->held.load(), 3);
  exports_.disk->release();
  for (int i = 0; i < 8; ++i) {
    auto r = c.read_response(0);
    (void)r;
  }
}

}  // namespace
}  // namespace nbd_test
