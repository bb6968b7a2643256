// Fixed-newstyle handshake messages: byte-exact layouts from the spec, round
// trips, and every malformed input.
#include "nbd/handshake_wire.hpp"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <string>

#include "wire_test_util.hpp"

namespace nbd {
namespace {

using test::Bytes;
using test::cat;
using test::encode_error;
using test::encoded;
using test::first;
using test::hex;
using test::text;
using test::u16;
using test::u32;

// --- Greeting and client flags ------------------------------------------------------

TEST(HandshakeWireTest, GreetingLayout) {
  const Bytes b = encoded(
      [](auto out) { return encode_server_greeting(out, kFlagFixedNewstyle | kFlagNoZeroes); });
  EXPECT_EQ(b, hex("4e42444d41474943 49484156454f5054 0003"));
  EXPECT_EQ(b.size(), kServerGreetingSize);
  auto flags = decode_server_greeting(b);
  ASSERT_TRUE(flags.ok()) << flags.message();
  EXPECT_EQ(*flags, kFlagFixedNewstyle | kFlagNoZeroes);
}

TEST(HandshakeWireTest, GreetingMalformed) {
  const Bytes good = hex("4e42444d41474943 49484156454f5054 0001");
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(decode_server_greeting(first(good, n)).error(), WireError::kTruncated) << n;
  }
  for (std::size_t i = 0; i < 16; ++i) {
    Bytes bad = good;
    bad[i] ^= std::byte{0x20};
    EXPECT_EQ(decode_server_greeting(bad).error(), WireError::kBadMagic) << "byte " << i;
  }
  // Oldstyle: NBDMAGIC then cliserv_magic, size, flags, zeroes.
  const Bytes oldstyle = cat({hex("4e42444d41474943 0000420281861253"), Bytes(8 + 4 + 124)});
  EXPECT_EQ(decode_server_greeting(oldstyle).error(), WireError::kOldstyle);
  // Unknown handshake flags are the client's business, not an error.
  auto flags = decode_server_greeting(hex("4e42444d41474943 49484156454f5054 ffff"));
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(*flags, 0xffff);
}

TEST(HandshakeWireTest, ClientFlags) {
  EXPECT_EQ(encoded([](auto out) {
              return encode_client_flags(out, kFlagCFixedNewstyle | kFlagCNoZeroes);
            }),
            hex("00000003"));
  auto f = decode_client_flags(hex("00000001"));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, kFlagCFixedNewstyle);
  for (std::size_t n = 0; n < 4; ++n) {
    EXPECT_EQ(decode_client_flags(first(hex("00000001"), n)).error(), WireError::kTruncated);
  }
}

TEST(HandshakeWireTest, CheckClientFlags) {
  const std::uint16_t both = kFlagFixedNewstyle | kFlagNoZeroes;
  EXPECT_EQ(check_client_flags(0, both), WireError::kOk);
  EXPECT_EQ(check_client_flags(kFlagCFixedNewstyle, both), WireError::kOk);
  EXPECT_EQ(check_client_flags(kFlagCFixedNewstyle | kFlagCNoZeroes, both), WireError::kOk);
  // Unknown flags.
  EXPECT_EQ(check_client_flags(1u << 2, both), WireError::kBadFlags);
  EXPECT_EQ(check_client_flags(0x80000000u | kFlagCFixedNewstyle, both), WireError::kBadFlags);
  // Flags the server did not advertise.
  EXPECT_EQ(check_client_flags(kFlagCNoZeroes, kFlagFixedNewstyle), WireError::kBadFlags);
  EXPECT_EQ(check_client_flags(kFlagCFixedNewstyle, 0), WireError::kBadFlags);
}

// --- Option requests ---------------------------------------------------------------

TEST(HandshakeWireTest, OptionHeaderLayout) {
  const Bytes b = encoded([](auto out) { return encode_option_header(out, {kOptGo, 0x1234}); });
  EXPECT_EQ(b, hex("49484156454f5054 00000007 00001234"));
  auto h = decode_option_header(b);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, (OptionHeader{kOptGo, 0x1234}));
}

TEST(HandshakeWireTest, OptionHeaderMalformed) {
  const Bytes good = hex("49484156454f5054 00000003 00000000");
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(decode_option_header(first(good, n)).error(), WireError::kTruncated) << n;
  }
  for (std::size_t i = 0; i < 8; ++i) {
    Bytes bad = good;
    bad[i] ^= std::byte{0x01};
    EXPECT_EQ(decode_option_header(bad).error(), WireError::kBadMagic) << i;
  }
  // The length is not limited by the decoder.
  auto h = decode_option_header(hex("49484156454f5054 ffffffff ffffffff"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->option, 0xffffffffu);
  EXPECT_EQ(h->length, 0xffffffffu);
}

