// The transmission phase over a raw socket: every command, the bad-request
// rules (exact errors, nothing written, the stream kept in sync or the
// connection dropped), and that one connection's trouble never reaches
// another.
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
using nbd::SessionResult;

Bytes pattern(std::size_t n, unsigned seed) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) {
    b[i] = static_cast<std::byte>((i * 131 + seed * 7 + (i >> 9)) | 1);
  }
  return b;
}

std::vector<unsigned char> as_uchar(const Bytes& b) {
  std::vector<unsigned char> v(b.size());
  std::memcpy(v.data(), b.data(), b.size());
  return v;
}

class TransmissionTest : public ::testing::TestWithParam<bool> {
 protected:
  bool structured() const { return GetParam(); }

  // A client negotiated on `name` (structured per the parameter).
  std::unique_ptr<RawClient> connect(std::string_view name = "disk", bool base_allocation = false,
                                     std::vector<std::uint16_t> infos = {nbd::kInfoBlockSize}) {
    auto c = std::make_unique<RawClient>(server_.socket_path());
    EXPECT_NE(c->negotiate(name, structured(), base_allocation && structured(), infos), 0);
    return c;
  }

  // Sends one request and returns its error (or ~0u if no reply came).
  static std::uint32_t error_of(RawClient& c, const Request& req, const Bytes& payload = {}) {
    c.send_request(req, payload);
    auto r = c.read_response();
    if (!r) return ~0u;
    EXPECT_EQ(r->cookie, req.cookie);
    return r->error;
  }

  static Bytes read(RawClient& c, std::uint64_t offset, std::uint32_t length,
                    std::uint16_t flags = 0) {
    c.set_read_offset(offset);
    c.send_request({flags, nbd::kCmdRead, 1000 + offset, offset, length});
    auto r = c.read_response(length);
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->error, 0u);
    return r->data;
  }

  static void write(RawClient& c, std::uint64_t offset, const Bytes& data, std::uint16_t flags = 0) {
    EXPECT_EQ(error_of(c, {flags, nbd::kCmdWrite, 2000 + offset, offset,
                           static_cast<std::uint32_t>(data.size())},
                       data),
              0u);
  }

  // Reads n replies to READs of data.size() bytes at offset 0, each data.
  static void expect_reads_of(RawClient& c, int n, const Bytes& data) {
    c.set_read_offset(0);
    for (int i = 0; i < n; ++i) {
      auto r = c.read_response(static_cast<std::uint32_t>(data.size()));
      ASSERT_TRUE(r);
      EXPECT_EQ(r->error, 0u);
      EXPECT_EQ(r->data, data);
    }
  }

  // Sends DISC on the first connection and returns how its session ended.
  SessionResult disconnect(RawClient& c) {
    c.send_request({0, nbd::kCmdDisc, 1, 0, 0});
    SessionResult result = server_.wait_result(0);
    EXPECT_EQ(result.end, SessionEnd::kDisconnect);
    return result;
  }

  // The connection still answers correctly.
  static void expect_usable(RawClient& c) {
    EXPECT_EQ(error_of(c, {0, nbd::kCmdFlush, 4242, 0, 0}), 0u);
  }

  TestExports exports_;
  // Holes are looked for in reads of 4 KiB and more (the default is 64 KiB).
  ServerThread server_{exports_.registry, nbd::ServerOptions{.sparse_read_min = 4096}};
};

