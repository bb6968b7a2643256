// nbd::Client's handshake against a scripted server (FakeServer): GO with
// structured replies and a meta context, the fallbacks (EXPORT_NAME, a
// non-fixed-newstyle server, refused structured replies), and each way a
// handshake fails, with its errno and message.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

using ::testing::HasSubstr;
using namespace std::chrono_literals;

// The server's side of a handshake up to the client's first option,
// NBD_OPT_STRUCTURED_REPLY.
void until_structured_reply(FakeServer& s) {
  s.greet();
  s.client_flags();
  s.expect_option(nbd::kOptStructuredReply);
}

// ... and on, accepting structured replies and the meta context, up to the
// client's NBD_OPT_GO.
void until_go(FakeServer& s) {
  until_structured_reply(s);
  s.rep_ack(nbd::kOptStructuredReply);
  s.expect_option(nbd::kOptSetMetaContext);
  s.rep_ack(nbd::kOptSetMetaContext);
  s.expect_option(nbd::kOptGo);
}

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
    until_structured_reply(s);
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
  until_go(s);
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
    {"ClosedDuringHandshake", until_structured_reply, -ECONNRESET, "closed the connection"},
    {"ReplyToTheWrongOption",
     [](FakeServer& s) {
       until_structured_reply(s);
       s.rep_ack(nbd::kOptGo);
       s.wait_eof();
     },
     -EPROTO, "answered NBD_OPT_GO while NBD_OPT_STRUCTURED_REPLY was pending"},
    {"GoWithoutInfoExport",
     [](FakeServer& s) {
       until_go(s);
       s.rep_ack(nbd::kOptGo);
       s.wait_eof();
     },
     -EPROTO, "without NBD_INFO_EXPORT"},
    {"MalformedInfo",
     [](FakeServer& s) {
       until_go(s);
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

}  // namespace
}  // namespace nbd_client_test
