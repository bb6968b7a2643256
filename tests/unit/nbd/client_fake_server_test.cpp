// nbd::Client against a scripted server (FakeServer): every handshake
// path, pipelining with out-of-order replies, every kind of chunk, error
// mapping, protocol violations, a server that goes away, backpressure,
// disconnect/close, and the local request checks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "client_test_util.hpp"
#include "corolib/co_event.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/timer.hpp"
#include "nbd/client/client.hpp"

namespace nbd_client_test {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

class ClientFakeServerTest : public ::testing::Test {
 protected:
  // Connects client to server's socket as export "disk" (in a coroutine).
  static int connect(nbd::Client& client, FakeServer& server, const char* name = "disk") {
    const int r = client.connect_fd(server.take_client_fd(), name);
    EXPECT_EQ(r, 0) << client.error_message();
    return r;
  }

  corolib::EventLoop loop_;
};

// --- handshake --------------------------------------------------------------------------

TEST_F(ClientFakeServerTest, HandshakeNegotiatesStructuredRepliesMetaContextAndGo) {
  FakeServer::Setup setup;
  setup.size = 3u << 20;
  setup.block_size = {512, 4096, 1u << 20};
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    nbd::Request r = s.read_request();
    if (r.type != nbd::kCmdDisc) throw ScriptError("expected DISC");
    if (!s.wait_eof()) throw ScriptError("no EOF after DISC");
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    const nbd::NegotiatedExport& x = client.export_info();
    EXPECT_TRUE(client.connected());
    EXPECT_EQ(x.name, "disk");
    EXPECT_EQ(x.size, 3u << 20);
    EXPECT_EQ(client.size(), 3u << 20);
    EXPECT_EQ(x.transmission_flags, setup.flags);
    EXPECT_TRUE(x.block_size_advertised);
    EXPECT_EQ(x.block_size, setup.block_size);
    EXPECT_EQ(x.max_payload(), 1u << 20);
    EXPECT_TRUE(x.fixed_newstyle);
    EXPECT_TRUE(x.no_zeroes);
    EXPECT_TRUE(x.used_go);
    EXPECT_TRUE(x.structured_replies);
    EXPECT_TRUE(x.base_allocation);
    EXPECT_EQ(x.base_allocation_id, 42u);
    EXPECT_TRUE(x.can_fua() && x.can_trim() && x.can_flush() && x.can_fast_zero());
    EXPECT_FALSE(x.read_only());
    EXPECT_EQ(client.disconnect(), 0);
    EXPECT_FALSE(client.connected());
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, GoUnsupportedFallsBackToExportName) {
  FakeServer server([](FakeServer& s) {
    s.greet();
    s.client_flags();
    s.expect_option(nbd::kOptStructuredReply);
    s.rep_ack(nbd::kOptStructuredReply);
    s.expect_option(nbd::kOptSetMetaContext);
    s.rep_error(nbd::kOptSetMetaContext, nbd::kRepErrUnsup);
    s.expect_option(nbd::kOptGo);
    s.rep_error(nbd::kOptGo, nbd::kRepErrUnsup);
    FakeServer::Option o = s.expect_option(nbd::kOptExportName);
    if (std::string(reinterpret_cast<const char*>(o.data.data()), o.data.size()) != "old") {
      throw ScriptError("wrong export name");
    }
    s.send_encoded([](std::span<std::byte> b) {
      return nbd::encode_export_name_reply(b, {8192, nbd::kFlagHasFlags | nbd::kFlagSendFlush},
                                           /*no_zeroes=*/true);
    });
    nbd::Request r = s.read_request();
    s.none(r.cookie);  // structured replies stay on after EXPORT_NAME
    s.read_request();  // DISC
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server, "old") != 0) return;
    const nbd::NegotiatedExport& x = client.export_info();
    EXPECT_FALSE(x.used_go);
    EXPECT_TRUE(x.structured_replies);
    EXPECT_FALSE(x.base_allocation);
    EXPECT_FALSE(x.block_size_advertised);
    EXPECT_EQ(x.block_size, nbd::BlockSize{});
    EXPECT_EQ(x.size, 8192u);
    EXPECT_EQ(client.flush(), 0);
    std::vector<nbd::Extent> extents;
    EXPECT_EQ(client.block_status(4096, 0, &extents), -EOPNOTSUPP);  // no context
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, NonFixedNewstyleServerGetsExportNameWithZeroes) {
  FakeServer server([](FakeServer& s) {
    s.greet(0);
    if (s.client_flags() != 0) throw ScriptError("client set flags the server did not offer");
    s.expect_option(nbd::kOptExportName);
    s.send_encoded([](std::span<std::byte> b) {
      return nbd::encode_export_name_reply(b, {1u << 20, nbd::kFlagHasFlags}, false);
    });
    Bytes image = pattern(3, 0, 1u << 20);
    serve_memory(s, image, {.structured = false});
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server, "") != 0) return;
    EXPECT_FALSE(client.export_info().fixed_newstyle);
    EXPECT_FALSE(client.export_info().no_zeroes);
    EXPECT_FALSE(client.export_info().structured_replies);
    Bytes buf(4096);
    EXPECT_EQ(client.read(buf.data(), 4096, 8192), 0);
    EXPECT_EQ(buf, pattern(3, 8192, 4096));
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, RefusedStructuredRepliesMeanSimpleRepliesAndNoBlockStatus) {
  FakeServer::Setup setup;
  setup.structured = false;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    Bytes image(setup.size);
    serve_memory(s, image, {.structured = false, .reverse_batch = 8});
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    EXPECT_FALSE(client.export_info().structured_replies);
    EXPECT_FALSE(client.export_info().base_allocation);
    const Bytes data = pattern(9, 65536, 65536);
    EXPECT_EQ(client.write(data.data(), 65536, 65536), 0);
    Bytes back(65536);
    EXPECT_EQ(client.read(back.data(), 65536, 65536), 0);
    EXPECT_EQ(back, data);
    std::vector<nbd::Extent> extents;
    EXPECT_EQ(client.block_status(4096, 0, &extents), -EOPNOTSUPP);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

// A server that answers GO with `type` and a message.
void refuse_go(FakeServer& s, std::uint32_t type) {
  s.greet();
  s.client_flags();
  s.expect_option(nbd::kOptStructuredReply);
  s.rep_ack(nbd::kOptStructuredReply);
  s.expect_option(nbd::kOptSetMetaContext);
  s.rep_ack(nbd::kOptSetMetaContext);
  s.expect_option(nbd::kOptGo);
  s.rep_error(nbd::kOptGo, type, "go away");
  s.wait_eof();
}

struct HandshakeFailure {
  const char* name;
  void (*script)(FakeServer&);
  int expected;
  const char* message;
};

class ClientHandshakeFailureTest : public ClientFakeServerTest,
                                   public ::testing::WithParamInterface<HandshakeFailure> {};

TEST_P(ClientHandshakeFailureTest, FailsWithErrnoAndMessage) {
  const HandshakeFailure& c = GetParam();
  FakeServer server(c.script);
  nbd::ClientOptions options;
  if (c.expected == -ETIMEDOUT) options.connect_timeout = 300ms;
  nbd::Client client(options);
  run_coroutine(loop_, [&] {
    EXPECT_EQ(client.connect_fd(server.take_client_fd(), "disk"), c.expected)
        << client.error_message();
    EXPECT_THAT(client.error_message(), HasSubstr(c.message));
    EXPECT_FALSE(client.connected());
    Bytes buf(512);
    EXPECT_EQ(client.read(buf.data(), 512, 0), -ENOTCONN);
    EXPECT_EQ(client.disconnect(), -ENOTCONN);
  });
  server.join();
}

const HandshakeFailure kHandshakeFailures[] = {
    {"UnknownExport", [](FakeServer& s) { refuse_go(s, nbd::kRepErrUnknown); }, -ENOENT,
     "NBD_REP_ERR_UNKNOWN to NBD_OPT_GO): go away"},
    {"Policy", [](FakeServer& s) { refuse_go(s, nbd::kRepErrPolicy); }, -EACCES,
     "NBD_REP_ERR_POLICY"},
    {"ShuttingDown", [](FakeServer& s) { refuse_go(s, nbd::kRepErrShutdown); }, -ESHUTDOWN,
     "NBD_REP_ERR_SHUTDOWN"},
    {"TlsRequired", [](FakeServer& s) { refuse_go(s, nbd::kRepErrTlsReqd); }, -EOPNOTSUPP,
     "NBD_REP_ERR_TLS_REQD"},
    {"Oldstyle",
     [](FakeServer& s) {
       Bytes old(152);
       nbd::store_be64(old.data(), nbd::kNbdMagic);
       nbd::store_be64(old.data() + 8, nbd::kCliservMagic);
       s.send(old);
       s.wait_eof();
     },
     -EOPNOTSUPP, "oldstyle"},
    {"BadMagic",
     [](FakeServer& s) {
       s.send(Bytes(18, std::byte{'x'}));
       s.wait_eof();
     },
     -EPROTO, "not an NBD server"},
    {"ClosedDuringHandshake",
     [](FakeServer& s) {
       s.greet();
       s.client_flags();
       s.expect_option(nbd::kOptStructuredReply);
     },
     -ECONNRESET, "closed the connection"},
    {"ReplyToTheWrongOption",
     [](FakeServer& s) {
       s.greet();
       s.client_flags();
       s.expect_option(nbd::kOptStructuredReply);
       s.rep_ack(nbd::kOptGo);
       s.wait_eof();
     },
     -EPROTO, "answered NBD_OPT_GO while NBD_OPT_STRUCTURED_REPLY was pending"},
    {"GoWithoutInfoExport",
     [](FakeServer& s) {
       s.greet();
       s.client_flags();
       s.expect_option(nbd::kOptStructuredReply);
       s.rep_ack(nbd::kOptStructuredReply);
       s.expect_option(nbd::kOptSetMetaContext);
       s.rep_ack(nbd::kOptSetMetaContext);
       s.expect_option(nbd::kOptGo);
       s.rep_ack(nbd::kOptGo);
       s.wait_eof();
     },
     -EPROTO, "without NBD_INFO_EXPORT"},
    {"MalformedInfo",
     [](FakeServer& s) {
       s.greet();
       s.client_flags();
       s.expect_option(nbd::kOptStructuredReply);
       s.rep_ack(nbd::kOptStructuredReply);
       s.expect_option(nbd::kOptSetMetaContext);
       s.rep_ack(nbd::kOptSetMetaContext);
       s.expect_option(nbd::kOptGo);
       // NBD_INFO_BLOCK_SIZE with a minimum that is not a power of two.
       Bytes b(nbd::kOptionReplyHeaderSize + 14);
       (void)nbd::encode_option_reply_header(b, {nbd::kOptGo, nbd::kRepInfo, 14});
       nbd::store_be16(b.data() + 20, nbd::kInfoBlockSize);
       nbd::store_be32(b.data() + 22, 3);
       nbd::store_be32(b.data() + 26, 4096);
       nbd::store_be32(b.data() + 30, 4096 * 3);
       s.send(b);
       s.wait_eof();
     },
     -EPROTO, "malformed NBD_REP_INFO reply"},
    {"Timeout", [](FakeServer& s) { s.wait_eof(); }, -ETIMEDOUT, "timed out"},
};

INSTANTIATE_TEST_SUITE_P(, ClientHandshakeFailureTest, ::testing::ValuesIn(kHandshakeFailures),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(ClientFakeServerTest, BadUriAndMissingSocket) {
  nbd::Client client;
  run_coroutine(loop_, [&] {
    EXPECT_EQ(client.connect("nbd://host/x"), -EINVAL);
    EXPECT_THAT(client.error_message(), HasSubstr("bad NBD URI"));
    EXPECT_EQ(client.connect("nbd+unix:///x?socket=/nonexistent/dir/s.sock"), -ENOENT);
    EXPECT_THAT(client.error_message(), HasSubstr("cannot connect to /nonexistent/dir/s.sock"));
  });
}

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
    corolib::CoEvent all_done;
    int left = kRequests;
    for (int i = 0; i < kRequests; ++i) {
      corolib::enter(corolib::create([&, i] {
        Bytes buf(sizes[i], std::byte{0xee});
        const int r = client.read(buf.data(), sizes[i], offsets[i]);
        completion_order.push_back(i);
        Bytes expected = pattern(offsets[i], offsets[i], sizes[i]);
        const std::uint32_t a = sizes[i] / 3, hole = sizes[i] / 4;
        std::fill(expected.begin() + a, expected.begin() + a + hole, std::byte{0});
        if (r == 0 && buf == expected) ++ok;
        if (--left == 0) all_done.set();
      }));
    }
    all_done.wait();
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
      corolib::CoEvent all_done;
      int left = kWorkers;
      for (int w = 0; w < kWorkers; ++w) {
        corolib::enter(corolib::create([&, w] {
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
          if (--left == 0) all_done.set();
        }));
      }
      all_done.wait();
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
    corolib::CoEvent all_done;
    int left = kRequests;
    for (int i = 0; i < kRequests; ++i) {
      corolib::enter(corolib::create([&] {
        if (client.flush() == 0) ++ok;
        max_seen = std::max(max_seen, client.in_flight());
        if (--left == 0) all_done.set();
      }));
    }
    all_done.wait();
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

// --- protocol violations ---------------------------------------------------------------------

struct Violation {
  const char* name;
  bool structured;
  // Sends the violation, given the four READ requests in flight.
  void (*send)(FakeServer&, const std::vector<nbd::Request>&);
  const char* message;
};

class ClientViolationTest : public ClientFakeServerTest,
                            public ::testing::WithParamInterface<Violation> {};

// Four reads are in flight when the server breaks the protocol: all four
// fail with -EIO, the client closes the connection, later requests get
// -ENOTCONN.
TEST_P(ClientViolationTest, FailsEveryRequestInFlightWithEioAndCloses) {
  const Violation& v = GetParam();
  FakeServer::Setup setup;
  setup.structured = v.structured;
  bool saw_eof = false;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::vector<nbd::Request> reqs;
    for (int i = 0; i < 4; ++i) reqs.push_back(s.read_request());
    v.send(s, reqs);
    saw_eof = s.wait_eof();
  });
  nbd::Client client;
  std::vector<int> results;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    corolib::CoEvent all_done;
    int left = 4;
    for (int i = 0; i < 4; ++i) {
      corolib::enter(corolib::create([&, i] {
        Bytes buf(4096);
        results.push_back(client.read(buf.data(), 4096, 4096u * i));
        if (--left == 0) all_done.set();
      }));
    }
    all_done.wait();
    EXPECT_FALSE(client.connected());
    Bytes buf(4096);
    EXPECT_EQ(client.read(buf.data(), 4096, 0), -ENOTCONN);
    EXPECT_EQ(client.disconnect(), -ENOTCONN);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(results, std::vector<int>(4, -EIO));
  EXPECT_THAT(client.error_message(), HasSubstr("protocol violation by the server"));
  EXPECT_THAT(client.error_message(), HasSubstr(v.message));
  EXPECT_TRUE(saw_eof);
}

Bytes bytes_of(std::initializer_list<int> v) {
  Bytes out;
  for (int b : v) out.push_back(static_cast<std::byte>(b));
  return out;
}

const Violation kViolations[] = {
    {"BadMagic", true,
     [](FakeServer& s, const std::vector<nbd::Request>&) {
       s.send(bytes_of({0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
     },
     "bad reply magic 0xdeadbeef"},
    {"UnknownCookieSimple", true,
     [](FakeServer& s, const std::vector<nbd::Request>&) { s.simple_reply(0x1234567); },
     "simple reply with unknown cookie 0x1234567"},
    {"UnknownCookieChunk", true,
     [](FakeServer& s, const std::vector<nbd::Request>&) { s.none(0x999); },
     "NBD_REPLY_TYPE_NONE chunk with unknown cookie 0x999"},
    {"DataOutsideTheRequest", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.offset_data(r[0].cookie, r[0].offset + 4000, Bytes(200), true);
     },
     "outside the READ"},
    {"DataBeforeTheRequest", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.offset_data(r[1].cookie, r[1].offset - 1, Bytes(10), true);
     },
     "outside the READ"},
    {"HoleOutsideTheRequest", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.offset_hole(r[2].cookie, r[2].offset, 8192, true);
     },
     "OFFSET_HOLE"},
    {"NoneWithPayload", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.raw_chunk(nbd::kReplyFlagDone, nbd::kReplyTypeNone, r[0].cookie, Bytes(4), 4);
     },
     "NONE chunk with a payload of 4 bytes"},
    {"NoneWithoutDone", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.raw_chunk(0, nbd::kReplyTypeNone, r[0].cookie, {}, 0);
     },
     "NONE chunk without the DONE flag"},
    {"HoleOfWrongLength", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.raw_chunk(nbd::kReplyFlagDone, nbd::kReplyTypeOffsetHole, r[0].cookie, Bytes(8), 8);
     },
     "OFFSET_HOLE chunk of length 8"},
    {"DataChunkTooShort", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.raw_chunk(nbd::kReplyFlagDone, nbd::kReplyTypeOffsetData, r[0].cookie, Bytes(8), 8);
     },
     "OFFSET_DATA chunk of length 8"},
    {"MalformedErrorChunk", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       // Message length 200 in a 6-byte payload.
       s.raw_chunk(nbd::kReplyFlagDone, nbd::kReplyTypeError, r[3].cookie,
                   bytes_of({0, 0, 0, 5, 0, 200}), 6);
     },
     "malformed ERROR chunk"},
    {"HugeErrorChunk", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.raw_chunk(nbd::kReplyFlagDone, nbd::kReplyTypeError, r[3].cookie, {}, 100u << 20);
     },
     "ERROR chunk of 104857600 bytes"},
    {"UnknownChunkType", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.raw_chunk(nbd::kReplyFlagDone, 77, r[0].cookie, {}, 0);
     },
     "unknown chunk type 77"},
    {"BlockStatusChunkToARead", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       const nbd::BlockDescriptor d[] = {{4096, 0}};
       s.block_status(r[0].cookie, 42, d, true);
     },
     "BLOCK_STATUS chunk in the reply to NBD_CMD_READ"},
    {"SimpleReplyAfterChunks", true,
     [](FakeServer& s, const std::vector<nbd::Request>& r) {
       s.offset_data(r[0].cookie, r[0].offset, Bytes(100), false);
       s.simple_reply(r[0].cookie);
     },
     "after structured chunks"},
    {"ChunkWithoutStructuredReplies", false,
     [](FakeServer& s, const std::vector<nbd::Request>& r) { s.none(r[0].cookie); },
     "structured replies were not negotiated"},
};

