// ServerOptions: the limits and policies of an NBD server (nbd/server/server.hpp).
//
// Contract
// - Plain data, copied into the Server at construction and constant
//   afterwards. Server's constructor throws std::invalid_argument for values
//   out of range (max_requests_in_flight 0, ...): start-up errors.
// - Nothing here is consulted per request except as a number already read.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

namespace nbd {

struct SessionInfo;

struct ServerOptions {
  // Requests in flight per connection: when this many are being served the
  // connection stops reading requests until one finishes (backpressure).
  std::uint32_t max_requests_in_flight = 32;

  // Payload bytes (READ and WRITE buffers) in flight per connection; the
  // connection also stops reading while a new request would exceed this.
  // A single request is always admitted when nothing else is in flight.
  std::uint64_t max_bytes_in_flight = 256u * 1024 * 1024;

  // Time a client has, from the server's greeting, to finish negotiation
  // (NBD_OPT_GO / NBD_OPT_EXPORT_NAME); after that it is disconnected.
  // zero: no limit. The daemon uses 10 s.
  std::chrono::milliseconds handshake_timeout{0};

  // Structured READ replies without NBD_CMD_FLAG_DF describe ranges that the
  // device reports as reading zeroes with NBD_REPLY_TYPE_OFFSET_HOLE chunks
  // instead of sending zeroes (block_status() queries before the read, as
  // qemu-nbd does). false: always NBD_REPLY_TYPE_OFFSET_DATA.
  bool sparse_reads = true;

  // Only READs at least this long are checked for holes: for short reads the
  // queries (two lseek(2) calls on a raw file) cost more than the zeroes
  // they save. 0: every READ.
  std::uint32_t sparse_read_min = 64u * 1024;

  // Bytes of idle request buffers kept for reuse (shared by every
  // connection of the server); buffers released beyond this are freed.
  std::size_t buffer_cache_bytes = 128u * 1024 * 1024;

  // Called once per connection, on the connection's thread, when
  // negotiation has finished and transmission starts (for the daemon's log).
  // Must not yield or block. May be empty.
  std::function<void(const SessionInfo&)> on_negotiated{};
};

}  // namespace nbd