INSTANTIATE_TEST_SUITE_P(, TransmissionTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Structured" : "Simple"; });

TEST_P(TransmissionTest, WriteReadFlushRoundTrip) {
  auto c = connect();
  const Bytes data = pattern(64 * 1024, 1);
  write(*c, 4096, data);
  EXPECT_EQ(read(*c, 4096, 64 * 1024), data);
  EXPECT_EQ(exports_.disk->contents(4096, data.size()), as_uchar(data));
  expect_usable(*c);
  // Unaligned offsets and lengths are fine on a byte-granular export.
  const Bytes odd = pattern(1001, 2);
  write(*c, 12345, odd);
  EXPECT_EQ(read(*c, 12345, 1001), odd);
}

TEST_P(TransmissionTest, FlagsReachTheDevice) {
  auto c = connect();
  write(*c, 0, pattern(4096, 3), nbd::kCmdFlagFua);
  EXPECT_EQ(exports_.disk->fua_writes.load(), 1u);

  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWriteZeroes, 1, 0, 8192}), 0u);
  EXPECT_EQ(exports_.disk->zeroes_may_unmap.load(), 1u);  // no NO_HOLE: may punch
  EXPECT_EQ(error_of(*c, {nbd::kCmdFlagNoHole, nbd::kCmdWriteZeroes, 2, 0, 8192}), 0u);
  EXPECT_EQ(exports_.disk->zeroes_may_unmap.load(), 1u);
  EXPECT_EQ(error_of(*c, {nbd::kCmdFlagFastZero, nbd::kCmdWriteZeroes, 3, 0, 8192}), 0u);
  EXPECT_EQ(exports_.disk->zeroes_fast.load(), 1u);
  EXPECT_EQ(exports_.disk->zeroes.load(), 3u);

  EXPECT_EQ(error_of(*c, {0, nbd::kCmdTrim, 4, 0, 4096}), 0u);
  EXPECT_EQ(exports_.disk->discards.load(), 1u);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdCache, 5, 0, 1 << 20}), 0u);
  EXPECT_EQ(exports_.disk->prefetches.load(), 1u);
  EXPECT_EQ(error_of(*c, {nbd::kCmdFlagFua, nbd::kCmdFlush, 6, 0, 0}), 0u);
  EXPECT_EQ(exports_.disk->flushes.load(), 1u);
}

TEST_P(TransmissionTest, ZeroLengthRequestsSucceedAndDoNothing) {
  auto c = connect();
  EXPECT_EQ(read(*c, 100, 0), Bytes{});
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWrite, 1, 100, 0}), 0u);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdTrim, 2, 100, 0}), 0u);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWriteZeroes, 3, 100, 0}), 0u);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdCache, 4, 100, 0}), 0u);
  EXPECT_EQ(exports_.disk->modifications(), 0u);
}

TEST_P(TransmissionTest, UnknownCommandsAndFlagsAreInvalid) {
  auto c = connect();
  EXPECT_EQ(error_of(*c, {0, 42, 1, 0, 0}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdResize, 2, 0, 0}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0x8000, nbd::kCmdRead, 3, 0, 512}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {nbd::kCmdFlagReqOne, nbd::kCmdRead, 4, 0, 512}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {nbd::kCmdFlagNoHole, nbd::kCmdTrim, 5, 0, 512}), nbd::kErrInval);
  // DF needs structured replies (SEND_DF is advertised only with them).
  if (structured()) {
    EXPECT_EQ(read(*c, 0, 512, nbd::kCmdFlagDf).size(), 512u);
  } else {
    EXPECT_EQ(error_of(*c, {nbd::kCmdFlagDf, nbd::kCmdRead, 6, 0, 512}), nbd::kErrInval);
  }
  // A rejected WRITE's payload is skipped: the stream stays in sync.
  EXPECT_EQ(error_of(*c, {nbd::kCmdFlagDf, nbd::kCmdWrite, 7, 0, 4096}, pattern(4096, 7)),
            nbd::kErrInval);
  expect_usable(*c);
  EXPECT_EQ(exports_.disk->writes.load(), 0u);
}

TEST_P(TransmissionTest, RangesPastTheEnd) {
  auto c = connect();
  const std::uint64_t size = 16u << 20;
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWrite, 1, size - 512, 1024}, pattern(1024, 1)),
            nbd::kErrNoSpc);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWriteZeroes, 2, size, 1}), nbd::kErrNoSpc);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdRead, 3, size - 1, 2}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdTrim, 4, size + 4096, 4096}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdCache, 5, size, 4096}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdRead, 6, ~std::uint64_t{0} - 100, 4096}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWrite, 7, ~std::uint64_t{0} - 100, 512}, pattern(512, 2)),
            nbd::kErrNoSpc);
  // The last byte is fine.
  write(*c, size - 1, pattern(1, 9));
  EXPECT_EQ(exports_.disk->writes.load(), 1u);  // nothing else reached the device
  EXPECT_EQ(exports_.disk->modifications(), 1u);
  expect_usable(*c);
}

