// Export: one named block device offered by the NBD server, and what the
// server advertises for it (transmission flags, block size constraints).
//
// Contract
// - Built at start-up (or when the daemon reloads its exports); immutable
//   afterwards, so any thread and any number of sessions may read it. The
//   constructor validates everything and throws std::invalid_argument with a
//   one-line message naming the export and the problem (the only exceptions
//   in the server: start-up errors).
// - The Export shares ownership of its BlockDevice: a session keeps its
//   Export (and so the device) alive until its last request has finished,
//   even if the daemon drops the export meanwhile.
// - Read-only when ExportOptions::read_only is set or the device is
//   read-only; the server then refuses every modification itself (EPERM),
//   before the device sees it.
// - Block size constraints (NBD_INFO_BLOCK_SIZE, see docs/PROTOCOL.md):
//     minimum   = options.minimum_block_size, else the device's
//                 request_alignment (1 for buffered files);
//     preferred = options.preferred_block_size, else
//                 max(device preferred_size, 512, minimum);
//     maximum   = options.maximum_block_size, else
//                 min(32 MiB, device max_transfer), rounded down to a
//                 multiple of the minimum.
//   They always satisfy nbd::check_block_size(). The maximum is also the
//   longest READ, WRITE and CACHE the server accepts.
// - Transmission flags (transmission_flags()): HAS_FLAGS, CAN_MULTI_CONN,
//   SEND_CACHE always; READ_ONLY on read-only exports, else SEND_FLUSH,
//   SEND_FUA, SEND_TRIM, SEND_WRITE_ZEROES, SEND_FAST_ZERO; SEND_DF when the
//   session negotiated structured replies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "blockdev/block_device.hpp"
#include "nbd/handshake_wire.hpp"

namespace nbd {

struct ExportOptions {
  // Shown by NBD_OPT_LIST and NBD_INFO_DESCRIPTION; empty: none. At most
  // 4096 bytes, no NUL.
  std::string description{};
  // Serve the device read-only even if it is writable.
  bool read_only = false;
  // Block size constraints; 0 takes the value derived from the device (see
  // the contract). Non-zero values must be valid per check_block_size()
  // together with the others.
  std::uint32_t minimum_block_size = 0;
  std::uint32_t preferred_block_size = 0;
  std::uint32_t maximum_block_size = 0;
};

class Export {
 public:
  // name: at most 4096 bytes, no NUL (may be empty: a client then reaches it
  // by the empty name too). device must not be null.
  Export(std::string name, std::shared_ptr<blockdev::BlockDevice> device,
         ExportOptions options = {});

  const std::string& name() const { return name_; }
  const std::string& description() const { return options_.description; }
  blockdev::BlockDevice& device() const { return *device_; }
  const std::shared_ptr<blockdev::BlockDevice>& device_ptr() const { return device_; }
  bool read_only() const { return read_only_; }

  // The current size of the device (changes only when the device is resized).
  std::uint64_t size() const { return device_->size(); }

  // Flags for NBD_INFO_EXPORT / the NBD_OPT_EXPORT_NAME reply.
  std::uint16_t transmission_flags(bool structured_replies) const;

  const BlockSize& block_size() const { return block_size_; }

 private:
  std::string name_;
  std::shared_ptr<blockdev::BlockDevice> device_;
  ExportOptions options_;
  bool read_only_ = false;
  BlockSize block_size_;
};

}  // namespace nbd
