// Human messages for WireError (see wire_result.hpp).
#include "nbd/wire_result.hpp"

namespace nbd {

const char* wire_error_message(WireError e) {
  switch (e) {
    case WireError::kOk: return "success";
    case WireError::kTruncated:
      return "message truncated: input ends before the end of the message";
    case WireError::kNoSpace: return "output buffer too small for the message";
    case WireError::kBadMagic: return "bad magic number";
    case WireError::kOldstyle: return "server uses oldstyle negotiation, which is not supported";
    case WireError::kBadLength: return "length field inconsistent with the message type";
    case WireError::kTooLarge: return "value too large for its field in the message";
    case WireError::kStringTooLong: return "string longer than 4096 bytes";
    case WireError::kStringHasNul: return "string contains a NUL byte";
    case WireError::kNameOverrun: return "name length runs past the end of the data";
    case WireError::kInfoCountMismatch:
      return "number of information requests does not match the option length";
    case WireError::kQueryOverrun: return "query length runs past the end of the option data";
    case WireError::kQueryCountMismatch:
      return "number of queries does not match the option length";
    case WireError::kMessageOverrun: return "error message length runs past the end of the chunk";
    case WireError::kBadType: return "message type not valid here";
    case WireError::kUnknownType: return "unknown reply or chunk type";
    case WireError::kBadFlags: return "unknown or inconsistent flags";
    case WireError::kZeroLength: return "length must be nonzero";
    case WireError::kZeroError: return "error chunk carries no error value";
    case WireError::kBadBlockSize: return "block size constraints violate the protocol";
    case WireError::kBadMetaContext: return "metadata context name lacks a 'namespace:' prefix";
  }
  return "unknown wire error";
}

}  // namespace nbd
