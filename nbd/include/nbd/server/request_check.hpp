// check_request(): the server's verdict on a transmission request before it
// touches the device — the "Bad requests" rules of docs/PROTOCOL.md.
//
// Contract
// - Pure function: no I/O, no allocation; safe on any thread, per request.
// - Returns kErrNone when the request may run, or the NBD error to answer
//   with (and a short message for structured error chunks). Checks, in this
//   order: unknown command (EINVAL); a flag the command does not accept given
//   the transmission flags (EINVAL); WRITE, TRIM or WRITE_ZEROES on a
//   read-only export (EPERM); READ, WRITE or CACHE longer than
//   maximum_payload (EINVAL); BLOCK_STATUS without a selected metadata
//   context or of length 0 (EINVAL); offset or length not a multiple of
//   minimum_block_size (EINVAL); a range past the end of the export (ENOSPC
//   for WRITE and WRITE_ZEROES, EINVAL otherwise). FLUSH ignores offset and
//   length. NBD_CMD_DISC is not checked here (the session handles it first).
// - A rejected WRITE's payload must still be read and discarded to keep the
//   stream in sync; when it is longer than kMaxDiscardedPayload the server
//   disconnects instead (must_disconnect()).
#pragma once

#include <cstdint>

#include "nbd/protocol.hpp"
#include "nbd/transmission_wire.hpp"

namespace nbd {

// What a session negotiated, as check_request() needs it.
struct RequestPolicy {
  std::uint64_t size = 0;                 // export size now
  std::uint16_t transmission_flags = 0;   // as advertised to this client
  std::uint32_t minimum_block_size = 1;   // enforced alignment (1: none)
  std::uint32_t maximum_payload = kMaxRequestPayload;
  bool read_only = false;
  bool block_status_context = false;      // base:allocation selected
};

struct RequestVerdict {
  std::uint32_t error = kErrNone;  // NBD error value; kErrNone: run it
  const char* message = "";        // for NBD_REPLY_TYPE_ERROR; never null
  explicit operator bool() const { return error == kErrNone; }
};

// The longest rejected WRITE payload the server reads and discards.
inline constexpr std::uint64_t kMaxDiscardedPayload = 2ull * kMaxRequestPayload;

RequestVerdict check_request(const Request& req, const RequestPolicy& policy);

// True for commands that modify the export.
constexpr bool is_write_command(std::uint16_t type) {
  return type == kCmdWrite || type == kCmdTrim || type == kCmdWriteZeroes;
}

// True when a rejected request cannot be skipped: a WRITE whose payload is
// longer than kMaxDiscardedPayload.
constexpr bool must_disconnect(const Request& req) {
  return command_has_payload(req.type) && req.length > kMaxDiscardedPayload;
}

}  // namespace nbd