TEST_P(TransmissionTest, ReadOnlyExportRefusesModifications) {
  auto c = connect("ro");
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWrite, 1, 0, 4096}, pattern(4096, 1)), nbd::kErrPerm);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdTrim, 2, 0, 4096}), nbd::kErrPerm);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWriteZeroes, 3, 0, 4096}), nbd::kErrPerm);
  // FUA is not advertised on a read-only export.
  EXPECT_EQ(error_of(*c, {nbd::kCmdFlagFua, nbd::kCmdRead, 4, 0, 4096}), nbd::kErrInval);
  EXPECT_EQ(exports_.ro->modifications(), 0u);
  read(*c, 0, 4096);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdFlush, 5, 0, 0}), 0u);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdCache, 6, 0, 4096}), 0u);
}

TEST_P(TransmissionTest, MisalignedRequestsWhenTheClientAgreedToTheBlockSize) {
  auto c = connect("aligned");
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdRead, 1, 100, 512}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdRead, 2, 512, 100}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWrite, 3, 512, 100}, pattern(100, 1)), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdTrim, 4, 1, 512}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWriteZeroes, 5, 0, 513}), nbd::kErrInval);
  EXPECT_EQ(exports_.aligned->modifications(), 0u);
  write(*c, 1024, pattern(512, 2));
  EXPECT_EQ(read(*c, 1024, 512), pattern(512, 2));

  // A client that did not ask for block sizes is not held to them.
  auto lax = connect("aligned", false, {});
  write(*lax, 7, pattern(3, 3));
  EXPECT_EQ(read(*lax, 7, 3), pattern(3, 3));
}

TEST_P(TransmissionTest, OversizedWriteIsRejectedAndItsPayloadDrained) {
  auto c = connect();
  const std::uint32_t too_long = nbd::kMaxRequestPayload + 4096;
  c->send_request({0, nbd::kCmdWrite, 1, 0, too_long});
  ASSERT_TRUE(c->send_filler(too_long));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->cookie, 1u);
  EXPECT_EQ(r->error, nbd::kErrInval);
  expect_usable(*c);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdRead, 2, 0, too_long}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdCache, 3, 0, too_long}), nbd::kErrInval);
  // TRIM and WRITE_ZEROES are not capped by the maximum block size.
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWriteZeroes, 4, 0, 16u << 20}), 0u);
  EXPECT_EQ(exports_.disk->writes.load(), 0u);
}

TEST_P(TransmissionTest, UndrainablePayloadDisconnectsOnlyThatConnection) {
  auto victim = connect();
  auto bystander = connect();
  const Bytes acked = pattern(8192, 4);
  write(*victim, 0, acked);  // acknowledged before the bad request
  victim->send_request({0, nbd::kCmdWrite, 9, 0, 0xfff00000u});
  EXPECT_TRUE(victim->closed_by_server());

  write(*bystander, 8192, pattern(4096, 5));
  EXPECT_EQ(read(*bystander, 0, 8192), acked);
  EXPECT_EQ(exports_.disk->contents(0, acked.size()), as_uchar(acked));

  auto results = server_.wait_results(1);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].end, SessionEnd::kPayloadTooLarge);
  // New connections still work.
  auto late = connect();
  expect_usable(*late);
}

TEST_P(TransmissionTest, BadRequestMagicDisconnectsOnlyThatConnection) {
  auto victim = connect();
  auto bystander = connect();
  write(*victim, 0, pattern(4096, 6));
  Bytes junk(nbd::kRequestHeaderSize, std::byte{0x33});
  victim->send(junk);
  EXPECT_TRUE(victim->closed_by_server());
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kBadMagic);
  EXPECT_EQ(read(*bystander, 0, 4096), pattern(4096, 6));
}