INSTANTIATE_TEST_SUITE_P(, ClientViolationTest, ::testing::ValuesIn(kViolations),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(ClientFakeServerTest, DuplicateReplyIsAnUnknownCookie) {
  FakeServer::Setup setup;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    nbd::Request a = s.read_request();
    nbd::Request b = s.read_request();
    s.simple_reply(a.cookie);
    s.simple_reply(a.cookie);  // again: the cookie is no longer live
    (void)b;
    s.wait_eof();
  });
  nbd::Client client;
  int ra = 1, rb = 1;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    corolib::CoEvent b_done;
    corolib::enter(corolib::create([&] {
      rb = client.flush();
      b_done.set();
    }));
    ra = client.flush();  // sent second, answered first
    b_done.wait();
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  // Requests are sent in the order they are made: the coroutine that was
  // entered first got the first cookie.
  EXPECT_EQ(rb, 0);
  EXPECT_EQ(ra, -EIO);
  EXPECT_THAT(client.error_message(), HasSubstr("unknown cookie"));
}

TEST_F(ClientFakeServerTest, BlockStatusForAnotherContextIsAViolation) {
  FakeServer::Setup setup;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    nbd::Request r = s.read_request();
    const nbd::BlockDescriptor d[] = {{4096, 0}};
    s.block_status(r.cookie, 7, d, true);
    s.wait_eof();
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    std::vector<nbd::Extent> extents;
    EXPECT_EQ(client.block_status(4096, 0, &extents), -EIO);
    EXPECT_THAT(client.error_message(), HasSubstr("context id 7"));
  });
  server.join();
}

