// Transmission-phase messages: byte-exact layouts from the spec, round trips,
// and every malformed input.
#include "nbd/transmission_wire.hpp"

#include <gtest/gtest.h>

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
using test::u64;

constexpr std::uint64_t kCookie = 0x0102030405060708;

// Decodes a whole chunk (header + payload) produced by an encoder.
WireResult<Chunk> decode_whole(const Bytes& b) {
  auto h = decode_chunk_header(b);
  if (!h) return h.error();
  return decode_chunk(*h, std::span(b).subspan(kChunkHeaderSize));
}

ChunkHeader hdr(std::uint16_t type, std::size_t length, std::uint16_t flags = kReplyFlagDone) {
  return {flags, type, kCookie, static_cast<std::uint32_t>(length)};
}

// --- Requests -----------------------------------------------------------------------------

TEST(TransmissionWireTest, ReadRequestLayout) {
  // READ of 4096 bytes at 1 MiB with FUA, as the spec lays it out.
  const Request req{kCmdFlagFua, kCmdRead, kCookie, 0x100000, 4096};
  const Bytes b = encoded([&](auto out) { return encode_request(out, req); });
  EXPECT_EQ(b, hex("25609513 0001 0000 0102030405060708 0000000000100000 00001000"));
  EXPECT_EQ(b.size(), kRequestHeaderSize);
  auto d = decode_request(b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, req);
}

TEST(TransmissionWireTest, RequestRoundTripAllFields) {
  for (std::uint16_t type : {kCmdRead, kCmdWrite, kCmdDisc, kCmdFlush, kCmdTrim, kCmdCache,
                             kCmdWriteZeroes, kCmdBlockStatus, std::uint16_t{0xffff}}) {
    const Request req{0xfffe, type, ~kCookie, 0xfedcba9876543210, 0xffffffff};
    auto d = decode_request(encoded([&](auto out) { return encode_request(out, req); }));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, req);
  }
  // A write request header followed by its payload: only the header is read.
  const Bytes with_payload =
      cat({hex("25609513 0000 0001 0000000000000001 0000000000000200 00000004"), hex("deadbeef")});
  auto d = decode_request(with_payload);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->type, kCmdWrite);
  EXPECT_EQ(d->offset, 0x200u);
  EXPECT_EQ(d->length, 4u);
  EXPECT_TRUE(command_has_payload(d->type));
}

TEST(TransmissionWireTest, RequestMalformed) {
  const Bytes good = hex("25609513 0000 0000 0102030405060708 0000000000000000 00000200");
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(decode_request(first(good, n)).error(), WireError::kTruncated) << n;
  }
  for (std::size_t i = 0; i < 4; ++i) {
    Bytes bad = good;
    bad[i] ^= std::byte{0x04};
    EXPECT_EQ(decode_request(bad).error(), WireError::kBadMagic) << i;
  }
  // Historic and extended magics are not requests corobd accepts.
  EXPECT_EQ(decode_request(cat({hex("12560953"), Bytes(24)})).error(), WireError::kBadMagic);
  EXPECT_EQ(decode_request(cat({u32(kExtendedRequestMagic), Bytes(28)})).error(),
            WireError::kBadMagic);
  EXPECT_EQ(decode_request(cat({u32(kSimpleReplyMagic), Bytes(24)})).error(), WireError::kBadMagic);
}

// --- Simple replies -----------------------------------------------------------------------

TEST(TransmissionWireTest, SimpleReplyLayout) {
  const Bytes b = encoded([](auto out) { return encode_simple_reply(out, {kErrIo, kCookie}); });
  EXPECT_EQ(b, hex("67446698 00000005 0102030405060708"));
  EXPECT_EQ(b.size(), kSimpleReplySize);
  auto d = decode_simple_reply(b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, (SimpleReply{kErrIo, kCookie}));
  EXPECT_EQ(encoded([](auto out) {
              return encode_simple_reply(out, {0, 0});
            }),
            hex("67446698 00000000 0000000000000000"));
}

