// The fixed newstyle handshake, driven byte by byte over a raw socket:
// every option, every malformed option, and the ways a negotiation ends.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "raw_client.hpp"
#include "server_thread.hpp"
#include "test_exports.hpp"

namespace nbd_test {
namespace {

using nbd::SessionEnd;

class HandshakeTest : public ::testing::Test {
 protected:
  TestExports exports_;
  ServerThread server_{exports_.registry};

  // Reads replies to GO/INFO into a map of info type -> decoded reply.
  struct InfoReplies {
    std::vector<nbd::OptionReply> infos;
    std::vector<RawClient::Reply> raw;
    std::uint32_t final_type = 0;
    const nbd::OptionReply* find(std::uint16_t type) const {
      for (const auto& i : infos) {
        if (i.info_type == type) return &i;
      }
      return nullptr;
    }
  };
  static InfoReplies read_info(RawClient& c) {
    InfoReplies out;
    out.raw = c.read_replies();
    for (const auto& r : out.raw) {
      if (r.header.type == nbd::kRepInfo) out.infos.push_back(r.decoded());
    }
    if (!out.raw.empty()) out.final_type = out.raw.back().header.type;
    return out;
  }
};

TEST_F(HandshakeTest, GreetingOffersFixedNewstyleAndNoZeroes) {
  RawClient c(server_.socket_path());
  auto g = c.recv(nbd::kServerGreetingSize);
  ASSERT_TRUE(g);
  EXPECT_EQ(nbd::load_be64(g->data()), nbd::kNbdMagic);
  EXPECT_EQ(nbd::load_be64(g->data() + 8), nbd::kIHaveOpt);
  EXPECT_EQ(nbd::load_be16(g->data() + 16), nbd::kFlagFixedNewstyle | nbd::kFlagNoZeroes);
}

TEST_F(HandshakeTest, UnknownClientFlagsDisconnect) {
  RawClient c(server_.socket_path());
  c.greet(nbd::kFlagCFixedNewstyle | (1u << 7));
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kBadClientFlags);
}

TEST_F(HandshakeTest, ListNamesEveryExportWithItsDescription) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_option(nbd::kOptList, {});
  auto replies = c.read_replies();
  ASSERT_EQ(replies.size(), 4u);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(replies[i].header.type, nbd::kRepServer);
    auto d = replies[i].decoded();
    names.emplace_back(d.name);
    if (d.name == "disk") {
      EXPECT_EQ(d.text, TestExports::kDescription);
    }
  }
  EXPECT_EQ(names, (std::vector<std::string>{"disk", "ro", "aligned"}));
  EXPECT_EQ(replies[3].header.type, nbd::kRepAck);
}