// --- the connection going away -----------------------------------------------------------------

TEST_F(ClientFakeServerTest, ServerClosingMidFlightFailsEveryWaitingRequest) {
  FakeServer::Setup setup;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::vector<nbd::Request> reqs;
    for (int i = 0; i < 8; ++i) reqs.push_back(s.read_request());
    s.offset_hole(reqs[5].cookie, reqs[5].offset, 4096, true);
    s.offset_data(reqs[2].cookie, reqs[2].offset, pattern(0, reqs[2].offset, 4096), true);
    // Half a reply, then gone.
    s.offset_data(reqs[3].cookie, reqs[3].offset, Bytes(1000), false);
    s.close_now();
  });
  nbd::Client client;
  std::vector<int> results(8, 1);
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    corolib::CoEvent all_done;
    int left = 8;
    for (int i = 0; i < 8; ++i) {
      corolib::enter(corolib::create([&, i] {
        Bytes buf(4096);
        results[i] = client.read(buf.data(), 4096, 4096u * i);
        if (--left == 0) all_done.set();
      }));
    }
    all_done.wait();
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.flush(), -ENOTCONN);
    EXPECT_EQ(client.close(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(results[i], i == 2 || i == 5 ? 0 : -ECONNRESET) << i;
  }
  EXPECT_THAT(client.error_message(),
              HasSubstr("the server closed the connection with 6 request(s) in flight"));
}

