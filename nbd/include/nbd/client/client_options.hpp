// ClientOptions: how an nbd::Client connects and how many requests it keeps
// in flight.
//
// Contract
// - A plain value; the Client copies it at construction.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace nbd {

struct ClientOptions {
  // Requests on the wire at once (the size of the cookie table, allocated at
  // connect). Further requests wait, in FIFO order, for a reply to free a
  // cookie. At least 1.
  std::uint32_t max_in_flight = 64;

  // Negotiate NBD_OPT_STRUCTURED_REPLY (READ holes, BLOCK_STATUS, error
  // messages) and select the base:allocation metadata context.
  bool structured_replies = true;
  bool base_allocation = true;

  // Check every request against what the server advertised before sending
  // it (read-only, unsupported commands and flags, bounds, alignment to the
  // minimum block size, the maximum payload) and fail it locally, as libnbd
  // does by default. Turn off to send requests as given (to test servers).
  bool strict = true;

  // Time allowed for connect() plus the handshake; zero or negative: none.
  std::chrono::milliseconds connect_timeout{30000};

  // Bytes of the buffer replies are received into (allocated at connect; at
  // least 16 KiB). Small READ data is copied out of it; longer runs are
  // received straight into the caller's buffer.
  std::size_t receive_buffer = 256 * 1024;
};

}  // namespace nbd