TEST(HandshakeWireTest, OptionWithoutData) {
  EXPECT_EQ(encoded([](auto out) { return encode_option(out, kOptStructuredReply, {}); }),
            hex("49484156454f5054 00000008 00000000"));
  EXPECT_EQ(encoded([](auto out) { return encode_option(out, kOptAbort, {}); }),
            hex("49484156454f5054 00000002 00000000"));
  const Bytes data = hex("010203");
  EXPECT_EQ(encoded([&](auto out) { return encode_option(out, 0x99, data); }),
            hex("49484156454f5054 00000099 00000003 010203"));
}

TEST(HandshakeWireTest, ExportNameOption) {
  const Bytes b = encoded([](auto out) { return encode_opt_export_name(out, "disk"); });
  EXPECT_EQ(b, cat({hex("49484156454f5054 00000001 00000004"), text("disk")}));
  auto name = parse_export_name(std::span(b).subspan(kOptionHeaderSize));
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(*name, "disk");
  // The empty name selects the default export.
  auto empty = parse_export_name({});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST(HandshakeWireTest, ExportNameLimits) {
  const std::string max(kMaxStringLength, 'n');
  const std::string over(kMaxStringLength + 1, 'n');
  EXPECT_TRUE(parse_export_name(text(max)).ok());
  EXPECT_EQ(parse_export_name(text(over)).error(), WireError::kStringTooLong);
  EXPECT_EQ(parse_export_name(cat({text("a"), hex("00"), text("b")})).error(),
            WireError::kStringHasNul);
  EXPECT_EQ(encode_error([&](auto out) { return encode_opt_export_name(out, max); }),
            WireError::kOk);
  EXPECT_EQ(encode_error([&](auto out) { return encode_opt_export_name(out, over); }),
            WireError::kStringTooLong);
  EXPECT_EQ(encode_error(
                [](auto out) { return encode_opt_export_name(out, std::string_view("a\0b", 3)); }),
            WireError::kStringHasNul);
}

TEST(HandshakeWireTest, InfoGoLayout) {
  const std::uint16_t infos[] = {kInfoBlockSize, kInfoName};
  const Bytes b = encoded([&](auto out) { return encode_opt_info_go(out, kOptGo, "disk", infos); });
  // length = 4 (name length) + 4 (name) + 2 (count) + 2 x 2 (infos) = 14
  EXPECT_EQ(b, cat({hex("49484156454f5054 00000007 0000000e"), hex("00000004"), text("disk"),
                    hex("0002 0003 0001")}));
  auto h = decode_option_header(b);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->length, 14u);
  auto req = parse_info_go(std::span(b).subspan(kOptionHeaderSize));
  ASSERT_TRUE(req.ok()) << req.message();
  EXPECT_EQ(req->name, "disk");
  ASSERT_EQ(req->infos.size(), 2u);
  EXPECT_EQ(req->infos[0], kInfoBlockSize);
  EXPECT_EQ(req->infos[1], kInfoName);
  EXPECT_TRUE(req->infos.contains(kInfoName));
  EXPECT_FALSE(req->infos.contains(kInfoExport));
}

TEST(HandshakeWireTest, InfoGoEmpty) {
  const Bytes b = encoded([](auto out) { return encode_opt_info_go(out, kOptInfo, "", {}); });
  EXPECT_EQ(b, hex("49484156454f5054 00000006 00000006 00000000 0000"));
  auto req = parse_info_go(std::span(b).subspan(kOptionHeaderSize));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->name, "");
  EXPECT_TRUE(req->infos.empty());
}

TEST(HandshakeWireTest, InfoGoUnknownInfoRequestsAreKept) {
  // The server must ignore requests it does not understand: not an error.
  const Bytes data = hex("00000000 0003 0000 1234 ffff");
  auto req = parse_info_go(data);
  ASSERT_TRUE(req.ok());
  ASSERT_EQ(req->infos.size(), 3u);
  EXPECT_EQ(req->infos[2], 0xffff);
}

TEST(HandshakeWireTest, InfoGoMaxCount) {
  std::vector<std::uint16_t> infos(0xffff, kInfoExport);
  const Bytes b = encoded([&](auto out) { return encode_opt_info_go(out, kOptGo, "x", infos); });
  auto req = parse_info_go(std::span(b).subspan(kOptionHeaderSize));
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->infos.size(), 0xffffu);
  infos.push_back(kInfoName);
  EXPECT_EQ(encode_error([&](auto out) { return encode_opt_info_go(out, kOptGo, "x", infos); }),
            WireError::kTooLarge);
}