TEST(TransmissionWireTest, SimpleReplyMalformed) {
  const Bytes good = hex("67446698 00000000 0102030405060708");
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(decode_simple_reply(first(good, n)).error(), WireError::kTruncated) << n;
  }
  EXPECT_EQ(decode_simple_reply(hex("96744668 00000000 0102030405060708")).error(),
            WireError::kBadMagic);
  EXPECT_EQ(decode_simple_reply(cat({u32(kStructuredReplyMagic), Bytes(16)})).error(),
            WireError::kBadMagic);
}

TEST(TransmissionWireTest, ClassifyReply) {
  EXPECT_EQ(*classify_reply(hex("67446698")), ReplyKind::kSimple);
  EXPECT_EQ(*classify_reply(hex("668e33ef 0001")), ReplyKind::kStructured);
  EXPECT_EQ(classify_reply(hex("6e8a278c")).error(),
            WireError::kBadMagic);  // extended: not negotiated
  EXPECT_EQ(classify_reply(hex("00000000")).error(), WireError::kBadMagic);
  for (std::size_t n = 0; n < 4; ++n) {
    EXPECT_EQ(classify_reply(first(hex("67446698"), n)).error(), WireError::kTruncated);
  }
}

// --- Chunk header ---------------------------------------------------------------------------

TEST(TransmissionWireTest, ChunkHeaderLayout) {
  const ChunkHeader h{kReplyFlagDone, kReplyTypeOffsetHole, kCookie, 12};
  const Bytes b = encoded([&](auto out) { return encode_chunk_header(out, h); });
  EXPECT_EQ(b, hex("668e33ef 0001 0002 0102030405060708 0000000c"));
  EXPECT_EQ(b.size(), kChunkHeaderSize);
  auto d = decode_chunk_header(b);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, h);
}

TEST(TransmissionWireTest, ChunkHeaderMalformed) {
  const Bytes good = hex("668e33ef 0001 0000 0102030405060708 00000000");
  for (std::size_t n = 0; n < good.size(); ++n) {
    EXPECT_EQ(decode_chunk_header(first(good, n)).error(), WireError::kTruncated) << n;
  }
  for (std::size_t i = 0; i < 4; ++i) {
    Bytes bad = good;
    bad[i] ^= std::byte{0x10};
    EXPECT_EQ(decode_chunk_header(bad).error(), WireError::kBadMagic) << i;
  }
  // Unknown flags and types are the payload decoder's business.
  auto d = decode_chunk_header(hex("668e33ef ffff 1234 0102030405060708 ffffffff"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->flags, 0xffff);
  EXPECT_EQ(d->type, 0x1234);
  EXPECT_EQ(d->length, 0xffffffffu);
}

TEST(TransmissionWireTest, ChunkPayloadMustMatchLength) {
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeOffsetHole, 12), Bytes(11)).error(), WireError::kTruncated);
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeOffsetHole, 12), Bytes(13)).error(), WireError::kBadLength);
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeNone, 0), Bytes(1)).error(), WireError::kBadLength);
}

// --- NONE ----------------------------------------------------------------------------------

TEST(TransmissionWireTest, NoneChunk) {
  const Bytes b = encoded([](auto out) { return encode_none_chunk(out, kCookie); });
  EXPECT_EQ(b, hex("668e33ef 0001 0000 0102030405060708 00000000"));
  auto c = decode_whole(b);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->header.type, kReplyTypeNone);
  EXPECT_EQ(c->header.cookie, kCookie);
  // NONE must carry DONE, and no payload.
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeNone, 0, 0), {}).error(), WireError::kBadFlags);
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeNone, 4), Bytes(4)).error(), WireError::kBadLength);
  // Unknown extra flags are ignored, as the spec tells clients to.
  EXPECT_TRUE(decode_chunk(hdr(kReplyTypeNone, 0, 0x8001), {}).ok());
}

// --- OFFSET_DATA ---------------------------------------------------------------------------

