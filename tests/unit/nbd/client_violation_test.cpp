// nbd::Client against a server that breaks the protocol (FakeServer): each
// violation fails every request in flight with -EIO, closes the
// connection, and names what the server did.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "client_fake_server_fixture.hpp"
#include "client_test_util.hpp"
#include "nbd/client/client.hpp"

namespace nbd_client_test {
namespace {

using ::testing::HasSubstr;

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
    CoroutineGroup readers;
    readers.enter_n(4, [&](int i) {
      Bytes buf(4096);
      results.push_back(client.read(buf.data(), 4096, 4096u * i));
    });
    readers.wait();
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
    CoroutineGroup b;
    b.enter([&] { rb = client.flush(); });
    ra = client.flush();  // sent second, answered first
    b.wait();
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

}  // namespace
}  // namespace nbd_client_test