TEST(HandshakeWireTest, InfoGoMalformed) {
  // Shorter than name length + count.
  for (std::size_t n = 0; n < 6; ++n) {
    EXPECT_EQ(parse_info_go(Bytes(n)).error(), WireError::kBadLength) << n;
  }
  // Name length pointing past the payload (by one byte, and far).
  EXPECT_EQ(parse_info_go(cat({hex("00000005"), text("disk"), hex("0000")})).error(),
            WireError::kNameOverrun);
  EXPECT_EQ(parse_info_go(cat({hex("ffffffff"), text("disk"), hex("0000")})).error(),
            WireError::kNameOverrun);
  EXPECT_EQ(parse_info_go(cat({hex("00000001"), hex("00")})).error(), WireError::kBadLength);
  // Name length one short: the count is read from the wrong place.
  EXPECT_EQ(parse_info_go(cat({hex("00000003"), text("disk"), hex("0000")})).error(),
            WireError::kInfoCountMismatch);
  // Count larger than the list.
  EXPECT_EQ(parse_info_go(cat({hex("00000004"), text("disk"), hex("0003 0001 0002")})).error(),
            WireError::kInfoCountMismatch);
  // Count smaller than the list (trailing data).
  EXPECT_EQ(parse_info_go(cat({hex("00000004"), text("disk"), hex("0001 0001 0002")})).error(),
            WireError::kInfoCountMismatch);
  // A stray odd byte.
  EXPECT_EQ(parse_info_go(cat({hex("00000004"), text("disk"), hex("0001 0001 00")})).error(),
            WireError::kInfoCountMismatch);
  EXPECT_EQ(parse_info_go(cat({hex("00000000 0000 00")})).error(), WireError::kInfoCountMismatch);
  // Over-long name inside a consistent payload.
  const std::string over(kMaxStringLength + 1, 'n');
  EXPECT_EQ(
      parse_info_go(cat({u32(static_cast<std::uint32_t>(over.size())), text(over), hex("0000")}))
          .error(),
      WireError::kStringTooLong);
  // NUL in the name.
  EXPECT_EQ(parse_info_go(cat({hex("00000003 610062"), hex("0000")})).error(),
            WireError::kStringHasNul);
}

TEST(HandshakeWireTest, InfoGoEveryTruncationFails) {
  const std::uint16_t infos[] = {kInfoExport, kInfoBlockSize, kInfoDescription};
  const Bytes b =
      encoded([&](auto out) { return encode_opt_info_go(out, kOptGo, "export-1", infos); });
  const Bytes data(b.begin() + kOptionHeaderSize, b.end());
  ASSERT_TRUE(parse_info_go(data).ok());
  for (std::size_t n = 0; n < data.size(); ++n) {
    auto r = parse_info_go(first(data, n));
    EXPECT_FALSE(r.ok()) << "prefix " << n;
    EXPECT_NE(r.error(),
              WireError::kTruncated);  // option data is whole: the lengths are what's wrong
  }
  // And extension by one byte.
  Bytes longer = data;
  longer.push_back(std::byte{0});
  EXPECT_EQ(parse_info_go(longer).error(), WireError::kInfoCountMismatch);
}

TEST(HandshakeWireTest, MetaContextLayout) {
  const std::string_view queries[] = {"base:allocation"};
  const Bytes b = encoded(
      [&](auto out) { return encode_opt_meta_context(out, kOptSetMetaContext, "disk", queries); });
  // length = 4 + 4 + 4 + (4 + 15) = 31
  EXPECT_EQ(b, cat({hex("49484156454f5054 0000000a 0000001f"), hex("00000004"), text("disk"),
                    hex("00000001"), hex("0000000f"), text("base:allocation")}));
  auto req = parse_meta_context(std::span(b).subspan(kOptionHeaderSize));
  ASSERT_TRUE(req.ok()) << req.message();
  EXPECT_EQ(req->name, "disk");
  ASSERT_EQ(req->queries.size(), 1u);
  EXPECT_EQ(*req->queries.begin(), "base:allocation");
}

TEST(HandshakeWireTest, MetaContextRoundTripManyQueries) {
  const std::string long_query = "x-test:" + std::string(kMaxStringLength - 7, 'q');
  const std::string_view queries[] = {"base:", "", "base:allocation", "qemu:dirty-bitmap:b0",
                                      long_query};
  const Bytes b = encoded(
      [&](auto out) { return encode_opt_meta_context(out, kOptListMetaContext, "", queries); });
  auto req = parse_meta_context(std::span(b).subspan(kOptionHeaderSize));
  ASSERT_TRUE(req.ok()) << req.message();
  EXPECT_EQ(req->name, "");
  ASSERT_EQ(req->queries.size(), std::size(queries));
  std::size_t i = 0;
  for (std::string_view q : req->queries) {
    ASSERT_LT(i, std::size(queries));
    EXPECT_EQ(q, queries[i]) << i;
    ++i;
  }
  EXPECT_EQ(i, std::size(queries));
}

TEST(HandshakeWireTest, MetaContextNoQueries) {
  const Bytes data = hex("00000000 00000000");
  auto req = parse_meta_context(data);
  ASSERT_TRUE(req.ok());
  EXPECT_TRUE(req->queries.empty());
  EXPECT_EQ(req->queries.begin(), req->queries.end());
}

