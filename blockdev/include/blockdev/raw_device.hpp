// RawDevice: a regular file or a block device served byte for byte, with
// every data operation going through io_uring (corolib co_* helpers).
//
// Contract (beyond BlockDevice's)
// - Caching (DeviceOptions::cache):
//   writeback  page cache; flush() = IORING_OP_FSYNC with DATASYNC.
//   none       O_DIRECT. Alignment from statx(STATX_DIOALIGN), else the
//              block device's logical block size, else 4096. Unaligned
//              requests (offset, length or buffers) go through a bounce
//              buffer; unaligned writes are read-modify-writes of the
//              covering aligned blocks, registered with a RequestTracker as
//              serialising so that no overlapping write runs meanwhile.
//   unsafe     page cache; flush() and FUA do nothing.
//   With O_DIRECT, a write to the last block of a device whose size is not
//   a multiple of the alignment rewrites that whole block, so the file may
//   grow up to the alignment boundary (the bytes past the device's end are
//   never served).
// - Page-cache writes without FUA are issued inline, as a synchronous
//   pwritev2() on the calling thread (unless DeviceOptions::inline_io is
//   off): io_uring hands every such write to an io-wq worker thread on file
//   systems without async buffered writes (ext4), a hand-off that costs
//   several times the write itself. The first try carries RWF_NOWAIT: where
//   the file system honours it (XFS, btrfs) the write cannot block, and
//   -EAGAIN sends it through io_uring. Once it is refused (-EOPNOTSUPP: ext4,
//   tmpfs, block devices), writes are issued plainly while the stall gate
//   (inline_write_gate.hpp) is open: a write that takes over 1 ms (it
//   blocked: dirty throttling, a read of a partly written page, a journal
//   wait, or the thread was preempted) sends writes through io_uring for
//   1 ms, doubling up to 10 s while stalls persist. FUA writes and O_DIRECT always use io_uring.
// - Page-cache reads are issued inline with RWF_NOWAIT (unless
//   DeviceOptions::inline_io is off): a hit is copied at once, saving the
//   ring round trip; -EAGAIN (pages not cached) sends the read through
//   io_uring, and so do all reads once the file system refuses RWF_NOWAIT
//   (-EOPNOTSUPP: tmpfs).
// - Size (DeviceOptions::size) may exceed the file's: the file is not
//   grown at open; it grows when written past its end.
// - No heap allocation per request: bounce buffers come from a per-device
//   pool (allocated on first use, at most 16 kept), zeroes from one shared
//   1 MiB buffer; tracker entries and lock tickets live on the coroutine's
//   stack.
// - FUA: the write carries RWF_DSYNC. flush(): fdatasync, skipped when no
//   write, discard, write_zeroes or resize has completed since the last
//   successful flush began. It covers the writes that completed before it
//   was called (generation counting, as QEMU's bdrv_co_flush).
// - Short transfers are resubmitted for the remainder. A read that reaches
//   the end of a file shorter than the device fills the rest with zeroes; a
//   write that makes no progress fails with -ENOSPC. (With O_DIRECT a short
//   read that stops inside an aligned block is taken as end of file.)
// - discard: fallocate(PUNCH_HOLE | KEEP_SIZE); when the file system refuses
//   (EOPNOTSUPP) it does nothing and succeeds, and stops trying.
// - write_zeroes on a regular file: may_unmap tries PUNCH_HOLE | KEEP_SIZE
//   first, then (or without may_unmap) ZERO_RANGE | KEEP_SIZE. On a block
//   device, for whole logical blocks only: PUNCH_HOLE with may_unmap (the
//   kernel zeroes with unmap, never by writing), else ZERO_RANGE unless
//   fast_only (the kernel may write zeroes itself). When none of that
//   applies or the file system refuses (EOPNOTSUPP, remembered), zeroes are
//   written from the shared zero buffer — unless fast_only was asked, which
//   then fails with -ENOTSUP having changed nothing.
// - block_status: SEEK_DATA / SEEK_HOLE (synchronous lseek, as in QEMU) on
//   regular files: holes, and the part past the end of a shorter file, are
//   kStatusHole | kStatusZero; everything else is data. (ZERO_RANGE leaves
//   unwritten extents, which ext4/XFS report as holes unless the page cache
//   holds pages of them.) Block devices report data.
// - resize (regular files, not read-only): takes the device's CoRwlock
//   exclusively — every I/O takes it shared — so it waits for requests in
//   flight and holds back new ones; then ftruncate()s the file to the new
//   size.
// - prefetch: IORING_OP_FADVISE(WILLNEED) with the page cache; a no-op with
//   O_DIRECT.
// - The file descriptor is closed by the destructor (synchronously).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "blockdev/block_device.hpp"
#include "blockdev/device_options.hpp"
#include "blockdev/open_device.hpp"
#include "blockdev/raw_device_hooks.hpp"
#include "blockdev/request_tracker.hpp"
#include "corolib/co_rwlock.hpp"

namespace blockdev {

class BouncePool;
class InlineWriteGate;

class RawDevice final : public BlockDevice {
 public:
  // Opens options.path as DeviceOptions says (format must be raw). hooks
  // (tests only) must outlive the device. Synchronous; see open_device.hpp
  // for the result.
  static OpenResult open(const DeviceOptions& options, RawDeviceHooks* hooks = nullptr);

