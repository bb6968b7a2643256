// PendingRequest: one request of the client while it is in flight (private
// to nbd_client).
//
// Contract
// - Lives on the stack of the coroutine that issued the request, which
//   stays suspended until `done` is set; the connection's cookie table and
//   reply reader refer to it only in between. After done.set() nobody but
//   its owner touches it.
// - Written by the reply reader (chunks, result), read by the owner after
//   done.wait(). One thread.
#pragma once

#include <cstddef>
#include <cstdint>

#include "corolib/co_event.hpp"
#include "nbd/client/extent.hpp"
#include "nbd/transmission_wire.hpp"

namespace nbd::client_detail {

struct PendingRequest {
  Request header;  // as sent; header.cookie is set when a cookie is taken

  std::byte* read_buf = nullptr;            // READ: header.length bytes
  const ExtentCallback* extents = nullptr;  // BLOCK_STATUS
  std::uint64_t next_extent = 0;            // BLOCK_STATUS: offset of the next extent

  std::uint64_t covered = 0;  // READ: bytes delivered by data and hole chunks
  bool chunked = false;       // a structured chunk arrived for it
  bool got_extents = false;   // a BLOCK_STATUS chunk arrived for it
  int error = 0;              // the first error chunk, as -errno

  int result = 0;  // the outcome, valid once done is set
  corolib::CoEvent done;
};

}  // namespace nbd::client_detail