TEST(HandshakeWireTest, MetaContextMalformed) {
  for (std::size_t n = 0; n < 8; ++n) {
    EXPECT_EQ(parse_meta_context(Bytes(n)).error(), WireError::kBadLength) << n;
  }
  // Name length past the payload.
  EXPECT_EQ(parse_meta_context(cat({hex("00000005"), text("disk"), hex("00000000")})).error(),
            WireError::kNameOverrun);
  EXPECT_EQ(parse_meta_context(cat({hex("ffffffff"), text("disk"), hex("00000000")})).error(),
            WireError::kNameOverrun);
  // Query length past the payload.
  EXPECT_EQ(
      parse_meta_context(cat({hex("00000000 00000001 00000010"), text("base:allocation")})).error(),
      WireError::kQueryOverrun);
  EXPECT_EQ(parse_meta_context(cat({hex("00000000 00000001 ffffffff"), text("base:")})).error(),
            WireError::kQueryOverrun);
  // More queries announced than present.
  EXPECT_EQ(parse_meta_context(cat({hex("00000000 00000002 00000005"), text("base:")})).error(),
            WireError::kQueryCountMismatch);
  EXPECT_EQ(parse_meta_context(cat({hex("00000000 ffffffff 00000005"), text("base:")})).error(),
            WireError::kQueryCountMismatch);
  // ... where the remainder is too short for the next query's length.
  EXPECT_EQ(
      parse_meta_context(cat({hex("00000000 00000002 00000005"), text("base:"), hex("000000")}))
          .error(),
      WireError::kQueryCountMismatch);
  // Fewer queries announced than present (trailing bytes).
  EXPECT_EQ(parse_meta_context(cat({hex("00000000 00000000 00000005"), text("base:")})).error(),
            WireError::kQueryCountMismatch);
  EXPECT_EQ(parse_meta_context(cat({hex("00000000 00000001 00000005"), text("base:"), hex("00")}))
                .error(),
            WireError::kQueryCountMismatch);
  // Over-long and NUL-bearing strings.
  const std::string over(kMaxStringLength + 1, 'q');
  EXPECT_EQ(parse_meta_context(cat({hex("00000000 00000001"),
                                    u32(static_cast<std::uint32_t>(over.size())), text(over)}))
                .error(),
            WireError::kStringTooLong);
  EXPECT_EQ(parse_meta_context(
                cat({u32(static_cast<std::uint32_t>(over.size())), text(over), hex("00000000")}))
                .error(),
            WireError::kStringTooLong);
  EXPECT_EQ(parse_meta_context(cat({hex("00000000 00000001 00000003 610062")})).error(),
            WireError::kStringHasNul);
  EXPECT_EQ(parse_meta_context(cat({hex("00000001 00 00000000")})).error(),
            WireError::kStringHasNul);
}

TEST(HandshakeWireTest, MetaContextEveryTruncationFails) {
  const std::string_view queries[] = {"base:allocation", "base:"};
  const Bytes b = encoded(
      [&](auto out) { return encode_opt_meta_context(out, kOptSetMetaContext, "disk", queries); });
  const Bytes data(b.begin() + kOptionHeaderSize, b.end());
  ASSERT_TRUE(parse_meta_context(data).ok());
  for (std::size_t n = 0; n < data.size(); ++n) {
    EXPECT_FALSE(parse_meta_context(first(data, n)).ok()) << "prefix " << n;
  }
}

TEST(HandshakeWireTest, MetaContextEncodeRefusesBadStrings) {
  const std::string over(kMaxStringLength + 1, 'q');
  const std::string_view bad_query[] = {over};
  const std::string_view nul_query[] = {std::string_view("a:\0", 3)};
  EXPECT_EQ(encode_error([&](auto out) {
              return encode_opt_meta_context(out, kOptSetMetaContext, "", bad_query);
            }),
            WireError::kStringTooLong);
  EXPECT_EQ(encode_error([&](auto out) {
              return encode_opt_meta_context(out, kOptSetMetaContext, over, {});
            }),
            WireError::kStringTooLong);
  EXPECT_EQ(encode_error([&](auto out) {
              return encode_opt_meta_context(out, kOptSetMetaContext, "", nul_query);
            }),
            WireError::kStringHasNul);
}

TEST(HandshakeWireTest, SplitMetaContext) {
  auto a = split_meta_context("base:allocation");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->ns, "base");
  EXPECT_EQ(a->leaf, "allocation");
  auto wildcard = split_meta_context("base:");
  ASSERT_TRUE(wildcard.ok());
  EXPECT_EQ(wildcard->ns, "base");
  EXPECT_EQ(wildcard->leaf, "");
  auto nested = split_meta_context("qemu:dirty-bitmap:b");
  ASSERT_TRUE(nested.ok());
  EXPECT_EQ(nested->ns, "qemu");
  EXPECT_EQ(nested->leaf, "dirty-bitmap:b");
  EXPECT_EQ(split_meta_context("allocation").error(), WireError::kBadMetaContext);
  EXPECT_EQ(split_meta_context(":allocation").error(), WireError::kBadMetaContext);
  EXPECT_EQ(split_meta_context("").error(), WireError::kBadMetaContext);
}