TEST_P(TransmissionTest, DeviceErrorsAreMapped) {
  auto c = connect();
  write(*c, 0, pattern(4096, 1));  // data, not a hole: a structured read must read it
  exports_.disk->inject_errno.store(EIO);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdRead, 1, 0, 4096}), nbd::kErrIo);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWrite, 2, 0, 4096}, pattern(4096, 1)), nbd::kErrIo);
  exports_.disk->inject_errno.store(ENOSPC);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWriteZeroes, 3, 0, 4096}), nbd::kErrNoSpc);
  exports_.disk->inject_errno.store(EDQUOT);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdFlush, 4, 0, 0}), nbd::kErrNoSpc);
  exports_.disk->inject_errno.store(0);
  expect_usable(*c);
}

TEST_P(TransmissionTest, ShutdownAnswersNewRequestsWithEshutdown) {
  auto c = connect();
  server_.server().request_shutdown();
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdRead, 1, 0, 4096}), nbd::kErrShutdown);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdWrite, 2, 0, 4096}, pattern(4096, 1)), nbd::kErrShutdown);
  EXPECT_EQ(exports_.disk->writes.load(), 0u);
  c->send_request({0, nbd::kCmdDisc, 3, 0, 0});
  EXPECT_TRUE(c->closed_by_server());
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kDisconnect);
}

TEST_P(TransmissionTest, BlockStatusNeedsAContext) {
  auto c = connect();
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdBlockStatus, 1, 0, 4096}), nbd::kErrInval);
  expect_usable(*c);
}

TEST_P(TransmissionTest, CountersAreReported) {
  auto c = connect();
  write(*c, 0, pattern(4096, 1));
  read(*c, 0, 4096);
  EXPECT_EQ(error_of(*c, {0, 99, 1, 0, 0}), nbd::kErrInval);
  // Requests of a connection still open count already.
  EXPECT_EQ(server_.server().stats().requests, 3u);
  const SessionResult r = disconnect(*c);
  EXPECT_EQ(r.counters.requests, 4u);
  EXPECT_EQ(r.counters.reads, 1u);
  EXPECT_EQ(r.counters.writes, 1u);
  EXPECT_EQ(r.counters.errors, 1u);
  EXPECT_EQ(r.counters.bytes_read, 4096u);
  EXPECT_EQ(r.counters.bytes_written, 4096u);
  auto stats = server_.server().stats();
  EXPECT_EQ(stats.requests, 4u);
  EXPECT_EQ(stats.bytes_written, 4096u);
}

// Requests sent in one burst are taken in by few recvs and answered by few
// sendmsgs (the old path made one of each per request).
TEST_P(TransmissionTest, PipelinedRequestsShareRecvsAndSendmsgs) {
  constexpr int kRequests = 32;
  auto c = connect();
  const Bytes data = pattern(4096, 5);
  write(*c, 0, data);
  std::vector<Request> burst;
  for (int i = 0; i < kRequests; ++i) burst.push_back({0, nbd::kCmdRead, 100u + i, 0, 4096});
  ASSERT_TRUE(c->send_burst(burst));
  expect_reads_of(*c, kRequests, data);
  const SessionResult result = disconnect(*c);
  // The write, the burst and DISC: a handful of calls for 34 requests.
  EXPECT_LE(result.counters.recv_calls, 6u);
  EXPECT_LE(result.counters.sendmsg_calls, 8u);
  EXPECT_GE(result.counters.sendmsg_calls, 2u);
}