TEST_F(HandshakeTest, ListWithDataIsInvalid) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_option(nbd::kOptList, bytes_of("x"));
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);
  // Negotiation continues.
  c.send_option(nbd::kOptList, {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
}

TEST_F(HandshakeTest, UnknownOptionsStartTlsAndExtendedHeadersAreUnsupported) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_option(0x4242, bytes_of("some data the server skips"));
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrUnsup);
  c.send_option(nbd::kOptStartTls, {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrUnsup);
  c.send_option(nbd::kOptExtendedHeaders, {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrUnsup);
  c.send_option(nbd::kOptPeekExport, {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrUnsup);
  // ... and negotiation goes on to a working transmission phase.
  c.send_info_go(nbd::kOptGo, "disk");
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
}

TEST_F(HandshakeTest, InfoReportsSizeFlagsNameDescriptionAndBlockSize) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_info_go(nbd::kOptInfo, "disk",
                 {nbd::kInfoName, nbd::kInfoDescription, nbd::kInfoBlockSize, 0x7777});
  InfoReplies r = read_info(c);
  EXPECT_EQ(r.final_type, nbd::kRepAck);
  ASSERT_NE(r.find(nbd::kInfoExport), nullptr);
  EXPECT_EQ(r.find(nbd::kInfoExport)->export_info.size, 16u << 20);
  const std::uint16_t flags = r.find(nbd::kInfoExport)->export_info.transmission_flags;
  EXPECT_EQ(flags, nbd::kFlagHasFlags | nbd::kFlagSendFlush | nbd::kFlagSendFua |
                       nbd::kFlagSendTrim | nbd::kFlagSendWriteZeroes | nbd::kFlagSendFastZero |
                       nbd::kFlagCanMultiConn | nbd::kFlagSendCache);  // no DF: not structured
  ASSERT_NE(r.find(nbd::kInfoName), nullptr);
  EXPECT_EQ(r.find(nbd::kInfoName)->text, "disk");
  ASSERT_NE(r.find(nbd::kInfoDescription), nullptr);
  EXPECT_EQ(r.find(nbd::kInfoDescription)->text, TestExports::kDescription);
  ASSERT_NE(r.find(nbd::kInfoBlockSize), nullptr);
  EXPECT_EQ(r.find(nbd::kInfoBlockSize)->block_size, (nbd::BlockSize{1, 4096, 32u << 20}));
  EXPECT_EQ(r.infos.size(), 4u);  // the unknown request is ignored

  // INFO does not end negotiation; GO on the read-only export does.
  c.send_option(nbd::kOptStructuredReply, {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
  c.send_info_go(nbd::kOptGo, "ro");
  r = read_info(c);
  EXPECT_EQ(r.final_type, nbd::kRepAck);
  ASSERT_NE(r.find(nbd::kInfoExport), nullptr);
  EXPECT_EQ(r.find(nbd::kInfoExport)->export_info.transmission_flags,
            nbd::kFlagHasFlags | nbd::kFlagReadOnly | nbd::kFlagSendDf | nbd::kFlagCanMultiConn |
                nbd::kFlagSendCache);
  EXPECT_EQ(r.find(nbd::kInfoName), nullptr);         // not requested
  EXPECT_NE(r.find(nbd::kInfoBlockSize), nullptr);    // always sent
}

TEST_F(HandshakeTest, AlignedExportAdvertisesItsMinimum) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_info_go(nbd::kOptInfo, "aligned", {nbd::kInfoBlockSize});
  InfoReplies r = read_info(c);
  ASSERT_NE(r.find(nbd::kInfoBlockSize), nullptr);
  EXPECT_EQ(r.find(nbd::kInfoBlockSize)->block_size, (nbd::BlockSize{512, 4096, 32u << 20}));
}

TEST_F(HandshakeTest, EmptyNameSelectsTheDefaultExport) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_info_go(nbd::kOptInfo, "", {nbd::kInfoName});
  InfoReplies r = read_info(c);
  ASSERT_NE(r.find(nbd::kInfoName), nullptr);
  EXPECT_EQ(r.find(nbd::kInfoName)->text, "disk");
}

TEST_F(HandshakeTest, UnknownExportGetsErrUnknownAndNegotiationContinues) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_info_go(nbd::kOptInfo, "nope");
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrUnknown);
  c.send_info_go(nbd::kOptGo, "nope");
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrUnknown);
  c.send_info_go(nbd::kOptGo, "disk");
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
}

TEST_F(HandshakeTest, InconsistentLengthsAreInvalid) {
  RawClient c(server_.socket_path());
  c.greet();
  // GO: name length 100 in 10 bytes of data.
  Bytes overrun(10, std::byte{0});
  nbd::store_be32(overrun.data(), 100);
  c.send_option(nbd::kOptGo, overrun);
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);
  // GO: "disk", 2 info requests announced, 1 present.
  Bytes count_mismatch(4 + 4 + 2 + 2);
  nbd::store_be32(count_mismatch.data(), 4);
  std::memcpy(count_mismatch.data() + 4, "disk", 4);
  nbd::store_be16(count_mismatch.data() + 8, 2);
  nbd::store_be16(count_mismatch.data() + 10, nbd::kInfoName);
  c.send_option(nbd::kOptGo, count_mismatch);
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);
  // GO shorter than its fixed part.
  c.send_option(nbd::kOptInfo, bytes_of("abc"));
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);
  // STRUCTURED_REPLY with data.
  c.send_option(nbd::kOptStructuredReply, bytes_of("x"));
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);
  // Still negotiating.
  c.send_info_go(nbd::kOptGo, "disk");
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
}

