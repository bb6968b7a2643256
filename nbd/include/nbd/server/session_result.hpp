// SessionInfo and SessionResult: what the server reports about one
// connection, so that the daemon can log it (nbd/ itself never logs).
//
// Contract
// - Plain data; SessionInfo is passed to ServerOptions::on_negotiated when
//   transmission starts, SessionResult is returned by Server::serve() when
//   the connection has ended and every one of its requests has finished.
// - Counters are per connection and count requests as the server answered
//   them: `errors` counts error replies (rejected requests and device
//   errors), `bytes_read`/`bytes_written` only successful transfers.
#pragma once

#include <cstdint>
#include <string>

namespace nbd {

// Why a connection ended.
enum class SessionEnd : std::uint8_t {
  kDisconnect,       // NBD_CMD_DISC (the normal end)
  kClientClosed,     // the client closed the socket without NBD_CMD_DISC
  kAbort,            // NBD_OPT_ABORT during negotiation
  kHandshakeTimeout, // negotiation took longer than the handshake timeout
  kBadClientFlags,   // the client set a flag the server does not know
  kBadMagic,         // an option or request did not start with its magic
  kUnknownExport,    // NBD_OPT_EXPORT_NAME for an export that does not exist
  kBadOption,        // NBD_OPT_EXPORT_NAME with a malformed or oversized name
  kPayloadTooLarge,  // a rejected WRITE whose payload was too large to discard
  kSocketError,      // receiving or sending failed (SessionResult::error)
  kShutdown,         // Server::disconnect_all(), or refused (Server::refuse())
  kNoExports,        // the server had no exports when the connection began
};

// "disconnect", "client-closed", ...: for logs.
const char* session_end_name(SessionEnd end);

// Known once negotiation has finished.
struct SessionInfo {
  std::string export_name;         // canonical name of the export being served
  std::uint64_t size = 0;          // export size at negotiation
  std::uint16_t transmission_flags = 0;
  bool structured_replies = false;
  bool base_allocation = false;    // base:allocation was selected
  bool fixed_newstyle = false;     // the client set NBD_FLAG_C_FIXED_NEWSTYLE
  bool no_zeroes = false;          // the client set NBD_FLAG_C_NO_ZEROES
  bool export_name_option = false; // negotiated with NBD_OPT_EXPORT_NAME (not GO)
};

struct SessionCounters {
  std::uint64_t requests = 0;       // every request received (DISC included)
  std::uint64_t reads = 0;
  std::uint64_t writes = 0;
  std::uint64_t flushes = 0;
  std::uint64_t trims = 0;
  std::uint64_t write_zeroes = 0;
  std::uint64_t caches = 0;
  std::uint64_t block_statuses = 0;
  std::uint64_t errors = 0;         // error replies
  std::uint64_t bytes_read = 0;     // READ bytes sent (holes included)
  std::uint64_t bytes_written = 0;  // WRITE bytes stored
  std::uint32_t max_in_flight = 0;  // most requests in flight at once
  std::uint64_t options = 0;        // options received during negotiation
  // Socket calls of the transmission phase: one recv takes in every request
  // the client has sent, one sendmsg carries the replies finished together.
  std::uint64_t recv_calls = 0;
  std::uint64_t sendmsg_calls = 0;
  std::uint64_t recv_delays = 0;    // batching delays slept before a recv

};

struct SessionResult {
  SessionEnd end = SessionEnd::kClientClosed;
  int error = 0;            // -errno for kSocketError, else 0
  bool negotiated = false;  // transmission was reached; info is then valid
  SessionInfo info;
  SessionCounters counters;
};

}  // namespace nbd
