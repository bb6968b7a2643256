// NBD fixed-newstyle handshake messages: encode and decode.
//
//   S: greeting           NBDMAGIC, IHAVEOPT, u16 handshake flags      (18 bytes)
//   C: client flags       u32                                          (4 bytes)
//   C: option request     IHAVEOPT, u32 option, u32 length, data       (16 + length)
//   S: option reply       REPLY magic, u32 option, u32 type, u32 length, data
//   S: EXPORT_NAME reply  u64 size, u16 transmission flags [, 124 zeroes]
//
// Contract
// - Pure functions: no I/O, no allocation, no exceptions, no global state.
//   Safe on any thread.
// - Encoders write a whole message into `out` and return its size, or fail
//   without writing anything (kNoSpace when `out` is too small; other errors
//   when the arguments cannot be represented or would violate the spec).
// - Fixed-size decoders read the message from the front of `in` (extra bytes
//   are ignored) and fail with kTruncated when `in` is shorter.
// - Payload decoders take exactly the option data / reply data whose length
//   the header gave; every inconsistency between the lengths inside and that
//   length is an error. Strings and views in the results point into `in`.
// - Client-to-server strings (export names, queries) are checked against the
//   spec: at most kMaxStringLength bytes, no NUL. Server-to-client strings are
//   checked for length only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "nbd/protocol.hpp"
#include "nbd/wire_result.hpp"
#include "nbd/wire_views.hpp"

