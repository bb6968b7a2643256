// Transmission-phase messages (see transmission_wire.hpp).
#include "nbd/transmission_wire.hpp"

#include <limits>

#include "byte_cursor.hpp"

namespace nbd {

using detail::Reader;
using detail::Writer;

namespace {

constexpr std::size_t kMaxU32 = std::numeric_limits<std::uint32_t>::max();

void write_chunk_header(Writer& w, std::uint16_t flags, std::uint16_t type, std::uint64_t cookie,
                        std::size_t length) {
  w.u32(kStructuredReplyMagic);
  w.u16(flags);
  w.u16(type);
  w.u64(cookie);
  w.u32(static_cast<std::uint32_t>(length));
}

// Shared by ERROR and ERROR_OFFSET: error, message length, message.
WireError check_error_args(std::uint32_t error, std::string_view message) {
  if (error == 0) return WireError::kZeroError;
  if (message.size() > kMaxStringLength) return WireError::kStringTooLong;
  return WireError::kOk;
}

// Decodes the error and message that start every error chunk; `fixed` is
// the size of the structured fields (6 or 14), `exact` whether the payload
// must end right after them.
WireError decode_error_fields(Reader& r, Chunk& c, std::size_t fixed, bool exact) {
  const std::size_t length = r.left();
  if (length < fixed) return WireError::kBadLength;
  c.error = r.u32();
  if (c.error == 0) return WireError::kZeroError;
  const std::uint16_t msg_len = r.u16();
  if (msg_len > length - fixed) return WireError::kMessageOverrun;
  if (msg_len > kMaxStringLength) return WireError::kStringTooLong;
  if (exact && length != fixed + msg_len) return WireError::kBadLength;
  c.message = r.str(msg_len);
  return WireError::kOk;
}

}  // namespace

// --- Requests ---------------------------------------------------------------------------

WireResult<std::size_t> encode_request(std::span<std::byte> out, const Request& req) {
  if (out.size() < kRequestHeaderSize) return WireError::kNoSpace;
  Writer w(out);
  w.u32(kRequestMagic);
  w.u16(req.flags);
  w.u16(req.type);
  w.u64(req.cookie);
  w.u64(req.offset);
  w.u32(req.length);
  return w.written();
}

WireResult<Request> decode_request(std::span<const std::byte> in) {
  if (in.size() < kRequestHeaderSize) return WireError::kTruncated;
  Reader r(in);
  if (r.u32() != kRequestMagic) return WireError::kBadMagic;
  Request req;
  req.flags = r.u16();
  req.type = r.u16();
  req.cookie = r.u64();
  req.offset = r.u64();
  req.length = r.u32();
  return req;
}

// --- Replies --------------------------------------------------------------------------------

WireResult<std::size_t> encode_simple_reply(std::span<std::byte> out, const SimpleReply& reply) {
  if (out.size() < kSimpleReplySize) return WireError::kNoSpace;
  Writer w(out);
  w.u32(kSimpleReplyMagic);
  w.u32(reply.error);
  w.u64(reply.cookie);
  return w.written();
}

WireResult<SimpleReply> decode_simple_reply(std::span<const std::byte> in) {
  if (in.size() < kSimpleReplySize) return WireError::kTruncated;
  Reader r(in);
  if (r.u32() != kSimpleReplyMagic) return WireError::kBadMagic;
  SimpleReply reply;
  reply.error = r.u32();
  reply.cookie = r.u64();
  return reply;
}

WireResult<ReplyKind> classify_reply(std::span<const std::byte> in) {
  if (in.size() < 4) return WireError::kTruncated;
  switch (load_be32(in.data())) {
    case kSimpleReplyMagic: return ReplyKind::kSimple;
    case kStructuredReplyMagic: return ReplyKind::kStructured;
    default: return WireError::kBadMagic;
  }
}

WireResult<std::size_t> encode_chunk_header(std::span<std::byte> out, const ChunkHeader& h) {
  if (out.size() < kChunkHeaderSize) return WireError::kNoSpace;
  Writer w(out);
  write_chunk_header(w, h.flags, h.type, h.cookie, h.length);
  return w.written();
}

WireResult<ChunkHeader> decode_chunk_header(std::span<const std::byte> in) {
  if (in.size() < kChunkHeaderSize) return WireError::kTruncated;
  Reader r(in);
  if (r.u32() != kStructuredReplyMagic) return WireError::kBadMagic;
  ChunkHeader h;
  h.flags = r.u16();
  h.type = r.u16();
  h.cookie = r.u64();
  h.length = r.u32();
  return h;
}

WireResult<std::size_t> encode_offset_data_prefix(std::span<std::byte> out, std::uint16_t flags,
                                                  std::uint64_t cookie, std::uint64_t offset,
                                                  std::uint32_t data_length) {
  if (data_length == 0) return WireError::kZeroLength;
  if (data_length > kMaxU32 - kOffsetDataPrefixSize) return WireError::kTooLarge;
  if (out.size() < kChunkHeaderSize + kOffsetDataPrefixSize) return WireError::kNoSpace;
  Writer w(out);
  write_chunk_header(w, flags, kReplyTypeOffsetData, cookie, kOffsetDataPrefixSize + data_length);
  w.u64(offset);
  return w.written();
}

WireResult<std::size_t> encode_offset_hole(std::span<std::byte> out, std::uint16_t flags,
                                           std::uint64_t cookie, std::uint64_t offset,
                                           std::uint32_t hole_size) {
  if (hole_size == 0) return WireError::kZeroLength;
  if (out.size() < kChunkHeaderSize + kOffsetHoleLength) return WireError::kNoSpace;
  Writer w(out);
  write_chunk_header(w, flags, kReplyTypeOffsetHole, cookie, kOffsetHoleLength);
  w.u64(offset);
  w.u32(hole_size);
  return w.written();
}

WireResult<std::size_t> encode_block_status(std::span<std::byte> out, std::uint16_t flags,
                                            std::uint64_t cookie, std::uint32_t context_id,
                                            std::span<const BlockDescriptor> descriptors) {
  if (descriptors.empty()) return WireError::kBadLength;
  if (descriptors.size() > (kMaxU32 - 4) / kBlockDescriptorSize) return WireError::kTooLarge;
  for (const BlockDescriptor& d : descriptors) {
    if (d.length == 0) return WireError::kZeroLength;
  }
  const std::size_t total = block_status_chunk_size(descriptors.size());
  if (out.size() < total) return WireError::kNoSpace;
  Writer w(out);
  write_chunk_header(w, flags, kReplyTypeBlockStatus, cookie, total - kChunkHeaderSize);
  w.u32(context_id);
  for (const BlockDescriptor& d : descriptors) {
    w.u32(d.length);
    w.u32(d.status);
  }
  return w.written();
}

WireResult<std::size_t> encode_error_chunk(std::span<std::byte> out, std::uint16_t flags,
                                           std::uint64_t cookie, std::uint32_t error,
                                           std::string_view message) {
  if (WireError e = check_error_args(error, message); e != WireError::kOk) return e;
  const std::size_t total = error_chunk_size(message.size());
  if (out.size() < total) return WireError::kNoSpace;
  Writer w(out);
  write_chunk_header(w, flags, kReplyTypeError, cookie, total - kChunkHeaderSize);
  w.u32(error);
  w.u16(static_cast<std::uint16_t>(message.size()));
  w.str(message);
  return w.written();
}

WireResult<std::size_t> encode_error_offset_chunk(std::span<std::byte> out, std::uint16_t flags,
                                                  std::uint64_t cookie, std::uint32_t error,
                                                  std::string_view message, std::uint64_t offset) {
  if (WireError e = check_error_args(error, message); e != WireError::kOk) return e;
  const std::size_t total = error_offset_chunk_size(message.size());
  if (out.size() < total) return WireError::kNoSpace;
  Writer w(out);
  write_chunk_header(w, flags, kReplyTypeErrorOffset, cookie, total - kChunkHeaderSize);
  w.u32(error);
  w.u16(static_cast<std::uint16_t>(message.size()));
  w.str(message);
  w.u64(offset);
  return w.written();
}

WireResult<std::size_t> encode_none_chunk(std::span<std::byte> out, std::uint64_t cookie) {
  if (out.size() < kChunkHeaderSize) return WireError::kNoSpace;
  Writer w(out);
  write_chunk_header(w, kReplyFlagDone, kReplyTypeNone, cookie, 0);
  return w.written();
}

WireResult<Chunk> decode_chunk(const ChunkHeader& header, std::span<const std::byte> payload) {
  if (payload.size() < header.length) return WireError::kTruncated;
  if (payload.size() > header.length) return WireError::kBadLength;
  Chunk c;
  c.header = header;
  Reader r(payload);
  switch (header.type) {
    case kReplyTypeNone:
      if (header.length != 0) return WireError::kBadLength;
      if (!(header.flags & kReplyFlagDone)) return WireError::kBadFlags;
      return c;
    case kReplyTypeOffsetData:
      if (header.length <= kOffsetDataPrefixSize) return WireError::kBadLength;
      c.offset = r.u64();
      c.data = r.rest();
      return c;
    case kReplyTypeOffsetHole:
      if (header.length != kOffsetHoleLength) return WireError::kBadLength;
      c.offset = r.u64();
      c.hole_size = r.u32();
      if (c.hole_size == 0) return WireError::kZeroLength;
      return c;
    case kReplyTypeBlockStatus: {
      if (header.length < 4 + kBlockDescriptorSize ||
          (header.length - 4) % kBlockDescriptorSize != 0) {
        return WireError::kBadLength;
      }
      c.context_id = r.u32();
      c.descriptors = DescriptorList(r.rest());
      for (const BlockDescriptor d : c.descriptors) {
        if (d.length == 0) return WireError::kZeroLength;
      }
      return c;
    }
    case kReplyTypeError:
      if (WireError e = decode_error_fields(r, c, kErrorChunkFixedSize, true); e != WireError::kOk)
        return e;
      return c;
    case kReplyTypeErrorOffset:
      if (WireError e = decode_error_fields(r, c, kErrorOffsetChunkFixedSize, true);
          e != WireError::kOk)
        return e;
      c.offset = r.u64();
      return c;
    default:
      if (!is_error_chunk(header.type)) return WireError::kUnknownType;
      if (WireError e = decode_error_fields(r, c, kErrorChunkFixedSize, false); e != WireError::kOk)
        return e;
      return c;
  }
}

WireResult<OffsetData> decode_offset_data_prefix(const ChunkHeader& header,
                                                 std::span<const std::byte> prefix) {
  if (header.type != kReplyTypeOffsetData) return WireError::kBadType;
  if (header.length <= kOffsetDataPrefixSize) return WireError::kBadLength;
  if (prefix.size() < kOffsetDataPrefixSize) return WireError::kTruncated;
  OffsetData d;
  d.offset = load_be64(prefix.data());
  d.data_length = header.length - static_cast<std::uint32_t>(kOffsetDataPrefixSize);
  return d;
}

}  // namespace nbd