TEST(HandshakeWireTest, OptionErrorReply) {
  EXPECT_EQ(option_error_reply(WireError::kNameOverrun), kRepErrInvalid);
  EXPECT_EQ(option_error_reply(WireError::kStringTooLong), kRepErrInvalid);
  EXPECT_EQ(option_error_reply(WireError::kTooLarge), kRepErrTooBig);
}

// --- Option replies -------------------------------------------------------------------

// Decodes a whole reply (header + data) produced by an encoder.
WireResult<OptionReply> decode_whole(const Bytes& b) {
  auto h = decode_option_reply_header(b);
  if (!h) return h.error();
  return decode_option_reply(*h, std::span(b).subspan(kOptionReplyHeaderSize));
}

TEST(HandshakeWireTest, ReplyHeaderLayout) {
  const Bytes b = encoded([](auto out) { return encode_rep_ack(out, kOptGo); });
  EXPECT_EQ(b, hex("0003e889045565a9 00000007 00000001 00000000"));
  auto h = decode_option_reply_header(b);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(*h, (OptionReplyHeader{kOptGo, kRepAck, 0}));
  EXPECT_EQ(encoded([](auto out) {
              return encode_option_reply_header(out, {kOptList, kRepServer, 0x0a0b0c0d});
            }),
            hex("0003e889045565a9 00000003 00000002 0a0b0c0d"));
  auto rep = decode_whole(b);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->header.type, kRepAck);
}

TEST(HandshakeWireTest, ReplyHeaderMalformed) {
  const Bytes good = hex("0003e889045565a9 00000007 00000001 00000000");
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(decode_option_reply_header(first(good, n)).error(), WireError::kTruncated) << n;
  }
  for (std::size_t i = 0; i < 8; ++i) {
    Bytes bad = good;
    bad[i] ^= std::byte{0x80};
    EXPECT_EQ(decode_option_reply_header(bad).error(), WireError::kBadMagic) << i;
  }
}

TEST(HandshakeWireTest, RepServerLayout) {
  const Bytes b = encoded([](auto out) { return encode_rep_server(out, kOptList, "a", "bc"); });
  EXPECT_EQ(
      b, cat({hex("0003e889045565a9 00000003 00000002 00000007 00000001"), text("a"), text("bc")}));
  auto rep = decode_whole(b);
  ASSERT_TRUE(rep.ok()) << rep.message();
  EXPECT_EQ(rep->name, "a");
  EXPECT_EQ(rep->text, "bc");
  const Bytes no_desc_bytes =
      encoded([](auto out) { return encode_rep_server(out, kOptList, "disk"); });
  auto no_desc = decode_whole(no_desc_bytes);
  ASSERT_TRUE(no_desc.ok());
  EXPECT_EQ(no_desc->name, "disk");
  EXPECT_EQ(no_desc->text, "");
}

TEST(HandshakeWireTest, RepInfoExportLayout) {
  const Bytes b = encoded([](auto out) {
    return encode_rep_info_export(
        out, kOptGo, {0x0000000140000000, kFlagHasFlags | kFlagSendFlush | kFlagSendFua});
  });
  EXPECT_EQ(b, hex("0003e889045565a9 00000007 00000003 0000000c  0000 0000000140000000 000d"));
  auto rep = decode_whole(b);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->info_type, kInfoExport);
  EXPECT_EQ(rep->export_info, (ExportInfo{0x140000000, 0x000d}));
}

TEST(HandshakeWireTest, RepInfoNameAndDescription) {
  const Bytes name = encoded([](auto out) { return encode_rep_info_name(out, kOptInfo, "disk"); });
  EXPECT_EQ(name, cat({hex("0003e889045565a9 00000006 00000003 00000006 0001"), text("disk")}));
  auto rep = decode_whole(name);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->info_type, kInfoName);
  EXPECT_EQ(rep->text, "disk");

  const Bytes desc =
      encoded([](auto out) { return encode_rep_info_description(out, kOptGo, "a raw file"); });
  EXPECT_EQ(desc,
            cat({hex("0003e889045565a9 00000007 00000003 0000000c 0002"), text("a raw file")}));
  rep = decode_whole(desc);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->info_type, kInfoDescription);
  EXPECT_EQ(rep->text, "a raw file");

  // Empty name (length exactly 2) is fine.
  const Bytes empty_name =
      encoded([](auto out) { return encode_rep_info_name(out, kOptInfo, ""); });
  rep = decode_whole(empty_name);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->text, "");
}