namespace nbd {

inline constexpr std::size_t kServerGreetingSize = 18;
inline constexpr std::size_t kClientFlagsSize = 4;
inline constexpr std::size_t kOptionHeaderSize = 16;
inline constexpr std::size_t kOptionReplyHeaderSize = 20;
inline constexpr std::size_t kExportNameReplySize = 134;      // with the 124 zeroes
inline constexpr std::size_t kExportNameReplyShortSize = 10;  // NO_ZEROES negotiated
inline constexpr std::uint32_t kInfoExportLength = 12;        // reply length of NBD_INFO_EXPORT
inline constexpr std::uint32_t kInfoBlockSizeLength = 14;     // reply length of NBD_INFO_BLOCK_SIZE

// Size and flags of an export (NBD_OPT_EXPORT_NAME reply, NBD_INFO_EXPORT).
struct ExportInfo {
  std::uint64_t size = 0;
  std::uint16_t transmission_flags = 0;
  friend bool operator==(const ExportInfo&, const ExportInfo&) = default;
};

// NBD_INFO_BLOCK_SIZE.
struct BlockSize {
  std::uint32_t minimum = kDefaultMinimumBlockSize;
  std::uint32_t preferred = kDefaultPreferredBlockSize;
  std::uint32_t maximum = kNoMaximumBlockSize;
  friend bool operator==(const BlockSize&, const BlockSize&) = default;
};

// kOk when b obeys the spec: minimum a power of 2 in [1, 64 KiB]; preferred a
// power of 2 >= max(minimum, 512); maximum a nonzero multiple of minimum or
// 0xffffffff. Otherwise kBadBlockSize.
WireError check_block_size(const BlockSize& b);

// kOk when s is a valid client string: <= kMaxStringLength bytes
// (kStringTooLong) and free of NUL bytes (kStringHasNul).
WireError check_string(std::string_view s);

// --- Greeting and client flags ----------------------------------------------------

WireResult<std::size_t> encode_server_greeting(std::span<std::byte> out,
                                               std::uint16_t handshake_flags);
// The handshake flags. kBadMagic unless the greeting starts NBDMAGIC IHAVEOPT;
// kOldstyle when the second magic is the oldstyle cliserv magic.
WireResult<std::uint16_t> decode_server_greeting(std::span<const std::byte> in);

WireResult<std::size_t> encode_client_flags(std::span<std::byte> out, std::uint32_t client_flags);
WireResult<std::uint32_t> decode_client_flags(std::span<const std::byte> in);

// What the spec demands of the server: kBadFlags (the server must then drop
// the connection) if the client set an unknown flag or one the server did
// not advertise; kOk otherwise.
WireError check_client_flags(std::uint32_t client_flags, std::uint16_t handshake_flags);

// --- Option requests (client -> server) --------------------------------------------

struct OptionHeader {
  std::uint32_t option = 0;
  std::uint32_t length = 0;  // bytes of option data that follow
  friend bool operator==(const OptionHeader&, const OptionHeader&) = default;
};

WireResult<std::size_t> encode_option_header(std::span<std::byte> out, const OptionHeader& h);
// kBadMagic unless the header starts with IHAVEOPT. The length is not
// limited here; the server compares it with kMaxOptionLength.
WireResult<OptionHeader> decode_option_header(std::span<const std::byte> in);

// A whole option: header plus `data` verbatim (ABORT, LIST, STARTTLS and
// STRUCTURED_REPLY have no data; tests use this for malformed options).
WireResult<std::size_t> encode_option(std::span<std::byte> out, std::uint32_t option,
                                      std::span<const std::byte> data);
// NBD_OPT_EXPORT_NAME: the data is the name.
WireResult<std::size_t> encode_opt_export_name(std::span<std::byte> out, std::string_view name);
// NBD_OPT_INFO / NBD_OPT_GO (`option`): u32 name length, name, u16 count,
// count x u16 info types.
WireResult<std::size_t> encode_opt_info_go(std::span<std::byte> out, std::uint32_t option,
                                           std::string_view name,
                                           std::span<const std::uint16_t> infos);
// NBD_OPT_LIST_META_CONTEXT / NBD_OPT_SET_META_CONTEXT (`option`): u32 name
// length, name, u32 count, count x (u32 length, query).
WireResult<std::size_t> encode_opt_meta_context(std::span<std::byte> out, std::uint32_t option,
                                                std::string_view name,
                                                std::span<const std::string_view> queries);

// Server side: parse the data of an option whose header was decoded.

// NBD_OPT_EXPORT_NAME data: the name (check_string errors).
WireResult<std::string_view> parse_export_name(std::span<const std::byte> data);

struct InfoGoRequest {
  std::string_view name;  // export name; empty selects the default export
  InfoList infos;         // NBD_INFO_* requested (may contain unknown values)
};
// NBD_OPT_INFO / NBD_OPT_GO data. kBadLength if shorter than 6 bytes;
// kNameOverrun if the name length exceeds data length - 6; check_string
// errors for the name; kInfoCountMismatch unless exactly count x 2 bytes
// follow the count.
WireResult<InfoGoRequest> parse_info_go(std::span<const std::byte> data);

struct MetaContextRequest {
  std::string_view name;  // export name
  StringList queries;     // each already checked with check_string
};
// NBD_OPT_LIST/SET_META_CONTEXT data. kBadLength if shorter than 8 bytes;
// kNameOverrun if the name length exceeds data length - 8; check_string
// errors for the name and each query; kQueryOverrun if a query length runs
// past the data; kQueryCountMismatch if the data ends before `count`
// queries or has bytes left after them.
WireResult<MetaContextRequest> parse_meta_context(std::span<const std::byte> data);

// A metadata context name or query split at its first colon
// ("base:allocation" -> "base", "allocation"). kBadMetaContext when there is
// no colon or the namespace is empty.
struct MetaContextName {
  std::string_view ns;
  std::string_view leaf;
};
WireResult<MetaContextName> split_meta_context(std::string_view name);

// The option reply type a server should send for a parse error: TOO_BIG for
// kTooLarge, INVALID for everything else.
constexpr std::uint32_t option_error_reply(WireError e) {
  return e == WireError::kTooLarge ? kRepErrTooBig : kRepErrInvalid;
}

// --- Option replies (server -> client) ---------------------------------------------

struct OptionReplyHeader {
  std::uint32_t option = 0;  // the option being answered
  std::uint32_t type = 0;    // NBD_REP_*
  std::uint32_t length = 0;  // bytes of reply data that follow
  friend bool operator==(const OptionReplyHeader&, const OptionReplyHeader&) = default;
};

WireResult<std::size_t> encode_option_reply_header(std::span<std::byte> out,
                                                   const OptionReplyHeader& h);
// kBadMagic unless the header starts with the option reply magic.
WireResult<OptionReplyHeader> decode_option_reply_header(std::span<const std::byte> in);

// Whole replies (header + data). Strings longer than kMaxStringLength are
// refused with kStringTooLong.
WireResult<std::size_t> encode_rep_ack(std::span<std::byte> out, std::uint32_t option);
WireResult<std::size_t> encode_rep_server(std::span<std::byte> out, std::uint32_t option,
                                          std::string_view name, std::string_view description = {});
WireResult<std::size_t> encode_rep_info_export(std::span<std::byte> out, std::uint32_t option,
                                               const ExportInfo& info);
WireResult<std::size_t> encode_rep_info_name(std::span<std::byte> out, std::uint32_t option,
                                             std::string_view name);
WireResult<std::size_t> encode_rep_info_description(std::span<std::byte> out, std::uint32_t option,
                                                    std::string_view description);
// kBadBlockSize when check_block_size() fails.
WireResult<std::size_t> encode_rep_info_block_size(std::span<std::byte> out, std::uint32_t option,
                                                   const BlockSize& block_size);
WireResult<std::size_t> encode_rep_meta_context(std::span<std::byte> out, std::uint32_t option,
                                                std::uint32_t context_id, std::string_view name);
// An error reply (`type` must have bit 31 set, else kBadType) with an
// optional message for the user.
WireResult<std::size_t> encode_rep_error(std::span<std::byte> out, std::uint32_t option,
                                         std::uint32_t type, std::string_view message = {});

// A decoded option reply. Which fields are set depends on header.type:
// - kRepAck: nothing (data must be empty).
// - kRepServer: name, text (the description, possibly empty).
// - kRepInfo: info_type, and for kInfoExport export_info, for kInfoName and
//   kInfoDescription text, for kInfoBlockSize block_size; raw is the info
//   payload after the type (unknown info types are not an error: the spec
//   says clients ignore them).
// - kRepMetaContext: context_id, name.
// - error types: text (the message, possibly empty).
struct OptionReply {
  OptionReplyHeader header;
  std::uint16_t info_type = 0;
  ExportInfo export_info;
  BlockSize block_size;
  std::uint32_t context_id = 0;
  std::string_view name;
  std::string_view text;
  std::span<const std::byte> raw;
};

// Decodes the data of a reply whose header was decoded. `data` must be
// exactly header.length bytes (kTruncated if shorter, kBadLength if longer).
// Errors: kBadLength (ACK with data; SERVER/META_CONTEXT shorter than 4; INFO
// shorter than 2; INFO_EXPORT not 12; INFO_BLOCK_SIZE not 14); kNameOverrun
// (SERVER name length past the data); kStringTooLong; kBadBlockSize;
// kUnknownType (a non-error reply type this code does not know).
WireResult<OptionReply> decode_option_reply(const OptionReplyHeader& header,
                                            std::span<const std::byte> data);

// --- NBD_OPT_EXPORT_NAME reply ---------------------------------------------------------

// u64 size, u16 flags, then 124 zero bytes unless no_zeroes (both sides
// negotiated NO_ZEROES). Returns 134 or 10.
WireResult<std::size_t> encode_export_name_reply(std::span<std::byte> out, const ExportInfo& info,
                                                 bool no_zeroes);
// Needs 10 bytes, or 134 unless no_zeroes; the padding is not inspected.
WireResult<ExportInfo> decode_export_name_reply(std::span<const std::byte> in, bool no_zeroes);

}  // namespace nbd