TEST_F(HandshakeTest, OverlongStringsAreInvalid) {
  RawClient c(server_.socket_path());
  c.greet();
  const std::string long_name(nbd::kMaxStringLength + 1, 'n');
  // Built by hand: the encoder refuses over-long names.
  Bytes go(4 + long_name.size() + 2);
  nbd::store_be32(go.data(), static_cast<std::uint32_t>(long_name.size()));
  std::memcpy(go.data() + 4, long_name.data(), long_name.size());
  nbd::store_be16(go.data() + 4 + long_name.size(), 0);
  c.send_option(nbd::kOptGo, go);
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);

  c.send_option(nbd::kOptStructuredReply, {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
  Bytes meta(4 + 4 + 4 + long_name.size());
  nbd::store_be32(meta.data(), 0);  // empty export name
  nbd::store_be32(meta.data() + 4, 1);
  nbd::store_be32(meta.data() + 8, static_cast<std::uint32_t>(long_name.size()));
  std::memcpy(meta.data() + 12, long_name.data(), long_name.size());
  c.send_option(nbd::kOptListMetaContext, meta);
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);

  c.send_info_go(nbd::kOptGo, "disk");
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
}

TEST_F(HandshakeTest, OptionDataOverTheLimitIsSkippedAndRefused) {
  RawClient c(server_.socket_path());
  c.greet();
  const Bytes huge(nbd::kMaxOptionLength + 1000, std::byte{1});
  c.send_option(nbd::kOptGo, huge);
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrTooBig);
  c.send_option(0x999, huge);
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrUnsup);
  c.send_info_go(nbd::kOptGo, "disk");
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
}

TEST_F(HandshakeTest, ExportNameStartsTransmissionWithOrWithoutZeroes) {
  for (bool no_zeroes : {true, false}) {
    RawClient c(server_.socket_path());
    c.greet(nbd::kFlagCFixedNewstyle | (no_zeroes ? nbd::kFlagCNoZeroes : 0));
    c.send_option(nbd::kOptExportName, bytes_of("disk"));
    auto reply = c.recv(no_zeroes ? nbd::kExportNameReplyShortSize : nbd::kExportNameReplySize);
    ASSERT_TRUE(reply);
    auto info = nbd::decode_export_name_reply(*reply, no_zeroes);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->size, 16u << 20);
    EXPECT_TRUE(info->transmission_flags & nbd::kFlagSendFlush);
    // Transmission works right away (simple replies).
    c.send_request({0, nbd::kCmdRead, 77, 0, 512});
    auto r = c.read_response(512);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->cookie, 77u);
    EXPECT_EQ(r->error, 0u);
    c.send_request({0, nbd::kCmdDisc, 78, 0, 0});
    EXPECT_TRUE(c.closed_by_server());
  }
  auto results = server_.wait_results(2);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) {
    EXPECT_EQ(r.end, SessionEnd::kDisconnect);
    EXPECT_TRUE(r.negotiated);
    EXPECT_TRUE(r.info.export_name_option);
    EXPECT_EQ(r.info.export_name, "disk");
  }
}

TEST_F(HandshakeTest, ExportNameOfAnUnknownExportDisconnects) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_option(nbd::kOptExportName, bytes_of("nope"));
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kUnknownExport);
}

TEST_F(HandshakeTest, AbortIsAcknowledgedThenTheServerCloses) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_option(nbd::kOptAbort, {});
  auto r = c.read_reply();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header.type, nbd::kRepAck);
  EXPECT_EQ(r->header.option, nbd::kOptAbort);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kAbort);
}

TEST_F(HandshakeTest, BadOptionMagicDisconnects) {
  RawClient c(server_.socket_path());
  c.greet();
  Bytes bogus(nbd::kOptionHeaderSize, std::byte{0x41});
  c.send(bogus);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kBadMagic);
}

TEST_F(HandshakeTest, ClientClosingDuringNegotiationEndsTheSession) {
  {
    RawClient c(server_.socket_path());
    c.greet();
    c.send_option_header(nbd::kOptGo, 100);  // promises data, then hangs up
  }
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kClientClosed);
}