TEST_F(ClientFakeServerTest, ServerClosingDuringALargeWriteFailsItAndTheQueue) {
  FakeServer::Setup setup;
  setup.size = 64u << 20;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::byte header[nbd::kRequestHeaderSize];
    s.recv(header, sizeof header);  // the write's header, not its 32 MiB
    Bytes some(65536);
    s.recv(some.data(), some.size());
    s.close_now();
  });
  nbd::Client client;
  int write_result = 1, flush_result = 1;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    corolib::CoEvent flush_done;
    const Bytes big(32u << 20, std::byte{1});
    corolib::enter(corolib::create([&] {
      corolib::co_sleep(20ms);  // queued behind the write
      flush_result = client.flush();
      flush_done.set();
    }));
    write_result = client.write(big.data(), big.size(), 0);
    flush_done.wait();
    EXPECT_EQ(client.close(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(write_result, -ECONNRESET);
  EXPECT_TRUE(flush_result == -ECONNRESET || flush_result == -ENOTCONN) << flush_result;
}

TEST_F(ClientFakeServerTest, DisconnectWaitsForRepliesThenSendsDisc) {
  FakeServer::Setup setup;
  bool quiet = false, got_disc = false, eof = false;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    std::vector<nbd::Request> reqs;
    for (int i = 0; i < 4; ++i) reqs.push_back(s.read_request());
    quiet = s.quiet_for(100ms);  // no DISC while replies are owed
    for (const auto& r : reqs) s.none(r.cookie);
    got_disc = s.read_request().type == nbd::kCmdDisc;
    eof = s.wait_eof();
  });
  nbd::Client client;
  std::vector<int> results;
  int late = 1;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    corolib::CoEvent all_done;
    int left = 4;
    for (int i = 0; i < 4; ++i) {
      corolib::enter(corolib::create([&] {
        results.push_back(client.flush());
        if (--left == 0) all_done.set();
      }));
    }
    // A request made while disconnecting is refused.
    corolib::enter(corolib::create([&] {
      corolib::co_sleep(10ms);
      late = client.flush();
    }));
    EXPECT_EQ(client.disconnect(), 0);
    all_done.wait();
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.flush(), -ENOTCONN);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(results, std::vector<int>(4, 0));
  EXPECT_EQ(late, -ENOTCONN);
  EXPECT_TRUE(quiet);
  EXPECT_TRUE(got_disc);
  EXPECT_TRUE(eof);
}