TEST(TransmissionWireTest, OffsetDataLayout) {
  const Bytes prefix = encoded(
      [](auto out) { return encode_offset_data_prefix(out, kReplyFlagDone, kCookie, 0x200, 4); });
  EXPECT_EQ(prefix, hex("668e33ef 0001 0001 0102030405060708 0000000c 0000000000000200"));
  const Bytes whole = cat({prefix, hex("deadbeef")});
  auto c = decode_whole(whole);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->offset, 0x200u);
  EXPECT_EQ(c->data.size(), 4u);
  EXPECT_EQ(Bytes(c->data.begin(), c->data.end()), hex("deadbeef"));

  // Receiving the data straight into a buffer: decode just the prefix.
  auto h = decode_chunk_header(prefix);
  ASSERT_TRUE(h.ok());
  auto od = decode_offset_data_prefix(*h, std::span(prefix).subspan(kChunkHeaderSize));
  ASSERT_TRUE(od.ok());
  EXPECT_EQ(od->offset, 0x200u);
  EXPECT_EQ(od->data_length, 4u);
}

TEST(TransmissionWireTest, OffsetDataLimits) {
  EXPECT_EQ(encode_error([](auto out) { return encode_offset_data_prefix(out, 0, 1, 0, 0); }),
            WireError::kZeroLength);
  EXPECT_EQ(
      encode_error([](auto out) { return encode_offset_data_prefix(out, 0, 1, 0, 0xfffffff8); }),
      WireError::kTooLarge);
  const Bytes max =
      encoded([](auto out) { return encode_offset_data_prefix(out, 0, 1, 0, 0xfffffff7); });
  auto h = decode_chunk_header(max);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->length, 0xffffffffu);
  auto od = decode_offset_data_prefix(*h, std::span(max).subspan(kChunkHeaderSize));
  ASSERT_TRUE(od.ok());
  EXPECT_EQ(od->data_length, 0xfffffff7u);
}

TEST(TransmissionWireTest, OffsetDataMalformed) {
  // length must be at least 9 (offset + one byte).
  for (std::size_t n = 0; n <= 8; ++n) {
    EXPECT_EQ(decode_chunk(hdr(kReplyTypeOffsetData, n), Bytes(n)).error(), WireError::kBadLength)
        << n;
    EXPECT_EQ(decode_offset_data_prefix(hdr(kReplyTypeOffsetData, n), Bytes(8)).error(),
              WireError::kBadLength)
        << n;
  }
  EXPECT_TRUE(decode_chunk(hdr(kReplyTypeOffsetData, 9), Bytes(9)).ok());
  EXPECT_EQ(decode_offset_data_prefix(hdr(kReplyTypeOffsetHole, 12), Bytes(8)).error(),
            WireError::kBadType);
  for (std::size_t n = 0; n < 8; ++n) {
    EXPECT_EQ(decode_offset_data_prefix(hdr(kReplyTypeOffsetData, 100), Bytes(n)).error(),
              WireError::kTruncated)
        << n;
  }
}

// --- OFFSET_HOLE ---------------------------------------------------------------------------

TEST(TransmissionWireTest, OffsetHoleLayout) {
  const Bytes b =
      encoded([](auto out) { return encode_offset_hole(out, 0, kCookie, 0x10000, 0x8000); });
  EXPECT_EQ(b, hex("668e33ef 0000 0002 0102030405060708 0000000c 0000000000010000 00008000"));
  auto c = decode_whole(b);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->header.flags, 0);
  EXPECT_EQ(c->offset, 0x10000u);
  EXPECT_EQ(c->hole_size, 0x8000u);
}

TEST(TransmissionWireTest, OffsetHoleMalformed) {
  EXPECT_EQ(encode_error([](auto out) { return encode_offset_hole(out, 0, 1, 0, 0); }),
            WireError::kZeroLength);
  for (std::size_t n = 0; n < 20; ++n) {
    if (n == 12) continue;
    EXPECT_EQ(decode_chunk(hdr(kReplyTypeOffsetHole, n), Bytes(n, std::byte{1})).error(),
              WireError::kBadLength)
        << n;
  }
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeOffsetHole, 12), cat({u64(0), u32(0)})).error(),
            WireError::kZeroLength);
}

