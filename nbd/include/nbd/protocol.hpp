// NBD protocol constants: magics, flags, option/reply/info/command/chunk
// types, error values and limits, as defined by the NetworkBlockDevice
// project's doc/proto.md (the spec), plus small pure helpers derived from it
// (names for logs, errno mapping, which command flags a command accepts).
//
// Contract
// - Every value here is exactly the one on the wire (host order; the wire
//   format code converts to big-endian). The spec's name is given next to
//   each constant so it can be grepped.
// - Nothing here allocates, blocks or touches global state; every function is
//   safe to call from any thread and from coroutines.
// - Extended headers (NBD_OPT_EXTENDED_HEADERS and its 64-bit messages) are
//   listed for completeness and for logging; corobd does not negotiate them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace nbd {

// --- Magics ------------------------------------------------------------------

inline constexpr std::uint64_t kNbdMagic = 0x4e42444d41474943;       // NBDMAGIC (INIT_PASSWD)
inline constexpr std::uint64_t kIHaveOpt = 0x49484156454f5054;       // IHAVEOPT
inline constexpr std::uint64_t kCliservMagic = 0x00420281861253;     // cliserv_magic (oldstyle)
inline constexpr std::uint64_t kOptionReplyMagic = 0x3e889045565a9;  // option reply magic
inline constexpr std::uint32_t kRequestMagic = 0x25609513;           // NBD_REQUEST_MAGIC
inline constexpr std::uint32_t kSimpleReplyMagic = 0x67446698;       // NBD_SIMPLE_REPLY_MAGIC
inline constexpr std::uint32_t kStructuredReplyMagic = 0x668e33ef;   // NBD_STRUCTURED_REPLY_MAGIC
inline constexpr std::uint32_t kExtendedRequestMagic = 0x21e41c71;   // NBD_EXTENDED_REQUEST_MAGIC
inline constexpr std::uint32_t kExtendedReplyMagic = 0x6e8a278c;     // NBD_EXTENDED_REPLY_MAGIC

// --- Handshake flags (16 bits, server -> client) -------------------------------

inline constexpr std::uint16_t kFlagFixedNewstyle = 1u << 0;  // NBD_FLAG_FIXED_NEWSTYLE
inline constexpr std::uint16_t kFlagNoZeroes = 1u << 1;       // NBD_FLAG_NO_ZEROES

// --- Client flags (32 bits, client -> server) ----------------------------------

inline constexpr std::uint32_t kFlagCFixedNewstyle = 1u << 0;  // NBD_FLAG_C_FIXED_NEWSTYLE
inline constexpr std::uint32_t kFlagCNoZeroes = 1u << 1;       // NBD_FLAG_C_NO_ZEROES
inline constexpr std::uint32_t kKnownClientFlags = kFlagCFixedNewstyle | kFlagCNoZeroes;

// --- Transmission flags (16 bits, per export) ----------------------------------

inline constexpr std::uint16_t kFlagHasFlags = 1u << 0;           // NBD_FLAG_HAS_FLAGS
inline constexpr std::uint16_t kFlagReadOnly = 1u << 1;           // NBD_FLAG_READ_ONLY
inline constexpr std::uint16_t kFlagSendFlush = 1u << 2;          // NBD_FLAG_SEND_FLUSH
inline constexpr std::uint16_t kFlagSendFua = 1u << 3;            // NBD_FLAG_SEND_FUA
inline constexpr std::uint16_t kFlagRotational = 1u << 4;         // NBD_FLAG_ROTATIONAL
inline constexpr std::uint16_t kFlagSendTrim = 1u << 5;           // NBD_FLAG_SEND_TRIM
inline constexpr std::uint16_t kFlagSendWriteZeroes = 1u << 6;    // NBD_FLAG_SEND_WRITE_ZEROES
inline constexpr std::uint16_t kFlagSendDf = 1u << 7;             // NBD_FLAG_SEND_DF
inline constexpr std::uint16_t kFlagCanMultiConn = 1u << 8;       // NBD_FLAG_CAN_MULTI_CONN
inline constexpr std::uint16_t kFlagSendResize = 1u << 9;         // NBD_FLAG_SEND_RESIZE
inline constexpr std::uint16_t kFlagSendCache = 1u << 10;         // NBD_FLAG_SEND_CACHE
inline constexpr std::uint16_t kFlagSendFastZero = 1u << 11;      // NBD_FLAG_SEND_FAST_ZERO
inline constexpr std::uint16_t kFlagBlockStatPayload = 1u << 12;  // NBD_FLAG_BLOCK_STAT_PAYLOAD