  ~RawDevice() override;

  const char* driver_name() const override { return "raw"; }

  coroutine_fn int preadv(std::uint64_t offset, std::span<const iovec> iov) override;
  coroutine_fn int pwritev(std::uint64_t offset, std::span<const iovec> iov,
                           WriteFlags flags) override;
  coroutine_fn int flush() override;
  coroutine_fn int discard(std::uint64_t offset, std::uint64_t length, WriteFlags flags) override;
  coroutine_fn int write_zeroes(std::uint64_t offset, std::uint64_t length,
                                WriteFlags flags) override;
  coroutine_fn std::int64_t block_status(std::uint64_t offset, std::uint64_t length,
                                         std::uint32_t* status) override;
  coroutine_fn int prefetch(std::uint64_t offset, std::uint64_t length) override;
  coroutine_fn int resize(std::uint64_t new_size) override;

  CacheMode cache_mode() const { return cache_; }
  bool is_block_device() const { return is_block_device_; }
  const std::string& path() const { return path_; }

  // Whether page-cache reads and writes may be issued inline (see the
  // contract).
  bool inline_io() const { return inline_io_; }

  // The write tracker (O_DIRECT only), for tests and diagnostics.
  const RequestTracker& tracker() const { return tracker_; }

 private:
  RawDevice() = default;

  // System calls (through the hooks when set).
  // A read or write inline or through the ring, as the contract says.
  coroutine_fn int sys_preadv(std::uint64_t offset, std::span<const iovec> iov);
  coroutine_fn int ring_preadv(std::uint64_t offset, std::span<const iovec> iov);
  coroutine_fn int inline_preadv(std::uint64_t offset, std::span<const iovec> iov);
  coroutine_fn int sys_pwritev(std::uint64_t offset, std::span<const iovec> iov, int rw_flags);
  coroutine_fn int ring_pwritev(std::uint64_t offset, std::span<const iovec> iov, int rw_flags);
  coroutine_fn int inline_pwritev(std::uint64_t offset, std::span<const iovec> iov, int rw_flags);
  coroutine_fn int sys_fdatasync();
  coroutine_fn int sys_fallocate(int mode, std::uint64_t offset, std::uint64_t length);

  // Whole transfers: resubmit short ones; reads zero-fill past end of file.
  coroutine_fn int read_full(std::uint64_t offset, std::span<const iovec> iov, std::size_t bytes);
  coroutine_fn int write_full(std::uint64_t offset, std::span<const iovec> iov, std::size_t bytes,
                              int rw_flags);

  // The body of preadv/pwritev, after the checks and with the rwlock held.
  coroutine_fn int do_read(std::uint64_t offset, std::span<const iovec> iov, std::size_t bytes);
  coroutine_fn int do_write(std::uint64_t offset, std::span<const iovec> iov, std::size_t bytes,
                            int rw_flags);
  coroutine_fn int read_bounced(std::uint64_t offset, std::span<const iovec> iov,
                                std::size_t bytes);
  coroutine_fn int write_bounced(std::uint64_t offset, std::span<const iovec> iov,
                                 std::size_t bytes, int rw_flags);
  coroutine_fn int write_zero_buffer(std::uint64_t offset, std::uint64_t length, int rw_flags);
  coroutine_fn int zero_fallocate(std::uint64_t offset, std::uint64_t length, WriteFlags flags);

  bool is_direct_aligned(std::uint64_t offset, std::span<const iovec> iov,
                         std::size_t bytes) const;
  int fua_rw_flags(WriteFlags flags) const;
  std::chrono::steady_clock::time_point now() const;  // the hooks' clock in tests
  void note_modified() { write_gen_.fetch_add(1, std::memory_order_release); }

  int fd_ = -1;
  std::string path_;
  CacheMode cache_ = CacheMode::writeback;
  bool direct_ = false;
  bool is_block_device_ = false;
  std::uint32_t align_ = 1;      // request alignment (O_DIRECT), else 1
  std::uint32_t mem_align_ = 1;  // buffer alignment (O_DIRECT), else 1
  std::uint32_t zero_align_ = 1; // fallocate granularity (block devices)
  RawDeviceHooks* hooks_ = nullptr;

  // I/O shared, resize exclusive.
  corolib::CoRwlock resize_lock_;
  // Writes in flight (O_DIRECT only): read-modify-writes serialise.
  RequestTracker tracker_;
  std::unique_ptr<BouncePool> bounce_;
  // Inline I/O (page cache and DeviceOptions::inline_io); the stall gate of
  // inline writes (null when read-only or !inline_io_). nowait_*: the file
  // system has not refused RWF_NOWAIT yet.
  bool inline_io_ = false;
  std::unique_ptr<InlineWriteGate> inline_gate_;
  std::atomic<bool> nowait_reads_{true};
  std::atomic<bool> nowait_writes_{true};

  // Modifications completed (starts at 1 so that the first flush syncs) and
  // the generation the last successful flush covered.
  std::atomic<std::uint64_t> write_gen_{1};
  std::atomic<std::uint64_t> flushed_gen_{0};

  // Learned at run time: the file system refuses these fallocate modes.
  std::atomic<bool> no_punch_hole_{false};
  std::atomic<bool> no_zero_range_{false};
};

}  // namespace blockdev