// --- BLOCK_STATUS --------------------------------------------------------------------------

TEST(TransmissionWireTest, BlockStatusLayout) {
  const BlockDescriptor d[] = {{0x10000, kStateHole | kStateZero}, {0x200, 0}};
  const Bytes b =
      encoded([&](auto out) { return encode_block_status(out, kReplyFlagDone, kCookie, 1, d); });
  EXPECT_EQ(b, hex("668e33ef 0001 0005 0102030405060708 00000014 00000001"
                   " 00010000 00000003 00000200 00000000"));
  EXPECT_EQ(b.size(), block_status_chunk_size(2));
  auto c = decode_whole(b);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->context_id, 1u);
  ASSERT_EQ(c->descriptors.size(), 2u);
  EXPECT_EQ(c->descriptors[0], d[0]);
  EXPECT_EQ(c->descriptors[1], d[1]);
  std::size_t i = 0;
  for (BlockDescriptor got : c->descriptors) EXPECT_EQ(got, d[i++]);
  EXPECT_EQ(i, 2u);
}

TEST(TransmissionWireTest, BlockStatusEncodeErrors) {
  EXPECT_EQ(encode_error([](auto out) { return encode_block_status(out, 0, 1, 1, {}); }),
            WireError::kBadLength);
  const BlockDescriptor zero[] = {{512, 0}, {0, 0}};
  EXPECT_EQ(encode_error([&](auto out) { return encode_block_status(out, 0, 1, 1, zero); }),
            WireError::kZeroLength);
}

TEST(TransmissionWireTest, BlockStatusMalformed) {
  // length must be 4 + 8n with n >= 1.
  for (std::size_t n = 0; n < 40; ++n) {
    Bytes p = u32(1);
    while (p.size() < n) {
      Bytes d = cat({u32(512), u32(0)});
      p.insert(p.end(), d.begin(), d.end());
    }
    p.resize(n);
    const bool valid = n >= 12 && (n - 4) % 8 == 0;
    EXPECT_EQ(decode_chunk(hdr(kReplyTypeBlockStatus, n), p).error(),
              valid ? WireError::kOk : WireError::kBadLength)
        << n;
  }
  // A zero-length extent, anywhere in the list.
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeBlockStatus, 12), cat({u32(1), u32(0), u32(0)})).error(),
            WireError::kZeroLength);
  EXPECT_EQ(
      decode_chunk(hdr(kReplyTypeBlockStatus, 20), cat({u32(1), u32(512), u32(0), u32(0), u32(3)}))
          .error(),
      WireError::kZeroLength);
  // The 64-bit variant needs extended headers, which are never negotiated.
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeBlockStatusExt, 20), Bytes(20)).error(),
            WireError::kUnknownType);
}

// --- ERROR / ERROR_OFFSET ------------------------------------------------------------------

TEST(TransmissionWireTest, ErrorChunkLayout) {
  const Bytes b = encoded(
      [](auto out) { return encode_error_chunk(out, kReplyFlagDone, kCookie, kErrInval, "oops"); });
  EXPECT_EQ(b,
            cat({hex("668e33ef 0001 8001 0102030405060708 0000000a 00000016 0004"), text("oops")}));
  EXPECT_EQ(b.size(), error_chunk_size(4));
  auto c = decode_whole(b);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->error, kErrInval);
  EXPECT_EQ(c->message, "oops");
  // Without a message.
  EXPECT_EQ(
      encoded([](auto out) { return encode_error_chunk(out, kReplyFlagDone, kCookie, kErrIo); }),
      hex("668e33ef 0001 8001 0102030405060708 00000006 00000005 0000"));
}

TEST(TransmissionWireTest, ErrorOffsetChunkLayout) {
  const Bytes b = encoded(
      [](auto out) { return encode_error_offset_chunk(out, 0, kCookie, kErrIo, "bad", 0x4000); });
  EXPECT_EQ(b, cat({hex("668e33ef 0000 8002 0102030405060708 00000011 00000005 0003"), text("bad"),
                    hex("0000000000004000")}));
  EXPECT_EQ(b.size(), error_offset_chunk_size(3));
  auto c = decode_whole(b);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->error, kErrIo);
  EXPECT_EQ(c->message, "bad");
  EXPECT_EQ(c->offset, 0x4000u);
}