// --- Options (32 bits) ---------------------------------------------------------

inline constexpr std::uint32_t kOptExportName = 1;        // NBD_OPT_EXPORT_NAME
inline constexpr std::uint32_t kOptAbort = 2;             // NBD_OPT_ABORT
inline constexpr std::uint32_t kOptList = 3;              // NBD_OPT_LIST
inline constexpr std::uint32_t kOptPeekExport = 4;        // NBD_OPT_PEEK_EXPORT
inline constexpr std::uint32_t kOptStartTls = 5;          // NBD_OPT_STARTTLS
inline constexpr std::uint32_t kOptInfo = 6;              // NBD_OPT_INFO
inline constexpr std::uint32_t kOptGo = 7;                // NBD_OPT_GO
inline constexpr std::uint32_t kOptStructuredReply = 8;   // NBD_OPT_STRUCTURED_REPLY
inline constexpr std::uint32_t kOptListMetaContext = 9;   // NBD_OPT_LIST_META_CONTEXT
inline constexpr std::uint32_t kOptSetMetaContext = 10;   // NBD_OPT_SET_META_CONTEXT
inline constexpr std::uint32_t kOptExtendedHeaders = 11;  // NBD_OPT_EXTENDED_HEADERS

// --- Option reply types (32 bits); errors have bit 31 set -----------------------

inline constexpr std::uint32_t kRepErrBit = 1u << 31;
inline constexpr std::uint32_t kRepAck = 1;                        // NBD_REP_ACK
inline constexpr std::uint32_t kRepServer = 2;                     // NBD_REP_SERVER
inline constexpr std::uint32_t kRepInfo = 3;                       // NBD_REP_INFO
inline constexpr std::uint32_t kRepMetaContext = 4;                // NBD_REP_META_CONTEXT
inline constexpr std::uint32_t kRepErrUnsup = 0x80000001;          // NBD_REP_ERR_UNSUP
inline constexpr std::uint32_t kRepErrPolicy = 0x80000002;         // NBD_REP_ERR_POLICY
inline constexpr std::uint32_t kRepErrInvalid = 0x80000003;        // NBD_REP_ERR_INVALID
inline constexpr std::uint32_t kRepErrPlatform = 0x80000004;       // NBD_REP_ERR_PLATFORM
inline constexpr std::uint32_t kRepErrTlsReqd = 0x80000005;        // NBD_REP_ERR_TLS_REQD
inline constexpr std::uint32_t kRepErrUnknown = 0x80000006;        // NBD_REP_ERR_UNKNOWN
inline constexpr std::uint32_t kRepErrShutdown = 0x80000007;       // NBD_REP_ERR_SHUTDOWN
inline constexpr std::uint32_t kRepErrBlockSizeReqd = 0x80000008;  // NBD_REP_ERR_BLOCK_SIZE_REQD
inline constexpr std::uint32_t kRepErrTooBig = 0x80000009;         // NBD_REP_ERR_TOO_BIG
inline constexpr std::uint32_t kRepErrExtHeaderReqd = 0x8000000a;  // NBD_REP_ERR_EXT_HEADER_REQD

constexpr bool is_error_reply(std::uint32_t reply_type) { return (reply_type & kRepErrBit) != 0; }

// --- Information types (16 bits) for NBD_OPT_INFO / NBD_OPT_GO -------------------

inline constexpr std::uint16_t kInfoExport = 0;       // NBD_INFO_EXPORT
inline constexpr std::uint16_t kInfoName = 1;         // NBD_INFO_NAME
inline constexpr std::uint16_t kInfoDescription = 2;  // NBD_INFO_DESCRIPTION
inline constexpr std::uint16_t kInfoBlockSize = 3;    // NBD_INFO_BLOCK_SIZE

// --- Commands (16 bits) ------------------------------------------------------------

