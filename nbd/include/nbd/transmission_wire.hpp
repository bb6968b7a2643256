// NBD transmission-phase messages: encode and decode.
//
//   C: request        u32 magic, u16 flags, u16 type, u64 cookie, u64 offset,
//                     u32 length [, length bytes for WRITE]           (28 bytes)
//   S: simple reply   u32 magic, u32 error, u64 cookie [, data]        (16 bytes)
//   S: reply chunk    u32 magic, u16 flags, u16 type, u64 cookie,
//                     u32 length, length bytes of payload             (20 bytes)
//
// Chunk payloads (structured replies):
//   NONE          (empty; DONE must be set)
//   OFFSET_DATA   u64 offset, data (length - 8 >= 1 bytes)
//   OFFSET_HOLE   u64 offset, u32 hole size (nonzero)              (length 12)
//   BLOCK_STATUS  u32 context id, n x (u32 length (nonzero), u32 status), n >= 1
//   ERROR         u32 error (nonzero), u16 message length, message
//   ERROR_OFFSET  u32 error (nonzero), u16 message length, message, u64 offset
//
// Contract
// - Pure functions: no I/O, no allocation, no exceptions, no global state.
//   Safe on any thread; the hot path may call them per request.
// - Encoders write whole messages (or, for OFFSET_DATA, the part before the
//   data, so the data can be sent from its own buffer in the same sendmsg)
//   and return the size; they fail without writing anything.
// - Fixed-size decoders read from the front of `in` (extra bytes ignored);
//   kTruncated when `in` is shorter. decode_chunk() takes exactly the payload.
// - Decoders check framing only (magic, lengths, nonzero fields the spec
//   requires). Whether a command, flag, offset or length is acceptable is the
//   server's decision (see allowed_command_flags() in protocol.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "nbd/protocol.hpp"
#include "nbd/wire_result.hpp"
#include "nbd/wire_views.hpp"