TEST(TransmissionWireTest, ErrorChunkEncodeErrors) {
  EXPECT_EQ(encode_error([](auto out) { return encode_error_chunk(out, 0, 1, 0, "x"); }),
            WireError::kZeroError);
  EXPECT_EQ(encode_error([](auto out) { return encode_error_offset_chunk(out, 0, 1, 0, "x", 0); }),
            WireError::kZeroError);
  const std::string over(kMaxStringLength + 1, 'm');
  EXPECT_EQ(encode_error([&](auto out) { return encode_error_chunk(out, 0, 1, kErrIo, over); }),
            WireError::kStringTooLong);
  EXPECT_EQ(
      encode_error([&](auto out) { return encode_error_offset_chunk(out, 0, 1, kErrIo, over, 0); }),
      WireError::kStringTooLong);
  const std::string max(kMaxStringLength, 'm');
  const Bytes max_chunk =
      encoded([&](auto out) { return encode_error_chunk(out, 0, 1, kErrIo, max); });
  auto c = decode_whole(max_chunk);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->message.size(), kMaxStringLength);
}

TEST(TransmissionWireTest, ErrorChunkMalformed) {
  // Shorter than error + message length.
  for (std::size_t n = 0; n < 6; ++n) {
    EXPECT_EQ(decode_chunk(hdr(kReplyTypeError, n), Bytes(n)).error(), WireError::kBadLength) << n;
  }
  // Error value 0.
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeError, 6), hex("00000000 0000")).error(),
            WireError::kZeroError);
  // Message length past the chunk.
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeError, 8), hex("00000005 0003 6162")).error(),
            WireError::kMessageOverrun);
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeError, 6), hex("00000005 ffff")).error(),
            WireError::kMessageOverrun);
  // Bytes after the message.
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeError, 9), hex("00000005 0002 616263")).error(),
            WireError::kBadLength);
  // Message longer than 4096 (the u16 allows it).
  const std::string over(kMaxStringLength + 1, 'm');
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeError, 6 + over.size()),
                         cat({u32(5), u16(over.size()), text(over)}))
                .error(),
            WireError::kStringTooLong);
}

TEST(TransmissionWireTest, ErrorOffsetChunkMalformed) {
  for (std::size_t n = 0; n < 14; ++n) {
    EXPECT_EQ(decode_chunk(hdr(kReplyTypeErrorOffset, n), Bytes(n, std::byte{1})).error(),
              WireError::kBadLength)
        << n;
  }
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeErrorOffset, 14), cat({u32(0), u16(0), u64(0)})).error(),
            WireError::kZeroError);
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeErrorOffset, 14), cat({u32(5), u16(1), u64(0)})).error(),
            WireError::kMessageOverrun);
  EXPECT_EQ(decode_chunk(hdr(kReplyTypeErrorOffset, 16),
                         cat({u32(5), u16(1), text("a"), u64(0), hex("00")}))
                .error(),
            WireError::kBadLength);
}

TEST(TransmissionWireTest, UnknownChunkTypes) {
  // Unknown non-error types: the client must disconnect.
  for (std::uint16_t type :
       {std::uint16_t{3}, std::uint16_t{4}, std::uint16_t{7}, std::uint16_t{0x7fff}}) {
    EXPECT_EQ(decode_chunk(hdr(type, 0), {}).error(), WireError::kUnknownType) << type;
  }
  // Unknown error types: error and message decode; trailing fields allowed.
  const Bytes payload = cat({u32(kErrIo), u16(2), text("hi"), hex("0102030405060708")});
  auto c = decode_chunk(hdr(0x8005, payload.size()), payload);
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->error, kErrIo);
  EXPECT_EQ(c->message, "hi");
  EXPECT_EQ(decode_chunk(hdr(0x8005, 5), Bytes(5)).error(), WireError::kBadLength);
  EXPECT_EQ(decode_chunk(hdr(0x8005, 7), cat({u32(kErrIo), u16(2), text("h")})).error(),
            WireError::kMessageOverrun);
}