inline constexpr std::uint16_t kCmdRead = 0;         // NBD_CMD_READ
inline constexpr std::uint16_t kCmdWrite = 1;        // NBD_CMD_WRITE
inline constexpr std::uint16_t kCmdDisc = 2;         // NBD_CMD_DISC
inline constexpr std::uint16_t kCmdFlush = 3;        // NBD_CMD_FLUSH
inline constexpr std::uint16_t kCmdTrim = 4;         // NBD_CMD_TRIM
inline constexpr std::uint16_t kCmdCache = 5;        // NBD_CMD_CACHE
inline constexpr std::uint16_t kCmdWriteZeroes = 6;  // NBD_CMD_WRITE_ZEROES
inline constexpr std::uint16_t kCmdBlockStatus = 7;  // NBD_CMD_BLOCK_STATUS
inline constexpr std::uint16_t kCmdResize = 8;       // NBD_CMD_RESIZE

// --- Command flags (16 bits) ---------------------------------------------------------

inline constexpr std::uint16_t kCmdFlagFua = 1u << 0;         // NBD_CMD_FLAG_FUA
inline constexpr std::uint16_t kCmdFlagNoHole = 1u << 1;      // NBD_CMD_FLAG_NO_HOLE
inline constexpr std::uint16_t kCmdFlagDf = 1u << 2;          // NBD_CMD_FLAG_DF
inline constexpr std::uint16_t kCmdFlagReqOne = 1u << 3;      // NBD_CMD_FLAG_REQ_ONE
inline constexpr std::uint16_t kCmdFlagFastZero = 1u << 4;    // NBD_CMD_FLAG_FAST_ZERO
inline constexpr std::uint16_t kCmdFlagPayloadLen = 1u << 5;  // NBD_CMD_FLAG_PAYLOAD_LEN

// --- Structured reply chunks ----------------------------------------------------------

inline constexpr std::uint16_t kReplyFlagDone = 1u << 0;  // NBD_REPLY_FLAG_DONE

inline constexpr std::uint16_t kReplyTypeErrBit = 1u << 15;
inline constexpr std::uint16_t kReplyTypeNone = 0;              // NBD_REPLY_TYPE_NONE
inline constexpr std::uint16_t kReplyTypeOffsetData = 1;        // NBD_REPLY_TYPE_OFFSET_DATA
inline constexpr std::uint16_t kReplyTypeOffsetHole = 2;        // NBD_REPLY_TYPE_OFFSET_HOLE
inline constexpr std::uint16_t kReplyTypeBlockStatus = 5;       // NBD_REPLY_TYPE_BLOCK_STATUS
inline constexpr std::uint16_t kReplyTypeBlockStatusExt = 6;    // NBD_REPLY_TYPE_BLOCK_STATUS_EXT
inline constexpr std::uint16_t kReplyTypeError = 0x8001;        // NBD_REPLY_TYPE_ERROR
inline constexpr std::uint16_t kReplyTypeErrorOffset = 0x8002;  // NBD_REPLY_TYPE_ERROR_OFFSET

constexpr bool is_error_chunk(std::uint16_t chunk_type) {
  return (chunk_type & kReplyTypeErrBit) != 0;
}

// --- Metadata contexts ------------------------------------------------------------------

inline constexpr std::string_view kMetaContextBaseAllocation = "base:allocation";
inline constexpr std::string_view kMetaNamespaceBase = "base";
inline constexpr std::uint32_t kStateHole = 1u << 0;  // NBD_STATE_HOLE (base:allocation)
inline constexpr std::uint32_t kStateZero = 1u << 1;  // NBD_STATE_ZERO (base:allocation)

// --- Error values (32 bits, in simple replies and error chunks) ------------------------------

inline constexpr std::uint32_t kErrNone = 0;
inline constexpr std::uint32_t kErrPerm = 1;        // NBD_EPERM
inline constexpr std::uint32_t kErrIo = 5;          // NBD_EIO
inline constexpr std::uint32_t kErrNoMem = 12;      // NBD_ENOMEM
inline constexpr std::uint32_t kErrInval = 22;      // NBD_EINVAL
inline constexpr std::uint32_t kErrNoSpc = 28;      // NBD_ENOSPC
inline constexpr std::uint32_t kErrOverflow = 75;   // NBD_EOVERFLOW
inline constexpr std::uint32_t kErrNotSup = 95;     // NBD_ENOTSUP
inline constexpr std::uint32_t kErrShutdown = 108;  // NBD_ESHUTDOWN