TEST(HandshakeWireTest, RepInfoBlockSizeLayout) {
  const Bytes b = encoded([](auto out) {
    return encode_rep_info_block_size(out, kOptGo, {512, 4096, 1u << 25});
  });
  EXPECT_EQ(b, hex("0003e889045565a9 00000007 00000003 0000000e 0003 00000200 00001000 02000000"));
  auto rep = decode_whole(b);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->info_type, kInfoBlockSize);
  EXPECT_EQ(rep->block_size, (BlockSize{512, 4096, 1u << 25}));
}

TEST(HandshakeWireTest, CheckBlockSize) {
  EXPECT_EQ(check_block_size({}), WireError::kOk);  // the spec's defaults
  EXPECT_EQ(check_block_size({1, 512, 1}), WireError::kOk);
  EXPECT_EQ(check_block_size({4096, 4096, 0xffffffff}), WireError::kOk);
  EXPECT_EQ(check_block_size({65536, 65536, 65536 * 3}), WireError::kOk);
  EXPECT_EQ(check_block_size({512, 1u << 20, 1000 * 512}),
            WireError::kOk);  // max need not be a power of 2
  EXPECT_EQ(check_block_size({0, 4096, 4096}), WireError::kBadBlockSize);  // min 0
  EXPECT_EQ(check_block_size({3, 4096, 4096}), WireError::kBadBlockSize);  // min not power of 2
  EXPECT_EQ(check_block_size({131072, 131072, 131072}), WireError::kBadBlockSize);  // min > 64 KiB
  EXPECT_EQ(check_block_size({512, 256, 4096}), WireError::kBadBlockSize);    // preferred < 512
  EXPECT_EQ(check_block_size({4096, 2048, 4096}), WireError::kBadBlockSize);  // preferred < min
  EXPECT_EQ(check_block_size({512, 3000, 4096}),
            WireError::kBadBlockSize);  // preferred not power of 2
  EXPECT_EQ(check_block_size({512, 4096, 1000}),
            WireError::kBadBlockSize);                                    // max not multiple of min
  EXPECT_EQ(check_block_size({512, 4096, 0}), WireError::kBadBlockSize);  // max 0
  EXPECT_EQ(encode_error([](auto out) {
              return encode_rep_info_block_size(out, kOptGo, {3, 4096, 4096});
            }),
            WireError::kBadBlockSize);
}

TEST(HandshakeWireTest, RepMetaContextLayout) {
  const Bytes b = encoded([](auto out) {
    return encode_rep_meta_context(out, kOptSetMetaContext, 7, "base:allocation");
  });
  EXPECT_EQ(b, cat({hex("0003e889045565a9 0000000a 00000004 00000013 00000007"),
                    text("base:allocation")}));
  auto rep = decode_whole(b);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->context_id, 7u);
  EXPECT_EQ(rep->name, "base:allocation");
}

TEST(HandshakeWireTest, RepErrorLayout) {
  const Bytes b =
      encoded([](auto out) { return encode_rep_error(out, kOptStartTls, kRepErrUnsup, "no TLS"); });
  EXPECT_EQ(b, cat({hex("0003e889045565a9 00000005 80000001 00000006"), text("no TLS")}));
  auto rep = decode_whole(b);
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ(rep->header.type, kRepErrUnsup);
  EXPECT_EQ(rep->text, "no TLS");
  EXPECT_EQ(encoded([](auto out) { return encode_rep_error(out, 0x42, kRepErrUnsup); }),
            hex("0003e889045565a9 00000042 80000001 00000000"));
  EXPECT_EQ(encode_error([](auto out) { return encode_rep_error(out, kOptGo, kRepAck, "x"); }),
            WireError::kBadType);
  EXPECT_EQ(encode_error([](auto out) {
              return encode_rep_error(out, kOptGo, kRepErrInvalid,
                                      std::string(kMaxStringLength + 1, 'm'));
            }),
            WireError::kStringTooLong);
  // Unknown error types decode (the client treats them as failure).
  const Bytes unknown_error = cat({hex("0003e889045565a9 00000007 80000063 00000002"), text("hm")});
  auto unknown = decode_whole(unknown_error);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->text, "hm");
}

TEST(HandshakeWireTest, RepEncodersRefuseLongStrings) {
  const std::string over(kMaxStringLength + 1, 's');
  EXPECT_EQ(encode_error([&](auto out) { return encode_rep_server(out, kOptList, over); }),
            WireError::kStringTooLong);
  EXPECT_EQ(encode_error([&](auto out) { return encode_rep_server(out, kOptList, "a", over); }),
            WireError::kStringTooLong);
  EXPECT_EQ(encode_error([&](auto out) { return encode_rep_info_name(out, kOptGo, over); }),
            WireError::kStringTooLong);
  EXPECT_EQ(encode_error([&](auto out) { return encode_rep_info_description(out, kOptGo, over); }),
            WireError::kStringTooLong);
  EXPECT_EQ(encode_error([&](auto out) { return encode_rep_meta_context(out, kOptGo, 1, over); }),
            WireError::kStringTooLong);
}

