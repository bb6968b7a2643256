// nbd::Client's transmission phase against a scripted server (FakeServer):
// pipelining with out-of-order and split replies, the cookie table's
// limit, large transfers, what each command puts on the wire, block status
// streamed in pieces, and server errors mapped to errno.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "client_fake_server_fixture.hpp"
#include "client_test_util.hpp"
#include "nbd/client/client.hpp"

namespace nbd_client_test {
namespace {

using namespace std::chrono_literals;

// --- pipelining -------------------------------------------------------------------------

TEST_F(ClientFakeServerTest, RepliesInReverseOrderWithSplitChunksReachTheRightBuffers) {
  constexpr int kRequests = 16;
  const std::uint32_t sizes[kRequests] = {512,  4096,  8192,  65536, 1u << 20, 3000, 4096, 12288,
                                          2048, 16384, 24576, 100,   200000,   4096, 8192, 40000};
  std::uint64_t offsets[kRequests];
  std::uint64_t next = 0;
  for (int i = 0; i < kRequests; ++i) {
    offsets[i] = next;
    next += sizes[i] + 512;
  }
  FakeServer::Setup setup;
  setup.size = next;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::vector<nbd::Request> reqs;
    for (int i = 0; i < kRequests; ++i) reqs.push_back(s.read_request());
    for (auto it = reqs.rbegin(); it != reqs.rend(); ++it) {
      // Data for the first part, a hole, data for the rest; the last chunk
      // first, to show chunks of one reply may come in any order too.
      const nbd::Request& r = *it;
      const std::uint32_t a = r.length / 3, hole = r.length / 4;
      const Bytes all = pattern(r.offset, r.offset, r.length);
      std::span<const std::byte> data(all);
      s.offset_data(r.cookie, r.offset + a + hole, data.subspan(a + hole), false);
      if (hole > 0) s.offset_hole(r.cookie, r.offset + a, hole, false);
      if (a > 0) {
        s.offset_data(r.cookie, r.offset, data.first(a), true);
      } else {
        s.none(r.cookie);
      }
    }
    Bytes none;
    serve_memory(s, none, {});  // DISC
  });
  nbd::Client client;
  std::vector<int> completion_order;
  int ok = 0;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    CoroutineGroup readers;
    readers.enter_n(kRequests, [&](int i) {
      Bytes buf(sizes[i], std::byte{0xee});
      const int r = client.read(buf.data(), sizes[i], offsets[i]);
      completion_order.push_back(i);
      Bytes expected = pattern(offsets[i], offsets[i], sizes[i]);
      const std::uint32_t a = sizes[i] / 3, hole = sizes[i] / 4;
      std::fill(expected.begin() + a, expected.begin() + a + hole, std::byte{0});
      if (r == 0 && buf == expected) ++ok;
    });
    readers.wait();
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(ok, kRequests);
  std::vector<int> reversed;
  for (int i = kRequests - 1; i >= 0; --i) reversed.push_back(i);
  EXPECT_EQ(completion_order, reversed);
}

TEST_F(ClientFakeServerTest, ManyCoroutinesVerifyTheirOwnRegionsAgainstAReorderingServer) {
  constexpr int kWorkers = 64;
  constexpr std::uint32_t kRegion = 64 * 1024;
  for (bool structured : {true, false}) {
    SCOPED_TRACE(structured ? "structured" : "simple");
    FakeServer::Setup setup;
    setup.size = kWorkers * kRegion;
    setup.structured = structured;
    Bytes image(setup.size);
    FakeServer server([&](FakeServer& s) {
      s.handshake(setup);
      serve_memory(s, image, {.structured = structured, .reverse_batch = 64});
    });
    nbd::ClientOptions options;
    options.max_in_flight = 64;
    nbd::Client client(options);
    int failures = 0;
    run_coroutine(loop_, [&] {
      if (connect(client, server) != 0) return;
      CoroutineGroup workers;
      workers.enter_n(kWorkers, [&](int w) {
        const std::uint64_t base = static_cast<std::uint64_t>(w) * kRegion;
        for (int round = 0; round < 8; ++round) {
          const std::uint32_t len = 512u << (round % 8);  // 512 .. 64 KiB
          const std::uint64_t off = base + (kRegion - len) / 2;
          const Bytes data = pattern(w * 100 + round, off, len);
          if (client.write(data.data(), len, off, round % 3 == 0 ? nbd::kCmdFlagFua : 0) != 0) {
            ++failures;
          }
          Bytes back(len);
          if (client.read(back.data(), len, off) != 0 || back != data) ++failures;
          if (round == 4 && client.trim(len, off) != 0) ++failures;
          if (round == 4) {
            if (client.read(back.data(), len, off) != 0 || back != Bytes(len)) ++failures;
          }
        }
      });
      workers.wait();
      EXPECT_EQ(client.flush(), 0);
      EXPECT_EQ(client.disconnect(), 0);
    });
    server.join();
    EXPECT_EQ(server.error(), "");
    EXPECT_EQ(failures, 0);
  }
}

