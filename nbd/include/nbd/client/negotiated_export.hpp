// NegotiatedExport: what a client handshake settled with the server.
//
// Contract
// - A plain value, filled in by client_handshake() (nbd/client/handshake.hpp)
//   and kept by nbd::Client; read it on any thread once the handshake has
//   returned.
// - The helpers answer "may the client send this?" from the transmission
//   flags the server advertised; they never talk to the server.
#pragma once

#include <cstdint>
#include <string>

#include "nbd/handshake_wire.hpp"
#include "nbd/protocol.hpp"

namespace nbd {

struct NegotiatedExport {
  std::string name;  // the export name the client asked for ("" = default)

  std::uint64_t size = 0;
  std::uint16_t transmission_flags = 0;  // NBD_FLAG_* (kFlagHasFlags, kFlagReadOnly, ...)
  std::uint16_t handshake_flags = 0;     // the server's greeting flags

  // NBD_INFO_BLOCK_SIZE, or the spec's defaults (minimum 1, preferred 4096,
  // no maximum) when the server sent none (block_size_advertised false).
  BlockSize block_size;
  bool block_size_advertised = false;

  bool fixed_newstyle = false;           // the server offered NBD_FLAG_FIXED_NEWSTYLE
  bool no_zeroes = false;                // both sides set NO_ZEROES
  bool used_go = false;                  // NBD_OPT_GO (false: NBD_OPT_EXPORT_NAME fallback)
  bool structured_replies = false;       // NBD_OPT_STRUCTURED_REPLY acknowledged
  bool base_allocation = false;          // base:allocation selected by SET_META_CONTEXT
  std::uint32_t base_allocation_id = 0;  // its context id (meaningful if base_allocation)

  bool has(std::uint16_t flag) const { return (transmission_flags & flag) != 0; }
  bool read_only() const { return has(kFlagReadOnly); }
  bool can_flush() const { return has(kFlagSendFlush); }
  bool can_fua() const { return has(kFlagSendFua); }
  bool can_trim() const { return has(kFlagSendTrim); }
  bool can_write_zeroes() const { return has(kFlagSendWriteZeroes); }
  bool can_fast_zero() const { return has(kFlagSendFastZero); }
  bool can_cache() const { return has(kFlagSendCache); }
  bool can_df() const { return has(kFlagSendDf); }
  bool can_multi_conn() const { return has(kFlagCanMultiConn); }
  bool can_block_status() const { return base_allocation; }

  // The longest READ/WRITE/CACHE the client sends: the advertised maximum
  // block size, capped at 32 MiB (kMaxRequestPayload: larger requests may
  // get a server to drop the connection).
  std::uint32_t max_payload() const {
    return block_size.maximum < kMaxRequestPayload ? block_size.maximum : kMaxRequestPayload;
  }
};

}  // namespace nbd
