// BlockLimits: what a BlockDevice accepts and what it does natively.
//
// Contract
// - Filled in by the driver when the device is opened; constant afterwards
//   (resize changes the size, never the limits). Plain data: read it from any
//   thread.
// - Alignments are powers of two. A request whose offset and length are
//   multiples of request_alignment, and whose buffers are aligned to
//   memory_alignment (every iovec base, and every iovec length a multiple of
//   request_alignment), is served zero-copy. Anything else is still served
//   correctly, through a bounce buffer and, for writes, read-modify-write of
//   the covering aligned blocks: alignment is a performance hint, never a
//   correctness requirement, for callers of BlockDevice.
// - The supports_* flags say what the device does *natively*: an operation
//   whose flag is false is still accepted and emulated (write_zeroes writes
//   zeroes, FUA becomes write + flush, discard does nothing), except that
//   write_zeroes with WriteFlags::fast_only fails with -ENOTSUP when
//   supports_fast_zero is false.
#pragma once

#include <cstdint>

namespace blockdev {

struct BlockLimits {
  // Offsets and lengths that are multiples of this are served without
  // read-modify-write (1: any byte granularity). 512 or 4096 with O_DIRECT.
  std::uint32_t request_alignment = 1;

  // Buffer address alignment needed for zero-copy I/O (1: any).
  std::uint32_t memory_alignment = 1;

  // The I/O size the device prefers (the file system block size): NBD's
  // "preferred block size".
  std::uint32_t preferred_size = 4096;

  // Largest length preadv/pwritev accept; longer requests fail with -EINVAL.
  // discard, write_zeroes and block_status take any length up to the size.
  std::uint32_t max_transfer = 32u << 20;

  // Largest iovec count preadv/pwritev accept (-EINVAL beyond).
  std::uint32_t max_iov = 1024;

  // The device rejects every modification with -EPERM.
  bool read_only = false;

  // flush() does real work (false: writes are durable or durability is not
  // promised, as with cache=unsafe or the null device).
  bool needs_flush = true;

  // pwritev(WriteFlags::fua) is done in one operation (RWF_DSYNC) rather
  // than emulated with a flush.
  bool supports_fua = false;

  // discard() may deallocate (punch holes); false: it is a no-op.
  bool supports_discard = false;

  // write_zeroes() is done without writing a buffer of zeroes (at least for
  // WriteFlags::may_unmap, or when the file system allows it).
  bool supports_write_zeroes = false;

  // write_zeroes(WriteFlags::fast_only) can succeed (NBD's FAST_ZERO).
  bool supports_fast_zero = false;

  // block_status() reports holes and zeroes (false: everything is data).
  bool supports_block_status = false;

  // resize() is implemented.
  bool supports_resize = false;

  // prefetch() does something (false: it is a no-op that succeeds).
  bool supports_prefetch = false;
};

}  // namespace blockdev