TEST(TransmissionWireTest, EveryChunkTruncationFails) {
  const BlockDescriptor d[] = {{4096, 0}, {512, kStateHole}};
  const Bytes chunks[] = {
      cat({encoded([](auto out) { return encode_offset_data_prefix(out, 0, 1, 0, 3); }),
           hex("010203")}),
      encoded([](auto out) { return encode_offset_hole(out, 0, 1, 0, 512); }),
      encoded([&](auto out) { return encode_block_status(out, 0, 1, 1, d); }),
      encoded([](auto out) { return encode_error_chunk(out, 0, 1, kErrIo, "msg"); }),
      encoded([](auto out) { return encode_error_offset_chunk(out, 0, 1, kErrIo, "msg", 9); }),
  };
  for (const Bytes& b : chunks) {
    auto h = decode_chunk_header(b);
    ASSERT_TRUE(h.ok());
    const Bytes payload(b.begin() + kChunkHeaderSize, b.end());
    ASSERT_TRUE(decode_chunk(*h, payload).ok());
    for (std::size_t n = 0; n < payload.size(); ++n) {
      EXPECT_EQ(decode_chunk(*h, first(payload, n)).error(), WireError::kTruncated);
      // A header whose length is consistent with the truncated payload is
      // malformed for the type, except where the shorter chunk is itself
      // valid (less data; fewer descriptors).
      ChunkHeader shorter = *h;
      shorter.length = static_cast<std::uint32_t>(n);
      const bool still_valid = (h->type == kReplyTypeOffsetData && n >= 9) ||
                               (h->type == kReplyTypeBlockStatus && n >= 12 && (n - 4) % 8 == 0);
      EXPECT_EQ(decode_chunk(shorter, first(payload, n)).ok(), still_valid)
          << "type " << h->type << " length " << n;
    }
  }
}

// --- Every encoder: too-small buffers ------------------------------------------------------

TEST(TransmissionWireTest, EncodersNeverWritePartially) {
  using Enc = std::function<WireResult<std::size_t>(std::span<std::byte>)>;
  const BlockDescriptor d[] = {{4096, 0}, {512, kStateHole}};
  const Enc encoders[] = {
      [](auto o) {
        return encode_request(o, {0, kCmdRead, 1, 0, 512});
      },
      [](auto o) {
        return encode_simple_reply(o, {0, 1});
      },
      [](auto o) {
        return encode_chunk_header(o, {0, 0, 1, 0});
      },
      [](auto o) { return encode_offset_data_prefix(o, 0, 1, 0, 512); },
      [](auto o) { return encode_offset_hole(o, 0, 1, 0, 512); },
      [&](auto o) { return encode_block_status(o, 0, 1, 1, d); },
      [](auto o) { return encode_error_chunk(o, 0, 1, kErrIo, "message"); },
      [](auto o) { return encode_error_offset_chunk(o, 0, 1, kErrIo, "message", 7); },
      [](auto o) { return encode_none_chunk(o, 1); },
  };
  for (std::size_t i = 0; i < std::size(encoders); ++i) {
    const Bytes full = encoded(encoders[i]);
    ASSERT_FALSE(full.empty()) << "encoder " << i;
    for (std::size_t n = 0; n < full.size(); ++n) {
      Bytes buf(n, std::byte{0x5a});
      EXPECT_EQ(encoders[i](std::span<std::byte>(buf)).error(), WireError::kNoSpace)
          << "encoder " << i << " n " << n;
      EXPECT_EQ(buf, Bytes(n, std::byte{0x5a})) << "encoder " << i << " wrote into a short buffer";
    }
    Bytes exact(full.size());
    auto r = encoders[i](std::span<std::byte>(exact));
    ASSERT_TRUE(r.ok()) << "encoder " << i;
    EXPECT_EQ(exact, full);
  }
}

}  // namespace
}  // namespace nbd