TEST_F(HandshakeTest, MetaContextsNeedStructuredReplies) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_meta_context(nbd::kOptListMetaContext, "disk", {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);
  c.send_meta_context(nbd::kOptSetMetaContext, "disk", {"base:allocation"});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);
}

TEST_F(HandshakeTest, ListAndSetMetaContext) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_option(nbd::kOptStructuredReply, {});
  ASSERT_EQ(c.final_reply_type(), nbd::kRepAck);

  auto expect_contexts = [&](std::vector<std::string> want, std::uint32_t want_id) {
    auto replies = c.read_replies();
    ASSERT_FALSE(replies.empty());
    EXPECT_EQ(replies.back().header.type, nbd::kRepAck);
    std::vector<std::string> got;
    for (std::size_t i = 0; i + 1 < replies.size(); ++i) {
      ASSERT_EQ(replies[i].header.type, nbd::kRepMetaContext);
      auto d = replies[i].decoded();
      got.emplace_back(d.name);
      EXPECT_EQ(d.context_id, want_id);
    }
    EXPECT_EQ(got, want);
  };

  c.send_meta_context(nbd::kOptListMetaContext, "disk", {});
  expect_contexts({"base:allocation"}, 0);
  c.send_meta_context(nbd::kOptListMetaContext, "disk", {"base:"});
  expect_contexts({"base:allocation"}, 0);
  c.send_meta_context(nbd::kOptListMetaContext, "", {"qemu:dirty-bitmap:x", "base:nothing"});
  expect_contexts({}, 0);
  c.send_meta_context(nbd::kOptListMetaContext, "disk", {"no-namespace"});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrInvalid);
  c.send_meta_context(nbd::kOptListMetaContext, "nope", {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrUnknown);

  c.send_meta_context(nbd::kOptSetMetaContext, "disk", {"qemu:dirty-bitmap:x"});
  expect_contexts({}, 0);
  c.send_meta_context(nbd::kOptSetMetaContext, "disk", {"base:allocation", "base:allocation"});
  expect_contexts({"base:allocation"}, 1);

  c.send_info_go(nbd::kOptGo, "disk");
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
  c.send_request({0, nbd::kCmdDisc, 1, 0, 0});
  auto result = server_.wait_result(0);
  EXPECT_TRUE(result.info.base_allocation);
  EXPECT_TRUE(result.info.structured_replies);
}

TEST_F(HandshakeTest, ContextSetForAnotherExportIsNotSelected) {
  RawClient c(server_.socket_path());
  c.greet();
  c.send_option(nbd::kOptStructuredReply, {});
  ASSERT_EQ(c.final_reply_type(), nbd::kRepAck);
  c.send_meta_context(nbd::kOptSetMetaContext, "ro", {"base:allocation"});
  ASSERT_EQ(c.final_reply_type(), nbd::kRepAck);
  c.send_info_go(nbd::kOptGo, "disk");
  ASSERT_EQ(c.final_reply_type(), nbd::kRepAck);
  c.set_structured(true);
  c.send_request({0, nbd::kCmdBlockStatus, 1, 0, 4096});
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, nbd::kErrInval);
  c.send_request({0, nbd::kCmdDisc, 2, 0, 0});
  EXPECT_FALSE(server_.wait_result(0).info.base_allocation);
}

class HandshakeTimeoutTest : public ::testing::Test {
 protected:
  TestExports exports_;
  ServerThread server_{exports_.registry,
                       nbd::ServerOptions{.handshake_timeout = std::chrono::milliseconds(1000)}};
};

TEST_F(HandshakeTimeoutTest, StalledClientsAreDropped) {
  const auto start = std::chrono::steady_clock::now();
  RawClient silent(server_.socket_path());  // never sends its flags
  ASSERT_TRUE(silent.recv(nbd::kServerGreetingSize));
  RawClient slow(server_.socket_path());
  slow.greet();
  slow.send_option_header(nbd::kOptGo, 50);  // and never the data
  EXPECT_TRUE(silent.closed_by_server());
  EXPECT_TRUE(slow.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  auto results = server_.wait_results(2);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].end, SessionEnd::kHandshakeTimeout);
  EXPECT_EQ(results[1].end, SessionEnd::kHandshakeTimeout);
}

