// BlockDevice: what an NBD export serves — a range of bytes with a size,
// limits, and coroutine_fn operations on it.
//
// Contract
// - Every operation is coroutine_fn: call it from a coroutine running on a
//   thread that runs a corolib::EventLoop (the null device happens not to
//   yield, but callers must not rely on that). Any number of coroutines, on
//   any number of such threads, may call any operations concurrently; the
//   device serialises internally what must be serialised (overlapping
//   read-modify-writes, resize against I/O).
// - Operations return 0 (block_status: the extent length) or -errno. They
//   never throw and never log.
// - Ranges are [offset, offset + length) in bytes. A range that does not lie
//   within [0, size()) — including one whose end overflows — fails before
//   any I/O: -EINVAL for preadv, discard, block_status and prefetch; -ENOSPC
//   for pwritev and write_zeroes. Nothing is read or written for a rejected
//   request. A zero-length request at offset <= size() succeeds and does
//   nothing (block_status: -EINVAL, it must report a non-empty extent).
// - On a read-only device every modification (pwritev, discard,
//   write_zeroes, resize) fails with -EPERM before the range check; flush
//   and reads work.
// - preadv/pwritev take at most limits().max_transfer bytes in at most
//   limits().max_iov iovecs (-EINVAL otherwise). Callers need not align
//   anything (see block_limits.hpp); the iovecs' memory must stay valid and
//   unchanged (writes) until the call returns.
// - A successful pwritev, discard or write_zeroes is visible to every read
//   that starts after it returned. Concurrent overlapping requests have no
//   defined order among themselves, but never corrupt data outside the bytes
//   they address (read-modify-write never loses another request's write).
// - Durability: a write is durable after it returned with WriteFlags::fua, or
//   after a flush() that was *called* after the write returned (flush covers
//   every write that completed before it started, not those still running).
// - The device must outlive every call into it; destroy it only when no
//   request is in flight.
#pragma once

#include <sys/uio.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <span>

#include "blockdev/block_limits.hpp"
#include "corolib/coroutine.hpp"

namespace blockdev {

// Flags of the modifying operations. Which ones each operation accepts is
// stated at the operation; others are ignored.
enum class WriteFlags : std::uint32_t {
  none = 0,
  // Force unit access: durable when the call returns (NBD_CMD_FLAG_FUA).
  fua = 1u << 0,
  // write_zeroes may deallocate the range (NBD: absence of NO_HOLE).
  may_unmap = 1u << 1,
  // write_zeroes must be fast (no writing of a zero buffer) or fail with
  // -ENOTSUP, so that the caller can fall back (NBD_CMD_FLAG_FAST_ZERO).
  fast_only = 1u << 2,
};

constexpr WriteFlags operator|(WriteFlags a, WriteFlags b) {
  return static_cast<WriteFlags>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr WriteFlags operator&(WriteFlags a, WriteFlags b) {
  return static_cast<WriteFlags>(static_cast<std::uint32_t>(a) & static_cast<std::uint32_t>(b));
}
// True when every flag of `wanted` is set in `flags`.
constexpr bool has(WriteFlags flags, WriteFlags wanted) { return (flags & wanted) == wanted; }

// block_status() result bits, chosen to equal NBD's base:allocation flags.
// An extent with neither bit set is data (allocated, contents unknown).
inline constexpr std::uint32_t kStatusHole = 1u << 0;  // not allocated
inline constexpr std::uint32_t kStatusZero = 1u << 1;  // reads as zeroes

// 0 when [offset, offset + length) lies within [0, size), else `error`.
constexpr int check_range(std::uint64_t size, std::uint64_t offset, std::uint64_t length,
                          int error) {
  return (offset <= size && length <= size - offset) ? 0 : error;
}

// Sum of the iovec lengths.
inline std::size_t iov_size(std::span<const iovec> iov) {
  std::size_t total = 0;
  for (const iovec& v : iov) total += v.iov_len;
  return total;
}

class BlockDevice {
 public:
  BlockDevice(const BlockDevice&) = delete;
  BlockDevice& operator=(const BlockDevice&) = delete;
  virtual ~BlockDevice() = default;

  // Current size in bytes. Changes only through resize(); a snapshot when
  // read while a resize runs.
  std::uint64_t size() const { return size_.load(std::memory_order_acquire); }

  const BlockLimits& limits() const { return limits_; }

  // "raw", "null", ...: for logs and diagnostics.
  virtual const char* driver_name() const = 0;

  // Reads iov_size(iov) bytes at offset into iov. Bytes beyond the end of a
  // backing file that is shorter than the device read as zeroes.
  virtual coroutine_fn int preadv(std::uint64_t offset, std::span<const iovec> iov) = 0;

  // Writes iov_size(iov) bytes from iov at offset. Accepts WriteFlags::fua.
  virtual coroutine_fn int pwritev(std::uint64_t offset, std::span<const iovec> iov,
                                   WriteFlags flags) = 0;

  // Makes every write that completed before this call durable.
  virtual coroutine_fn int flush() = 0;

  // Advisory deallocation: afterwards the range reads as zeroes or as its old
  // contents (raw files: zeroes). Succeeds even when nothing was
  // deallocated. Accepts WriteFlags::fua.
  virtual coroutine_fn int discard(std::uint64_t offset, std::uint64_t length,
                                   WriteFlags flags) = 0;

  // Afterwards the range reads as zeroes. Accepts WriteFlags::fua,
  // may_unmap (deallocating is allowed) and fast_only (-ENOTSUP instead of
  // writing zeroes the slow way; nothing is changed then).
  virtual coroutine_fn int write_zeroes(std::uint64_t offset, std::uint64_t length,
                                        WriteFlags flags) = 0;

  // Describes the extent that starts at offset: stores kStatus* bits in
  // *status and returns its length (> 0, <= length; the rest of the range
  // may differ), or -errno. length must be > 0.
  virtual coroutine_fn std::int64_t block_status(std::uint64_t offset, std::uint64_t length,
                                                 std::uint32_t* status) = 0;

  // Hints that the range will be read soon (NBD_CMD_CACHE). Default: range
  // check only.
  virtual coroutine_fn int prefetch(std::uint64_t offset, std::uint64_t length) {
    return check_range(size(), offset, length, -EINVAL);
  }

  // Changes the size, after every request in flight has finished; requests
  // that arrive meanwhile wait and then see the new size. Bytes that a grow
  // adds read as zeroes. Default: -ENOTSUP.
  virtual coroutine_fn int resize(std::uint64_t new_size) {
    (void)new_size;
    return limits_.read_only ? -EPERM : -ENOTSUP;
  }

  // Single-buffer conveniences.
  coroutine_fn int pread(std::uint64_t offset, void* buf, std::size_t length) {
    const iovec iov{buf, length};
    return preadv(offset, {&iov, 1});
  }
  coroutine_fn int pwrite(std::uint64_t offset, const void* buf, std::size_t length,
                          WriteFlags flags = WriteFlags::none) {
    const iovec iov{const_cast<void*>(buf), length};
    return pwritev(offset, {&iov, 1}, flags);
  }

 protected:
  BlockDevice() = default;

  void set_size(std::uint64_t size) { size_.store(size, std::memory_order_release); }

  BlockLimits limits_;

 private:
  std::atomic<std::uint64_t> size_{0};
};

}  // namespace blockdev
