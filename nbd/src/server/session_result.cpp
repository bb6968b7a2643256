#include "nbd/server/session_result.hpp"

namespace nbd {

const char* session_end_name(SessionEnd end) {
  switch (end) {
    case SessionEnd::kDisconnect: return "disconnect";
    case SessionEnd::kClientClosed: return "client-closed";
    case SessionEnd::kAbort: return "abort";
    case SessionEnd::kHandshakeTimeout: return "handshake-timeout";
    case SessionEnd::kBadClientFlags: return "bad-client-flags";
    case SessionEnd::kBadMagic: return "bad-magic";
    case SessionEnd::kUnknownExport: return "unknown-export";
    case SessionEnd::kBadOption: return "bad-option";
    case SessionEnd::kPayloadTooLarge: return "payload-too-large";
    case SessionEnd::kSocketError: return "socket-error";
    case SessionEnd::kShutdown: return "shutdown";
    case SessionEnd::kNoExports: return "no-exports";
  }
  return "unknown";
}

}  // namespace nbd