TEST_F(ClientFakeServerTest, CloseFailsRequestsInFlightWithEshutdown) {
  FakeServer::Setup setup;
  bool eof = false;
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    for (int i = 0; i < 3; ++i) s.read_request();
    eof = s.wait_eof();  // never replies
  });
  nbd::Client client;
  std::vector<int> results;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    corolib::CoEvent all_done;
    int left = 3;
    for (int i = 0; i < 3; ++i) {
      corolib::enter(corolib::create([&] {
        Bytes buf(4096);
        results.push_back(client.read(buf.data(), 4096, 0));
        if (--left == 0) all_done.set();
      }));
    }
    corolib::co_sleep(20ms);
    EXPECT_EQ(client.in_flight(), 3u);
    EXPECT_EQ(client.close(), 0);
    all_done.wait();
    EXPECT_EQ(client.close(), 0);  // twice is fine
  });
  server.join();
  EXPECT_EQ(server.error(), "");
  EXPECT_EQ(results, std::vector<int>(3, -ESHUTDOWN));
  EXPECT_THAT(client.error_message(), HasSubstr("closed by the client"));
  EXPECT_TRUE(eof);
}

TEST_F(ClientFakeServerTest, ReconnectAfterDisconnect) {
  FakeServer::Setup setup;
  auto script = [&](FakeServer& s) {
    s.handshake(setup);
    Bytes image = pattern(5, 0, setup.size);
    serve_memory(s, image, {});
  };
  FakeServer first(script), second(script);
  nbd::Client client;
  run_coroutine(loop_, [&] {
    for (FakeServer* s : {&first, &second}) {
      if (connect(client, *s) != 0) return;
      EXPECT_EQ(client.connect_fd(-1), -EISCONN);
      Bytes buf(512);
      EXPECT_EQ(client.read(buf.data(), 512, 512), 0);
      EXPECT_EQ(buf, pattern(5, 512, 512));
      EXPECT_EQ(client.disconnect(), 0);
    }
  });
  first.join();
  second.join();
  EXPECT_EQ(first.error(), "");
  EXPECT_EQ(second.error(), "");
}