namespace nbd {

inline constexpr std::size_t kRequestHeaderSize = 28;
inline constexpr std::size_t kSimpleReplySize = 16;
inline constexpr std::size_t kChunkHeaderSize = 20;
inline constexpr std::uint32_t kOffsetHoleLength = 12;   // chunk length of OFFSET_HOLE
inline constexpr std::size_t kOffsetDataPrefixSize = 8;  // the offset before the data
inline constexpr std::size_t kErrorChunkFixedSize = 6;   // error + message length
inline constexpr std::size_t kErrorOffsetChunkFixedSize = 14;

// --- Requests -------------------------------------------------------------------------

struct Request {
  std::uint16_t flags = 0;   // NBD_CMD_FLAG_*
  std::uint16_t type = 0;    // NBD_CMD_*
  std::uint64_t cookie = 0;  // echoed in the reply ("handle" in older specs)
  std::uint64_t offset = 0;
  std::uint32_t length = 0;
  friend bool operator==(const Request&, const Request&) = default;
};

WireResult<std::size_t> encode_request(std::span<std::byte> out, const Request& req);
// kBadMagic unless the header starts with NBD_REQUEST_MAGIC (an extended
// request is a bad magic: corobd never negotiates extended headers).
WireResult<Request> decode_request(std::span<const std::byte> in);

// --- Replies ----------------------------------------------------------------------------

struct SimpleReply {
  std::uint32_t error = 0;  // NBD error value (kErr*), 0 on success
  std::uint64_t cookie = 0;
  friend bool operator==(const SimpleReply&, const SimpleReply&) = default;
};

WireResult<std::size_t> encode_simple_reply(std::span<std::byte> out, const SimpleReply& reply);
// kBadMagic unless the reply starts with NBD_SIMPLE_REPLY_MAGIC.
WireResult<SimpleReply> decode_simple_reply(std::span<const std::byte> in);

enum class ReplyKind : std::uint8_t { kSimple, kStructured };
// Looks at the first 4 bytes of a reply: which header follows. kTruncated,
// or kBadMagic for anything but the simple and structured reply magics.
WireResult<ReplyKind> classify_reply(std::span<const std::byte> in);

struct ChunkHeader {
  std::uint16_t flags = 0;  // kReplyFlagDone on the last chunk of a reply
  std::uint16_t type = 0;   // NBD_REPLY_TYPE_*
  std::uint64_t cookie = 0;
  std::uint32_t length = 0;  // payload bytes that follow
  friend bool operator==(const ChunkHeader&, const ChunkHeader&) = default;
};

WireResult<std::size_t> encode_chunk_header(std::span<std::byte> out, const ChunkHeader& h);
// kBadMagic unless the header starts with NBD_STRUCTURED_REPLY_MAGIC.
WireResult<ChunkHeader> decode_chunk_header(std::span<const std::byte> in);

// Whole chunks. `flags` is the chunk flags (pass kReplyFlagDone for the last
// chunk of a reply).

// OFFSET_DATA header and offset (28 bytes); the caller sends data_length
// bytes of data right after. kZeroLength if data_length is 0; kTooLarge if
// data_length + 8 does not fit the 32-bit chunk length.
WireResult<std::size_t> encode_offset_data_prefix(std::span<std::byte> out, std::uint16_t flags,
                                                  std::uint64_t cookie, std::uint64_t offset,
                                                  std::uint32_t data_length);
// OFFSET_HOLE (32 bytes). kZeroLength if hole_size is 0.
WireResult<std::size_t> encode_offset_hole(std::span<std::byte> out, std::uint16_t flags,
                                           std::uint64_t cookie, std::uint64_t offset,
                                           std::uint32_t hole_size);
// BLOCK_STATUS (24 + 8 x n bytes). kBadLength if there is no descriptor;
// kZeroLength if a descriptor has length 0; kTooLarge if the chunk length
// would not fit 32 bits.
WireResult<std::size_t> encode_block_status(std::span<std::byte> out, std::uint16_t flags,
                                            std::uint64_t cookie, std::uint32_t context_id,
                                            std::span<const BlockDescriptor> descriptors);
// ERROR (26 + message bytes). kZeroError if error is 0; kStringTooLong if
// the message exceeds kMaxStringLength.
WireResult<std::size_t> encode_error_chunk(std::span<std::byte> out, std::uint16_t flags,
                                           std::uint64_t cookie, std::uint32_t error,
                                           std::string_view message = {});
// ERROR_OFFSET (34 + message bytes). Same errors as encode_error_chunk.
WireResult<std::size_t> encode_error_offset_chunk(std::span<std::byte> out, std::uint16_t flags,
                                                  std::uint64_t cookie, std::uint32_t error,
                                                  std::string_view message, std::uint64_t offset);
// NONE (20 bytes), always with kReplyFlagDone.
WireResult<std::size_t> encode_none_chunk(std::span<std::byte> out, std::uint64_t cookie);

// Sizes of the chunks above, for sizing buffers.
constexpr std::size_t block_status_chunk_size(std::size_t descriptors) {
  return kChunkHeaderSize + 4 + kBlockDescriptorSize * descriptors;
}
constexpr std::size_t error_chunk_size(std::size_t message_length) {
  return kChunkHeaderSize + kErrorChunkFixedSize + message_length;
}
constexpr std::size_t error_offset_chunk_size(std::size_t message_length) {
  return kChunkHeaderSize + kErrorOffsetChunkFixedSize + message_length;
}

// A decoded chunk. Which fields are set depends on header.type:
// - NONE: nothing.
// - OFFSET_DATA: offset, data.
// - OFFSET_HOLE: offset, hole_size.
// - BLOCK_STATUS: context_id, descriptors.
// - ERROR: error, message. ERROR_OFFSET: error, message, offset.
// - other types with bit 15 set (unknown errors): error, message; the spec
//   says the client treats the reply as failed and may continue.
struct Chunk {
  ChunkHeader header;
  std::uint64_t offset = 0;
  std::uint32_t hole_size = 0;
  std::span<const std::byte> data;
  std::uint32_t context_id = 0;
  DescriptorList descriptors;
  std::uint32_t error = 0;
  std::string_view message;
};

// Decodes a chunk payload; `payload` must be exactly header.length bytes
// (kTruncated if shorter, kBadLength if longer). Errors:
// - kBadLength: NONE with a payload; OFFSET_DATA shorter than 9; OFFSET_HOLE
//   not 12; BLOCK_STATUS not 4 + 8n with n >= 1; ERROR shorter than 6 or not
//   6 + message length; ERROR_OFFSET shorter than 14 or not 14 + message
//   length; unknown error types shorter than 6.
// - kBadFlags: NONE without kReplyFlagDone.
// - kZeroLength: hole size 0, a descriptor of length 0.
// - kZeroError: error chunk with error 0.
// - kMessageOverrun: message length past the payload.
// - kStringTooLong: message longer than kMaxStringLength.
// - kUnknownType: any other type without bit 15 (including
//   BLOCK_STATUS_EXT, which needs extended headers); the client must
//   disconnect.
WireResult<Chunk> decode_chunk(const ChunkHeader& header, std::span<const std::byte> payload);

// For clients that receive OFFSET_DATA straight into the caller's buffer:
// decodes the 8-byte offset that starts the payload and returns the offset
// and the number of data bytes that follow. kBadType unless the header is
// OFFSET_DATA; kBadLength if header.length < 9; kTruncated if `prefix` is
// shorter than 8 bytes.
struct OffsetData {
  std::uint64_t offset = 0;
  std::uint32_t data_length = 0;
};
WireResult<OffsetData> decode_offset_data_prefix(const ChunkHeader& header,
                                                 std::span<const std::byte> prefix);

}  // namespace nbd