// With a receive delay, requests sent one by one while the connection waits
// come in with one recv and are all answered (without it, the server takes
// each as it arrives).
TEST_P(TransmissionTest, ReceiveDelayBatchesRequestsSentApart) {
  constexpr int kRequests = 8;
  server_.server().set_receive_delay(std::chrono::milliseconds(200));
  EXPECT_EQ(server_.server().receive_delay(), std::chrono::milliseconds(200));
  auto c = connect();
  const Bytes data = pattern(4096, 9);
  write(*c, 0, data);
  for (int i = 0; i < kRequests; ++i) {
    c->send_request({0, nbd::kCmdRead, 200u + i, 0, 4096});
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  expect_reads_of(*c, kRequests, data);
  const SessionResult result = disconnect(*c);
  EXPECT_EQ(result.counters.reads, static_cast<std::uint64_t>(kRequests));
  EXPECT_GE(result.counters.recv_delays, 2u);
  // The write, the eight reads together, DISC.
  EXPECT_LE(result.counters.recv_calls, 5u);
}

// WRITE payloads below and above the direct-receive threshold, sent back to
// back: each lands whole where it belongs and the stream stays in step.
TEST_P(TransmissionTest, PipelinedWritesOfMixedSizesStayInStep) {
  auto c = connect();
  const std::uint32_t sizes[] = {1, 512, 4096, 16383, 16384, 70000, 3, 131072, 4096, 9};
  Bytes burst;
  std::vector<std::pair<std::uint64_t, Bytes>> written;
  std::uint64_t offset = 0;
  unsigned seed = 10;
  for (std::uint32_t n : sizes) {
    Bytes data = pattern(n, seed++);
    std::byte h[nbd::kRequestHeaderSize];
    ASSERT_TRUE(nbd::encode_request(h, {0, nbd::kCmdWrite, offset, offset, n}));
    burst.insert(burst.end(), h, h + sizeof h);
    burst.insert(burst.end(), data.begin(), data.end());
    written.emplace_back(offset, std::move(data));
    offset += n + 1000;
  }
  ASSERT_TRUE(c->send(burst));
  for (std::size_t i = 0; i < written.size(); ++i) {
    auto r = c->read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, 0u);
  }
  for (const auto& [at, data] : written) {
    EXPECT_EQ(read(*c, at, static_cast<std::uint32_t>(data.size())), data) << "at " << at;
  }
  expect_usable(*c);
}

// --- structured only: block status and sparse reads ---------------------------

class StructuredTest : public TransmissionTest {};
INSTANTIATE_TEST_SUITE_P(, StructuredTest, ::testing::Values(true),
                         [](const auto&) { return "Structured"; });

TEST_P(StructuredTest, BlockStatusDescribesHolesAndData) {
  auto c = connect("disk", true);
  // [0, 8K) data, [8K, 64K) hole, [64K, 68K) data, rest hole.
  write(*c, 0, pattern(8192, 1));
  write(*c, 65536, pattern(4096, 2));
  c->send_request({0, nbd::kCmdBlockStatus, 1, 0, 1 << 20});
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, 0u);
  EXPECT_EQ(r->context_id, 1u);
  const std::uint32_t hole = nbd::kStateHole | nbd::kStateZero;
  EXPECT_EQ(r->descriptors, (std::vector<nbd::BlockDescriptor>{
                                {8192, 0}, {57344, hole}, {4096, 0}, {(1 << 20) - 69632, hole}}));

  c->send_request({nbd::kCmdFlagReqOne, nbd::kCmdBlockStatus, 2, 4096, 1 << 20});
  r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->descriptors, (std::vector<nbd::BlockDescriptor>{{4096, 0}}));

  EXPECT_EQ(error_of(*c, {0, nbd::kCmdBlockStatus, 3, 0, 0}), nbd::kErrInval);
  EXPECT_EQ(error_of(*c, {0, nbd::kCmdBlockStatus, 4, 16u << 20, 1}), nbd::kErrInval);
}

