// Names of protocol values and the errno mapping (see protocol.hpp).
#include "nbd/protocol.hpp"

#include <cerrno>

namespace nbd {

std::uint32_t errno_to_nbd(int err) {
  // Widen before negating: -INT_MIN is not an int.
  const long long magnitude = err < 0 ? -static_cast<long long>(err) : err;
  switch (magnitude) {
    case 0: return kErrNone;
    case EPERM:
    case EROFS: return kErrPerm;
    case EIO: return kErrIo;
    case ENOMEM: return kErrNoMem;
    case EINVAL: return kErrInval;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return kErrNoSpc;
    case EOVERFLOW: return kErrOverflow;
#if EOPNOTSUPP != ENOTSUP
    case EOPNOTSUPP:
#endif
    case ENOTSUP: return kErrNotSup;
    case ESHUTDOWN: return kErrShutdown;
    default: return kErrIo;
  }
}

int nbd_to_errno(std::uint32_t nbd_error) {
  switch (nbd_error) {
    case kErrNone: return 0;
    case kErrPerm: return EPERM;
    case kErrIo: return EIO;
    case kErrNoMem: return ENOMEM;
    case kErrInval: return EINVAL;
    case kErrNoSpc: return ENOSPC;
    case kErrOverflow: return EOVERFLOW;
    case kErrNotSup: return ENOTSUP;
    case kErrShutdown: return ESHUTDOWN;
    default: return EINVAL;
  }
}

std::string_view option_name(std::uint32_t option) {
  switch (option) {
    case kOptExportName: return "NBD_OPT_EXPORT_NAME";
    case kOptAbort: return "NBD_OPT_ABORT";
    case kOptList: return "NBD_OPT_LIST";
    case kOptPeekExport: return "NBD_OPT_PEEK_EXPORT";
    case kOptStartTls: return "NBD_OPT_STARTTLS";
    case kOptInfo: return "NBD_OPT_INFO";
    case kOptGo: return "NBD_OPT_GO";
    case kOptStructuredReply: return "NBD_OPT_STRUCTURED_REPLY";
    case kOptListMetaContext: return "NBD_OPT_LIST_META_CONTEXT";
    case kOptSetMetaContext: return "NBD_OPT_SET_META_CONTEXT";
    case kOptExtendedHeaders: return "NBD_OPT_EXTENDED_HEADERS";
    default: return "unknown";
  }
}

std::string_view reply_type_name(std::uint32_t reply_type) {
  switch (reply_type) {
    case kRepAck: return "NBD_REP_ACK";
    case kRepServer: return "NBD_REP_SERVER";
    case kRepInfo: return "NBD_REP_INFO";
    case kRepMetaContext: return "NBD_REP_META_CONTEXT";
    case kRepErrUnsup: return "NBD_REP_ERR_UNSUP";
    case kRepErrPolicy: return "NBD_REP_ERR_POLICY";
    case kRepErrInvalid: return "NBD_REP_ERR_INVALID";
    case kRepErrPlatform: return "NBD_REP_ERR_PLATFORM";
    case kRepErrTlsReqd: return "NBD_REP_ERR_TLS_REQD";
    case kRepErrUnknown: return "NBD_REP_ERR_UNKNOWN";
    case kRepErrShutdown: return "NBD_REP_ERR_SHUTDOWN";
    case kRepErrBlockSizeReqd: return "NBD_REP_ERR_BLOCK_SIZE_REQD";
    case kRepErrTooBig: return "NBD_REP_ERR_TOO_BIG";
    case kRepErrExtHeaderReqd: return "NBD_REP_ERR_EXT_HEADER_REQD";
    default: return "unknown";
  }
}

std::string_view info_name(std::uint16_t info) {
  switch (info) {
    case kInfoExport: return "NBD_INFO_EXPORT";
    case kInfoName: return "NBD_INFO_NAME";
    case kInfoDescription: return "NBD_INFO_DESCRIPTION";
    case kInfoBlockSize: return "NBD_INFO_BLOCK_SIZE";
    default: return "unknown";
  }
}

std::string_view command_name(std::uint16_t command) {
  switch (command) {
    case kCmdRead: return "NBD_CMD_READ";
    case kCmdWrite: return "NBD_CMD_WRITE";
    case kCmdDisc: return "NBD_CMD_DISC";
    case kCmdFlush: return "NBD_CMD_FLUSH";
    case kCmdTrim: return "NBD_CMD_TRIM";
    case kCmdCache: return "NBD_CMD_CACHE";
    case kCmdWriteZeroes: return "NBD_CMD_WRITE_ZEROES";
    case kCmdBlockStatus: return "NBD_CMD_BLOCK_STATUS";
    case kCmdResize: return "NBD_CMD_RESIZE";
    default: return "unknown";
  }
}

std::string_view chunk_type_name(std::uint16_t chunk_type) {
  switch (chunk_type) {
    case kReplyTypeNone: return "NBD_REPLY_TYPE_NONE";
    case kReplyTypeOffsetData: return "NBD_REPLY_TYPE_OFFSET_DATA";
    case kReplyTypeOffsetHole: return "NBD_REPLY_TYPE_OFFSET_HOLE";
    case kReplyTypeBlockStatus: return "NBD_REPLY_TYPE_BLOCK_STATUS";
    case kReplyTypeBlockStatusExt: return "NBD_REPLY_TYPE_BLOCK_STATUS_EXT";
    case kReplyTypeError: return "NBD_REPLY_TYPE_ERROR";
    case kReplyTypeErrorOffset: return "NBD_REPLY_TYPE_ERROR_OFFSET";
    default: return "unknown";
  }
}

std::string_view error_name(std::uint32_t nbd_error) {
  switch (nbd_error) {
    case kErrNone: return "success";
    case kErrPerm: return "NBD_EPERM";
    case kErrIo: return "NBD_EIO";
    case kErrNoMem: return "NBD_ENOMEM";
    case kErrInval: return "NBD_EINVAL";
    case kErrNoSpc: return "NBD_ENOSPC";
    case kErrOverflow: return "NBD_EOVERFLOW";
    case kErrNotSup: return "NBD_ENOTSUP";
    case kErrShutdown: return "NBD_ESHUTDOWN";
    default: return "unknown";
  }
}

}  // namespace nbd