OptionReplyHeader hdr(std::uint32_t type, std::size_t length) {
  return {kOptGo, type, static_cast<std::uint32_t>(length)};
}

TEST(HandshakeWireTest, DecodeOptionReplyMalformed) {
  // Data must be exactly the announced length.
  EXPECT_EQ(decode_option_reply(hdr(kRepAck, 1), {}).error(), WireError::kTruncated);
  EXPECT_EQ(decode_option_reply(hdr(kRepServer, 8), hex("00000001 61")).error(),
            WireError::kTruncated);
  EXPECT_EQ(decode_option_reply(hdr(kRepServer, 4), hex("00000000 61")).error(),
            WireError::kBadLength);
  // ACK with data.
  EXPECT_EQ(decode_option_reply(hdr(kRepAck, 1), hex("00")).error(), WireError::kBadLength);
  // SERVER too short / name past the data / strings too long.
  for (std::size_t n = 0; n < 4; ++n) {
    EXPECT_EQ(decode_option_reply(hdr(kRepServer, n), Bytes(n)).error(), WireError::kBadLength)
        << n;
  }
  EXPECT_EQ(decode_option_reply(hdr(kRepServer, 7), hex("00000004 616263")).error(),
            WireError::kNameOverrun);
  EXPECT_EQ(decode_option_reply(hdr(kRepServer, 4), hex("ffffffff")).error(),
            WireError::kNameOverrun);
  const std::string over(kMaxStringLength + 1, 's');
  const Bytes long_name = cat({u32(static_cast<std::uint32_t>(over.size())), text(over)});
  EXPECT_EQ(decode_option_reply(hdr(kRepServer, long_name.size()), long_name).error(),
            WireError::kStringTooLong);
  const Bytes long_desc = cat({u32(0), text(over)});
  EXPECT_EQ(decode_option_reply(hdr(kRepServer, long_desc.size()), long_desc).error(),
            WireError::kStringTooLong);
  // INFO too short for its type.
  for (std::size_t n = 0; n < 2; ++n) {
    EXPECT_EQ(decode_option_reply(hdr(kRepInfo, n), Bytes(n)).error(), WireError::kBadLength) << n;
  }
  // INFO_EXPORT must be 12, INFO_BLOCK_SIZE 14.
  for (std::size_t n = 2; n < 20; ++n) {
    Bytes d = cat({u16(kInfoExport), Bytes(n - 2)});
    EXPECT_EQ(decode_option_reply(hdr(kRepInfo, n), d).error(),
              n == 12 ? WireError::kOk : WireError::kBadLength)
        << n;
    d = cat({u16(kInfoBlockSize), u32(512), u32(4096), u32(4096), Bytes(n > 14 ? n - 14 : 0)});
    d.resize(n);
    EXPECT_EQ(decode_option_reply(hdr(kRepInfo, n), d).error(),
              n == 14 ? WireError::kOk : WireError::kBadLength)
        << n;
  }
  // INFO_BLOCK_SIZE with values the spec forbids.
  const Bytes bad_bs = cat({u16(kInfoBlockSize), u32(3), u32(4096), u32(4096)});
  EXPECT_EQ(decode_option_reply(hdr(kRepInfo, 14), bad_bs).error(), WireError::kBadBlockSize);
  // INFO_NAME / DESCRIPTION too long.
  const Bytes long_info = cat({u16(kInfoName), text(over)});
  EXPECT_EQ(decode_option_reply(hdr(kRepInfo, long_info.size()), long_info).error(),
            WireError::kStringTooLong);
  // Unknown information types are passed through, not refused.
  const Bytes unknown_info = hex("0099 010203");
  auto unknown = decode_option_reply(hdr(kRepInfo, 5), unknown_info);
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(unknown->info_type, 0x99);
  EXPECT_EQ(unknown->raw.size(), 3u);
  // META_CONTEXT too short, bad name.
  for (std::size_t n = 0; n < 4; ++n) {
    EXPECT_EQ(decode_option_reply(hdr(kRepMetaContext, n), Bytes(n)).error(), WireError::kBadLength)
        << n;
  }
  EXPECT_EQ(decode_option_reply(hdr(kRepMetaContext, 4), hex("00000001")).error(),
            WireError::kBadMetaContext);
  EXPECT_EQ(
      decode_option_reply(hdr(kRepMetaContext, 9), cat({hex("00000001"), text("alloc")})).error(),
      WireError::kBadMetaContext);
  const Bytes long_ctx = cat({u32(1), text("x:"), text(over)});
  EXPECT_EQ(decode_option_reply(hdr(kRepMetaContext, long_ctx.size()), long_ctx).error(),
            WireError::kStringTooLong);
  // Error message too long.
  EXPECT_EQ(decode_option_reply(hdr(kRepErrInvalid, over.size()), text(over)).error(),
            WireError::kStringTooLong);
  // Unknown non-error reply type.
  EXPECT_EQ(decode_option_reply(hdr(5, 0), {}).error(), WireError::kUnknownType);
  EXPECT_EQ(decode_option_reply(hdr(0, 0), {}).error(), WireError::kUnknownType);
}