TEST_P(StructuredTest, ReadsSendHolesUnlessDfIsSet) {
  auto c = connect();
  const Bytes a = pattern(4096, 1), b = pattern(4096, 2);
  write(*c, 4096, a);
  write(*c, 12288, b);
  Bytes want(20480, std::byte{0});
  std::memcpy(want.data() + 4096, a.data(), 4096);
  std::memcpy(want.data() + 12288, b.data(), 4096);

  c->set_read_offset(0);
  c->send_request({0, nbd::kCmdRead, 1, 0, 20480});
  auto r = c->read_response(20480);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, want);
  EXPECT_EQ(r->chunk_types,
            (std::vector<std::uint16_t>{nbd::kReplyTypeOffsetHole, nbd::kReplyTypeOffsetData,
                                        nbd::kReplyTypeOffsetHole, nbd::kReplyTypeOffsetData,
                                        nbd::kReplyTypeOffsetHole}));

  c->send_request({nbd::kCmdFlagDf, nbd::kCmdRead, 2, 0, 20480});
  r = c->read_response(20480);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, want);
  EXPECT_EQ(r->chunk_types, (std::vector<std::uint16_t>{nbd::kReplyTypeOffsetData}));

  // Reads shorter than ServerOptions::sparse_read_min are sent as data.
  c->set_read_offset(8192);
  c->send_request({0, nbd::kCmdRead, 4, 8192, 2048});
  r = c->read_response(2048);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, Bytes(2048, std::byte{0}));
  EXPECT_EQ(r->chunk_types, (std::vector<std::uint16_t>{nbd::kReplyTypeOffsetData}));

  // A wholly unallocated range is one hole chunk.
  c->set_read_offset(1 << 20);
  c->send_request({0, nbd::kCmdRead, 3, 1 << 20, 65536});
  r = c->read_response(65536);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->data, Bytes(65536, std::byte{0}));
  EXPECT_EQ(r->chunk_types, (std::vector<std::uint16_t>{nbd::kReplyTypeOffsetHole}));
}

// Structured reads of a range with holes, finished together: each reply's
// chunks arrive back to back, never mixed with another reply's.
TEST_P(StructuredTest, ChunksOfConcurrentRepliesAreNeverInterleaved) {
  constexpr std::uint64_t kReads = 16;
  auto c = connect();
  write(*c, 4096, pattern(4096, 1));
  write(*c, 12288, pattern(4096, 2));
  exports_.disk->delay_us.store(2000);  // the reads overlap and finish close together
  std::vector<Request> burst;
  for (std::uint64_t i = 0; i < kReads; ++i) burst.push_back({0, nbd::kCmdRead, 500 + i, 0, 20480});
  ASSERT_TRUE(c->send_burst(burst));
  std::set<std::uint64_t> done;
  std::uint64_t current = 0;  // the reply whose chunks are arriving, 0: none
  int chunks = 0;
  while (done.size() < kReads) {
    auto h = c->recv(nbd::kChunkHeaderSize);
    ASSERT_TRUE(h);
    auto header = nbd::decode_chunk_header(*h);
    ASSERT_TRUE(header) << header.message();
    ASSERT_TRUE(c->recv(header->length));
    ++chunks;
    if (current == 0) {
      EXPECT_EQ(done.count(header->cookie), 0u) << "chunk after the last one";
      current = header->cookie;
    }
    ASSERT_EQ(header->cookie, current) << "chunks of two replies interleaved";
    if (header->flags & nbd::kReplyFlagDone) {
      done.insert(current);
      current = 0;
    }
  }
  exports_.disk->delay_us.store(0);
  // hole, data, hole, data, hole: five chunks each.
  EXPECT_EQ(chunks, static_cast<int>(kReads) * 5);
  expect_usable(*c);
}

TEST_P(StructuredTest, ErrorChunksCarryAMessage) {
  auto c = connect("ro");
  c->send_request({0, nbd::kCmdWrite, 1, 0, 512}, pattern(512, 1));
  auto r = c->read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, nbd::kErrPerm);
  EXPECT_EQ(r->message, "export is read-only");
  EXPECT_EQ(r->chunk_types, (std::vector<std::uint16_t>{nbd::kReplyTypeError}));
}

}  // namespace
}  // namespace nbd_test