TEST_F(HandshakeTimeoutTest, TheTimeoutEndsWithNegotiation) {
  RawClient c(server_.socket_path());
  c.negotiate("disk");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  c.send_request({0, nbd::kCmdFlush, 5, 0, 0});
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, 0u);
}

TEST_F(HandshakeTest, RefusedConnectionsGetPolicyErrors) {
  server_.refuse.store(true);
  RawClient c(server_.socket_path());
  c.greet();
  c.send_info_go(nbd::kOptGo, "disk");
  auto replies = c.read_replies();
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].header.type, nbd::kRepErrPolicy);
  c.send_option(nbd::kOptAbort, {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepAck);
  EXPECT_TRUE(c.closed_by_server());
  EXPECT_EQ(server_.wait_result(0).end, SessionEnd::kAbort);
}

TEST_F(HandshakeTest, OptionsDuringShutdownGetErrShutdown) {
  server_.server().request_shutdown();
  RawClient c(server_.socket_path());
  c.greet();
  c.send_option(nbd::kOptList, {});
  EXPECT_EQ(c.final_reply_type(), nbd::kRepErrShutdown);
  c.send_option(nbd::kOptExportName, bytes_of("disk"));
  EXPECT_TRUE(c.closed_by_server());
}

}  // namespace
}  // namespace nbd_test

namespace nbd_test {
namespace {

// Random bytes at every stage — instead of the client flags, among options,
// in transmission — end only the connection that sent them.
TEST_F(HandshakeTest, GarbageEndsOnlyItsOwnConnection) {
  std::uint64_t seed = 0x9e3779b97f4a7c15ull;
  auto next = [&seed] {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return seed;
  };
  RawClient good(server_.socket_path());
  ASSERT_NE(good.negotiate("disk"), 0);
  for (int i = 0; i < 60; ++i) {
    RawClient c(server_.socket_path());
    const int stage = i % 3;
    if (stage >= 1) c.greet();
    if (stage == 2) {
      c.send_option(nbd::kOptStructuredReply, {});
      c.read_replies();
    }
    Bytes junk(1 + next() % 600);
    for (auto& b : junk) b = static_cast<std::byte>(next());
    if (stage == 2 && i % 2 == 0) {
      // A plausible option header with random contents after it.
      nbd::store_be64(junk.data(), nbd::kIHaveOpt);
      if (junk.size() < 16) junk.resize(16);
      nbd::store_be32(junk.data() + 12, static_cast<std::uint32_t>(junk.size() - 16));
    }
    c.send(junk);
  }
  // The well-behaved client was never disturbed.
  for (std::uint64_t i = 0; i < 10; ++i) {
    Bytes data(4096, static_cast<std::byte>(i + 1));
    good.send_request({0, nbd::kCmdWrite, i, i * 4096, 4096}, data);
    auto r = good.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->error, 0u);
  }
  EXPECT_EQ(exports_.disk->contents(9 * 4096, 1)[0], 10);
}

TEST_F(HandshakeTest, GarbageInTransmissionEndsOnlyItsOwnConnection) {
  RawClient good(server_.socket_path());
  ASSERT_NE(good.negotiate("disk"), 0);
  std::uint64_t seed = 12345;
  for (int i = 0; i < 30; ++i) {
    RawClient c(server_.socket_path());
    ASSERT_NE(c.negotiate("disk", i % 2 == 0), 0);
    Bytes junk(1 + (seed = seed * 6364136223846793005ull + 1442695040888963407ull) % 300);
    for (auto& b : junk) {
      b = static_cast<std::byte>((seed = seed * 6364136223846793005ull + 1) >> 56);
    }
    if (i % 3 == 0) nbd::store_be32(junk.data(), nbd::kRequestMagic);  // a header that parses
    if (junk.size() < 28) junk.resize(28);
    c.send(junk);
  }
  good.send_request({0, nbd::kCmdFlush, 1, 0, 0});
  auto r = good.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->error, 0u);
}

}  // namespace
}  // namespace nbd_test