// --- NBD_OPT_EXPORT_NAME reply ---------------------------------------------------------

TEST(HandshakeWireTest, ExportNameReplyLayout) {
  const ExportInfo info{0x0102030405060708, kFlagHasFlags | kFlagReadOnly};
  const Bytes with_zeroes =
      encoded([&](auto out) { return encode_export_name_reply(out, info, false); });
  EXPECT_EQ(with_zeroes, cat({hex("0102030405060708 0003"), Bytes(124)}));
  EXPECT_EQ(with_zeroes.size(), kExportNameReplySize);
  const Bytes short_form =
      encoded([&](auto out) { return encode_export_name_reply(out, info, true); });
  EXPECT_EQ(short_form, hex("0102030405060708 0003"));
  auto a = decode_export_name_reply(with_zeroes, false);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, info);
  auto b = decode_export_name_reply(short_form, true);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, info);
  for (std::size_t n = 0; n < kExportNameReplySize; ++n) {
    EXPECT_EQ(decode_export_name_reply(first(with_zeroes, n), false).error(), WireError::kTruncated)
        << n;
  }
  for (std::size_t n = 0; n < kExportNameReplyShortSize; ++n) {
    EXPECT_EQ(decode_export_name_reply(first(short_form, n), true).error(), WireError::kTruncated)
        << n;
  }
}

// --- Every encoder: too-small buffers ----------------------------------------------------

TEST(HandshakeWireTest, EncodersNeverWritePartially) {
  using Enc = std::function<WireResult<std::size_t>(std::span<std::byte>)>;
  const std::uint16_t infos[] = {kInfoBlockSize};
  const std::string_view queries[] = {"base:allocation"};
  const Enc encoders[] = {
      [](auto o) { return encode_server_greeting(o, kFlagFixedNewstyle); },
      [](auto o) { return encode_client_flags(o, 1); },
      [](auto o) {
        return encode_option_header(o, {kOptGo, 4});
      },
      [](auto o) { return encode_option(o, kOptList, test::hex("0102")); },
      [](auto o) { return encode_opt_export_name(o, "disk"); },
      [&](auto o) { return encode_opt_info_go(o, kOptGo, "disk", infos); },
      [&](auto o) { return encode_opt_meta_context(o, kOptSetMetaContext, "disk", queries); },
      [](auto o) {
        return encode_option_reply_header(o, {kOptGo, kRepAck, 0});
      },
      [](auto o) { return encode_rep_ack(o, kOptGo); },
      [](auto o) { return encode_rep_server(o, kOptList, "disk", "desc"); },
      [](auto o) {
        return encode_rep_info_export(o, kOptGo, {1, 1});
      },
      [](auto o) { return encode_rep_info_name(o, kOptGo, "disk"); },
      [](auto o) { return encode_rep_info_description(o, kOptGo, "desc"); },
      [](auto o) { return encode_rep_info_block_size(o, kOptGo, {}); },
      [](auto o) { return encode_rep_meta_context(o, kOptGo, 1, "base:allocation"); },
      [](auto o) { return encode_rep_error(o, kOptGo, kRepErrUnknown, "no such export"); },
      [](auto o) {
        return encode_export_name_reply(o, {1, 1}, false);
      },
      [](auto o) {
        return encode_export_name_reply(o, {1, 1}, true);
      },
  };
  for (std::size_t i = 0; i < std::size(encoders); ++i) {
    const Bytes full = encoded(encoders[i]);
    ASSERT_FALSE(full.empty()) << "encoder " << i;
    for (std::size_t n = 0; n < full.size(); ++n) {
      Bytes buf(n, std::byte{0xa5});
      EXPECT_EQ(encoders[i](std::span<std::byte>(buf)).error(), WireError::kNoSpace)
          << "encoder " << i << " n " << n;
      EXPECT_EQ(buf, Bytes(n, std::byte{0xa5})) << "encoder " << i << " wrote into a short buffer";
    }
    // Exactly enough room works.
    Bytes exact(full.size());
    auto r = encoders[i](std::span<std::byte>(exact));
    ASSERT_TRUE(r.ok()) << "encoder " << i;
    EXPECT_EQ(*r, full.size());
    EXPECT_EQ(exact, full);
  }
}

}  // namespace
}  // namespace nbd