// Host errno -> NBD error value. Accepts errno with either sign (I/O paths
// return -errno); 0 maps to 0. EROFS -> EPERM; EDQUOT and EFBIG -> ENOSPC;
// EOPNOTSUPP -> ENOTSUP; any other nonzero value -> EIO (the device failed in
// a way the protocol has no word for; EINVAL would blame the client).
std::uint32_t errno_to_nbd(int err);

// NBD error value -> positive host errno; 0 maps to 0. Values the spec does
// not define map to EINVAL, as the spec tells clients to treat them.
int nbd_to_errno(std::uint32_t nbd_error);

// --- Limits and defaults -------------------------------------------------------------------

// Longest string (export name, description, query, context name, message).
inline constexpr std::size_t kMaxStringLength = 4096;
// Largest READ/WRITE payload corobd accepts or sends, and its default maximum
// block size (2^25: the spec says shorter lengths SHOULD NOT be deemed a DoS).
inline constexpr std::uint32_t kMaxRequestPayload = 32u * 1024 * 1024;
// Largest option data corobd reads and parses; longer option data is
// discarded and answered with NBD_REP_ERR_TOO_BIG (INFO/GO with a 4096-byte
// name and every info type is ~4.1 KiB).
inline constexpr std::uint32_t kMaxOptionLength = 64u * 1024;
// Block size constraints (see "Block size constraints" in the spec).
inline constexpr std::uint32_t kMaxMinimumBlockSize = 64u * 1024;
inline constexpr std::uint32_t kMinPreferredBlockSize = 512;
inline constexpr std::uint32_t kDefaultMinimumBlockSize = 1;
inline constexpr std::uint32_t kDefaultPreferredBlockSize = 4096;
inline constexpr std::uint32_t kNoMaximumBlockSize = 0xffffffff;
// Reads up to this length must be served unfragmented when DF is supported.
inline constexpr std::uint32_t kMinDfReadLength = 64u * 1024;
// IANA port for NBD over TCP (corobd listens on UNIX sockets).
inline constexpr std::uint16_t kDefaultTcpPort = 10809;

// --- Command helpers ------------------------------------------------------------------------

constexpr bool is_known_command(std::uint16_t command) { return command <= kCmdBlockStatus; }

// True for commands followed by a payload of request.length bytes (without
// extended headers, only WRITE).
constexpr bool command_has_payload(std::uint16_t command) { return command == kCmdWrite; }

// The command flags the spec allows on `command`, given the transmission
// flags the server advertised. Anything outside the mask gets NBD_EINVAL.
// - FUA: on every command, when SEND_FUA was advertised.
// - DF: READ, when SEND_DF was advertised.
// - NO_HOLE: WRITE_ZEROES (advertised with SEND_WRITE_ZEROES).
// - FAST_ZERO: WRITE_ZEROES, when SEND_FAST_ZERO was advertised.
// - REQ_ONE: BLOCK_STATUS.
// Unknown commands allow nothing.
constexpr std::uint16_t allowed_command_flags(std::uint16_t command,
                                              std::uint16_t transmission_flags) {
  if (!is_known_command(command)) return 0;
  std::uint16_t mask = (transmission_flags & kFlagSendFua) ? kCmdFlagFua : 0;
  switch (command) {
    case kCmdRead:
      if (transmission_flags & kFlagSendDf) mask |= kCmdFlagDf;
      break;
    case kCmdWriteZeroes:
      if (transmission_flags & kFlagSendWriteZeroes) mask |= kCmdFlagNoHole;
      if (transmission_flags & kFlagSendFastZero) mask |= kCmdFlagFastZero;
      break;
    case kCmdBlockStatus: mask |= kCmdFlagReqOne; break;
    default: break;
  }
  return mask;
}

// --- Names for logs and messages ("unknown" for values not listed above) ----------------------

std::string_view option_name(std::uint32_t option);          // "NBD_OPT_GO"
std::string_view reply_type_name(std::uint32_t reply_type);  // "NBD_REP_ERR_UNSUP"
std::string_view info_name(std::uint16_t info);              // "NBD_INFO_BLOCK_SIZE"
std::string_view command_name(std::uint16_t command);        // "NBD_CMD_READ"
std::string_view chunk_type_name(std::uint16_t chunk_type);  // "NBD_REPLY_TYPE_OFFSET_DATA"
std::string_view error_name(std::uint32_t nbd_error);        // "NBD_EINVAL"

}  // namespace nbd