// --- local checks -------------------------------------------------------------------------------

TEST_F(ClientFakeServerTest, StrictModeRefusesWhatTheServerDidNotOffer) {
  FakeServer::Setup setup;
  setup.size = 1u << 20;
  setup.flags = nbd::kFlagHasFlags | nbd::kFlagReadOnly | nbd::kFlagSendFlush;
  setup.block_size = {512, 4096, 65536};
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    // Only these reach the server.
    nbd::Request r = s.read_request();
    if (r.type != nbd::kCmdFlush) throw ScriptError("expected FLUSH");
    s.none(r.cookie);
    r = s.read_request();
    if (r.type != nbd::kCmdRead || r.offset != 512 || r.length != 1024) throw ScriptError("read");
    s.offset_hole(r.cookie, 512, 1024, true);
    if (s.read_request().type != nbd::kCmdDisc) throw ScriptError("expected DISC");
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes buf(1u << 17);
    EXPECT_EQ(client.write(buf.data(), 512, 0), -EPERM);
    EXPECT_EQ(client.trim(512, 0), -EPERM);
    EXPECT_EQ(client.write_zeroes(512, 0), -EPERM);
    EXPECT_EQ(client.cache(512, 0), -EOPNOTSUPP);
    EXPECT_EQ(client.read(buf.data(), 512, 0, nbd::kCmdFlagFua), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 512, 0, nbd::kCmdFlagDf), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 512, 0, 1u << 9), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 512, 100), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 1000, 0), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 1u << 17, 0), -EINVAL);  // over the maximum
    EXPECT_EQ(client.read(buf.data(), 1024, (1u << 20) - 512), -EINVAL);
    std::vector<nbd::Extent> extents;
    EXPECT_EQ(client.block_status(0, 0, &extents), -EINVAL);
    EXPECT_EQ(client.flush(nbd::kCmdFlagFua), -EINVAL);
    EXPECT_EQ(client.flush(), 0);
    EXPECT_EQ(client.read(buf.data(), 1024, 512), 0);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, StrictModeReportsEnospcPastTheEndForWrites) {
  FakeServer::Setup setup;
  setup.size = 1u << 20;
  setup.flags &= static_cast<std::uint16_t>(~nbd::kFlagSendFastZero);
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    if (s.read_request().type != nbd::kCmdDisc) throw ScriptError("expected DISC");
  });
  nbd::Client client;
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes buf(8192);
    EXPECT_EQ(client.write(buf.data(), 8192, (1u << 20) - 4096), -ENOSPC);
    EXPECT_EQ(client.write_zeroes(8192, 1u << 20), -ENOSPC);
    EXPECT_EQ(client.trim(8192, (1u << 20) - 4096), -EINVAL);
    EXPECT_EQ(client.read(buf.data(), 1, ~0ull), -EINVAL);
    EXPECT_EQ(client.write_zeroes(4096, 0, nbd::kCmdFlagFastZero), -EOPNOTSUPP);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, NonStrictModeSendsWhatItIsGiven) {
  FakeServer::Setup setup;
  setup.flags = nbd::kFlagHasFlags | nbd::kFlagReadOnly;
  setup.block_size = {512, 4096, 65536};
  FakeServer server([&](FakeServer& s) {
    s.handshake(setup);
    Bytes payload;
    nbd::Request r = s.read_request(&payload);
    if (r.type != nbd::kCmdWrite || payload.size() != 100) throw ScriptError("expected the write");
    s.error_chunk(r.cookie, nbd::kErrPerm, "read-only", true);
    r = s.read_request();
    if (r.type != nbd::kCmdRead || r.offset != 3) throw ScriptError("expected the read");
    s.error_chunk(r.cookie, nbd::kErrInval, "misaligned", true);
    r = s.read_request();
    if (r.type != nbd::kCmdTrim || r.flags != nbd::kCmdFlagFua) throw ScriptError("expected trim");
    s.simple_reply(r.cookie, nbd::kErrInval);
    s.read_request();  // DISC
  });
  nbd::ClientOptions options;
  options.strict = false;
  nbd::Client client(options);
  run_coroutine(loop_, [&] {
    if (connect(client, server) != 0) return;
    Bytes buf(100);
    EXPECT_EQ(client.write(buf.data(), 100, 0), -EPERM);
    EXPECT_EQ(client.read(buf.data(), 100, 3), -EINVAL);
    EXPECT_EQ(client.trim(100, 0, nbd::kCmdFlagFua), -EINVAL);
    EXPECT_EQ(client.disconnect(), 0);
  });
  server.join();
  EXPECT_EQ(server.error(), "");
}

TEST_F(ClientFakeServerTest, RequestsBeforeConnectingFail) {
  nbd::Client client;
  run_coroutine(loop_, [&] {
    Bytes buf(512);
    EXPECT_EQ(client.read(buf.data(), 512, 0), -ENOTCONN);
    EXPECT_EQ(client.write(buf.data(), 512, 0), -ENOTCONN);
    EXPECT_EQ(client.flush(), -ENOTCONN);
    EXPECT_EQ(client.disconnect(), -ENOTCONN);
    EXPECT_EQ(client.close(), 0);
    EXPECT_FALSE(client.connected());
    EXPECT_EQ(client.in_flight(), 0u);
  });
}

}  // namespace
}  // namespace nbd_client_test