TEST_F(ClientFakeServerTest, CookieTableLimitsRequestsInFlight) {
  constexpr int kRequests = 7;
  FakeServer::Setup setup;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::vector<nbd::Request> outstanding;
    int answered = 0;
    while (answered < kRequests) {
      while (outstanding.size() < 2 && answered + outstanding.size() < kRequests) {
        outstanding.push_back(s.read_request());
      }
      // The client must not send a third request now.
      if (!s.quiet_for(100ms)) throw ScriptError("more than 2 requests in flight");
      s.simple_reply(outstanding.front().cookie);
      outstanding.erase(outstanding.begin());
      ++answered;
    }
    s.read_request();  // DISC
  });
  nbd::ClientOptions options;
  options.max_in_flight = 2;
  nbd::Client client(options);
  int ok = 0;
  std::uint32_t max_seen = 0;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    CoroutineGroup flushes;
    flushes.enter_n(kRequests, [&](int) {
      if (client.flush() == 0) ++ok;
      max_seen = std::max(max_seen, client.in_flight());
    });
    flushes.wait();
    EXPECT_EQ(client.in_flight(), 0u);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(ok, kRequests);
  EXPECT_LE(max_seen, 2u);
}

TEST_F(ClientFakeServerTest, LargeWritesAndReadsMoveEveryByte) {
  constexpr std::uint32_t kBig = 8u << 20;
  FakeServer::Setup setup;
  setup.size = 4 * kBig;
  Bytes image(setup.size);
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    serve_memory(s, image, {});
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes data = pattern(77, kBig, kBig);
    std::fill(data.begin() + 4096, data.begin() + 4 * 65536, std::byte{0});  // a hole
    EXPECT_EQ(client.write(data.data(), kBig, kBig), 0);
    Bytes back(kBig);
    EXPECT_EQ(client.read(back.data(), kBig, kBig), 0);
    EXPECT_TRUE(back == data);
    // Unaligned pieces that straddle the receive buffer's size.
    for (std::uint32_t len : {1u, 7u, 16383u, 16384u, 16385u, 300000u}) {
      Bytes piece(len);
      EXPECT_EQ(client.read(piece.data(), len, kBig + 1), 0);
      EXPECT_TRUE(std::equal(piece.begin(), piece.end(), data.begin() + 1)) << len;
    }
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

// --- commands, block status and errors ------------------------------------------------------

TEST_F(ClientFakeServerTest, CommandsCarryTheirTypeFlagsOffsetAndLength) {
  FakeServer::Setup setup;
  setup.size = 1u << 30;
  std::vector<nbd::Request> seen;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    for (;;) {
      nbd::Request r = s.read_request();
      if (r.type == nbd::kCmdDisc) break;
      seen.push_back(r);
      if (r.type == nbd::kCmdBlockStatus) {
        const nbd::BlockDescriptor d[] = {{r.length, 0}};
        s.block_status(r.cookie, 42, d, true);
      } else {
        s.none(r.cookie);
      }
    }
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes buf(4096);
    EXPECT_EQ(client.write(buf.data(), 0, 4096), 0);
    EXPECT_EQ(client.write(buf.data(), 4096, 8192, nbd::kCmdFlagFua), 0);
    EXPECT_EQ(client.flush(), 0);
    EXPECT_EQ(client.trim(1u << 20, 1u << 20), 0);
    EXPECT_EQ(client.write_zeroes(65536, 0, nbd::kCmdFlagNoHole), 0);
    EXPECT_EQ(client.write_zeroes(65536, 0, nbd::kCmdFlagFastZero | nbd::kCmdFlagFua), 0);
    EXPECT_EQ(client.cache(1u << 20, 0), 0);
    std::vector<nbd::Extent> extents;
    EXPECT_EQ(client.block_status(4096, 512, &extents, nbd::kCmdFlagReqOne), 0);
    EXPECT_EQ(client.read(buf.data(), 0, 0), 0);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  using nbd::Request;
  const std::vector<Request> expected = {
      {0, nbd::kCmdWrite, 0, 4096, 0},
      {nbd::kCmdFlagFua, nbd::kCmdWrite, 0, 8192, 4096},
      {0, nbd::kCmdFlush, 0, 0, 0},
      {0, nbd::kCmdTrim, 0, 1u << 20, 1u << 20},
      {nbd::kCmdFlagNoHole, nbd::kCmdWriteZeroes, 0, 0, 65536},
      {nbd::kCmdFlagFastZero | nbd::kCmdFlagFua, nbd::kCmdWriteZeroes, 0, 0, 65536},
      {0, nbd::kCmdCache, 0, 0, 1u << 20},
      {nbd::kCmdFlagReqOne, nbd::kCmdBlockStatus, 0, 512, 4096},
      {0, nbd::kCmdRead, 0, 0, 0},
  };
  ASSERT_EQ(seen.size(), expected.size());
  for (std::size_t i = 0; i < seen.size(); ++i) {
    Request s = seen[i];
    EXPECT_NE(s.cookie, 0u);
    s.cookie = 0;
    EXPECT_EQ(s, expected[i]) << "request " << i << " " << nbd::command_name(s.type);
  }
}

TEST_F(ClientFakeServerTest, BlockStatusStreamsAChunkLargerThanTheReceiveBuffer) {
  constexpr std::uint32_t kExtents = 5000;  // 40 KB of descriptors
  FakeServer::Setup setup;
  setup.size = 1ull << 33;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    nbd::Request r = s.read_request();
    std::vector<nbd::BlockDescriptor> d;
    for (std::uint32_t i = 0; i < kExtents; ++i) {
      d.push_back({4096 * (1 + i % 3), i % 2 == 0 ? 0u : nbd::kStateHole | nbd::kStateZero});
    }
    s.block_status(r.cookie, 42, d, true);
    Bytes none;
    serve_memory(s, none, {});  // DISC
  });
  nbd::ClientOptions options;
  options.receive_buffer = 16 * 1024;
  nbd::Client client(options);
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    std::vector<nbd::Extent> extents;
    std::uint32_t calls = 0;
    std::uint64_t expected_offset = 8192;
    bool contiguous = true;
    EXPECT_EQ(client.block_status(0xfffff000u, 8192,
                                  [&](const nbd::Extent& e) {
                                    ++calls;
                                    contiguous &= e.offset == expected_offset;
                                    expected_offset += e.length;
                                    extents.push_back(e);
                                  }),
              0);
    EXPECT_EQ(calls, kExtents);
    EXPECT_TRUE(contiguous);
    ASSERT_EQ(extents.size(), kExtents);
    EXPECT_EQ(extents[0], (nbd::Extent{8192, 4096, 0}));
    EXPECT_EQ(extents[1], (nbd::Extent{8192 + 4096, 8192, nbd::kStateHole | nbd::kStateZero}));
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, ServerErrorsMapToErrnoAndKeepTheConnection) {
  FakeServer::Setup setup;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    nbd::Request r = s.read_request();  // write
    s.simple_reply(r.cookie, nbd::kErrPerm);
    r = s.read_request();  // read
    s.error_chunk(r.cookie, nbd::kErrNoSpc, "full", true);
    r = s.read_request();                     // trim
    s.error_chunk(r.cookie, 9999, "", true);  // unknown value: EINVAL
    r = s.read_request();                     // read: data, then an error at an offset
    s.offset_data(r.cookie, r.offset, pattern(1, r.offset, 512), false);
    s.error_offset_chunk(r.cookie, nbd::kErrIo, r.offset + 512, true);
    r = s.read_request();  // flush
    s.simple_reply(r.cookie, nbd::kErrShutdown);
    r = s.read_request();  // read: chunks that do not cover the request
    s.offset_data(r.cookie, r.offset, pattern(1, r.offset, 512), true);
    r = s.read_request();  // block status: no extents
    s.none(r.cookie);
    r = s.read_request();  // write zeroes: two errors, the first counts
    s.error_chunk(r.cookie, nbd::kErrNotSup, "no fast zero", false);
    s.error_chunk(r.cookie, nbd::kErrIo, "", true);
    r = s.read_request();  // cache: an unknown error chunk type
    s.raw_chunk(nbd::kReplyFlagDone, 0x8123, r.cookie,
                Bytes{std::byte{0}, std::byte{0}, std::byte{0}, std::byte{nbd::kErrOverflow},
                      std::byte{0}, std::byte{0}},
                6);
    Bytes image(1u << 20);
    serve_memory(s, image, {});  // a good read, then DISC
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes buf(4096);
    EXPECT_EQ(client.write(buf.data(), 4096, 0), -EPERM);
    EXPECT_EQ(client.read(buf.data(), 4096, 0), -ENOSPC);
    EXPECT_EQ(client.trim(4096, 0), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 4096, 4096), -EIO);
    EXPECT_EQ(client.flush(), -ESHUTDOWN);
    EXPECT_EQ(client.read(buf.data(), 4096, 0), -EIO);
    std::vector<nbd::Extent> extents;
    EXPECT_EQ(client.block_status(4096, 0, &extents), -EIO);
    EXPECT_EQ(client.write_zeroes(4096, 0, nbd::kCmdFlagFastZero), -EOPNOTSUPP);
    EXPECT_EQ(client.cache(4096, 0), -EOVERFLOW);
    EXPECT_TRUE(client.connected());
    EXPECT_EQ(client.read(buf.data(), 4096, 0), 0);
    EXPECT_EQ(client.error_message(), "");
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

}  // namespace
}  // namespace nbd_client_test
