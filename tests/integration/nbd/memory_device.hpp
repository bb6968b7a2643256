// MemoryDevice: a BlockDevice in memory for the server tests, with
// instrumentation: counters, the number of operations running at once (and
// the most ever), holds that keep chosen requests "in flight" until the test
// releases them, a per-operation delay and error injection.
//
// Contract
// - Operations run on the server's loop thread (in request coroutines); the
//   accessors (contents, counters, hold/release) may be called from the test
//   thread at any time. The data is guarded by a std::mutex that is never
//   held across a yield.
// - Allocation is tracked in 4 KiB blocks: never-written, discarded and
//   (with may_unmap) zeroed whole blocks are holes that read as zeroes;
//   block_status() reports them as kStatusHole | kStatusZero.
// - A hold makes every operation whose range starts in [begin, end) wait
//   (polling every millisecond, yielding) until release().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <vector>

#include "blockdev/block_device.hpp"
#include "corolib/loop/timer.hpp"

namespace nbd_test {

class MemoryDevice final : public blockdev::BlockDevice {
 public:
  struct Options {
    std::uint64_t size = 16u << 20;
    bool read_only = false;
    std::uint32_t request_alignment = 1;
    std::uint32_t max_transfer = 32u << 20;
    bool block_status = true;
  };
  static constexpr std::uint64_t kBlock = 4096;

  explicit MemoryDevice(const Options& options)
      : data_(options.size), allocated_((options.size + kBlock - 1) / kBlock, false) {
    set_size(options.size);
    limits_.request_alignment = options.request_alignment;
    limits_.read_only = options.read_only;
    limits_.max_transfer = options.max_transfer;
    limits_.needs_flush = true;
    limits_.supports_fua = true;
    limits_.supports_discard = true;
    limits_.supports_write_zeroes = true;
    limits_.supports_fast_zero = true;
    limits_.supports_block_status = options.block_status;
    limits_.supports_prefetch = true;
  }

  const char* driver_name() const override { return "memory"; }

  coroutine_fn int preadv(std::uint64_t offset, std::span<const iovec> iov) override {
    Op op(*this, offset);
    ++reads;
    if (int e = injected()) return e;
    const std::size_t bytes = blockdev::iov_size(iov);
    if (bytes > limits_.max_transfer) return -EINVAL;
    if (int r = blockdev::check_range(size(), offset, bytes, -EINVAL)) return r;
    std::lock_guard<std::mutex> lock(mutex_);
    std::uint64_t pos = offset;
    for (const iovec& v : iov) {
      std::memcpy(v.iov_base, data_.data() + pos, v.iov_len);
      pos += v.iov_len;
    }
    return 0;
  }

  coroutine_fn int pwritev(std::uint64_t offset, std::span<const iovec> iov,
                           blockdev::WriteFlags flags) override {
    Op op(*this, offset);
    ++writes;
    if (blockdev::has(flags, blockdev::WriteFlags::fua)) ++fua_writes;
    if (limits_.read_only) return -EPERM;
    if (int e = injected()) return e;
    const std::size_t bytes = blockdev::iov_size(iov);
    if (bytes > limits_.max_transfer) return -EINVAL;
    if (int r = blockdev::check_range(size(), offset, bytes, -ENOSPC)) return r;
    std::lock_guard<std::mutex> lock(mutex_);
    std::uint64_t pos = offset;
    for (const iovec& v : iov) {
      std::memcpy(data_.data() + pos, v.iov_base, v.iov_len);
      pos += v.iov_len;
    }
    mark(offset, bytes, true, false);
    return 0;
  }

  coroutine_fn int flush() override {
    Op op(*this, 0);
    ++flushes;
    return injected();
  }

  coroutine_fn int discard(std::uint64_t offset, std::uint64_t length,
                           blockdev::WriteFlags) override {
    Op op(*this, offset);
    ++discards;
    if (limits_.read_only) return -EPERM;
    if (int e = injected()) return e;
    if (int r = blockdev::check_range(size(), offset, length, -EINVAL)) return r;
    std::lock_guard<std::mutex> lock(mutex_);
    mark(offset, length, false, true);
    return 0;
  }

  coroutine_fn int write_zeroes(std::uint64_t offset, std::uint64_t length,
                                blockdev::WriteFlags flags) override {
    Op op(*this, offset);
    ++zeroes;
    if (blockdev::has(flags, blockdev::WriteFlags::may_unmap)) ++zeroes_may_unmap;
    if (blockdev::has(flags, blockdev::WriteFlags::fast_only)) ++zeroes_fast;
    if (limits_.read_only) return -EPERM;
    if (int e = injected()) return e;
    if (int r = blockdev::check_range(size(), offset, length, -ENOSPC)) return r;
    std::lock_guard<std::mutex> lock(mutex_);
    std::memset(data_.data() + offset, 0, length);
    const bool unmap = blockdev::has(flags, blockdev::WriteFlags::may_unmap);
    mark(offset, length, !unmap, unmap);
    return 0;
  }

  coroutine_fn std::int64_t block_status(std::uint64_t offset, std::uint64_t length,
                                         std::uint32_t* status) override {
    Op op(*this, offset);
    ++block_statuses;
    if (length == 0) return -EINVAL;
    if (int r = blockdev::check_range(size(), offset, length, -EINVAL)) return r;
    if (!limits_.supports_block_status) {
      *status = 0;
      return static_cast<std::int64_t>(length);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const bool first = allocated_[offset / kBlock];
    *status = first ? 0 : (blockdev::kStatusHole | blockdev::kStatusZero);
    std::uint64_t end = offset;
    while (end < offset + length && allocated_[end / kBlock] == first) {
      end = (end / kBlock + 1) * kBlock;
    }
    return static_cast<std::int64_t>(std::min(end, offset + length) - offset);
  }

  coroutine_fn int prefetch(std::uint64_t offset, std::uint64_t length) override {
    Op op(*this, offset);
    ++prefetches;
    return blockdev::check_range(size(), offset, length, -EINVAL);
  }

  // --- for the test thread -------------------------------------------------

  std::vector<unsigned char> contents(std::uint64_t offset, std::size_t length) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return {data_.begin() + static_cast<std::ptrdiff_t>(offset),
            data_.begin() + static_cast<std::ptrdiff_t>(offset + length)};
  }
  void fill(std::uint64_t offset, const std::vector<unsigned char>& bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::memcpy(data_.data() + offset, bytes.data(), bytes.size());
    mark(offset, bytes.size(), true, false);
  }
  bool allocated(std::uint64_t offset) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return allocated_[offset / kBlock];
  }

  void hold(std::uint64_t begin, std::uint64_t end) {
    hold_begin_.store(begin);
    hold_end_.store(end);
  }
  void release() { hold_end_.store(0); }

  // Every operation sleeps this long first (yielding).
  std::atomic<int> delay_us{0};
  // Non-zero: every read/write/flush/discard/zero fails with -inject_errno.
  std::atomic<int> inject_errno{0};

  std::atomic<int> running{0};       // operations running now
  std::atomic<int> max_running{0};   // most at once
  std::atomic<int> held{0};          // operations waiting on a hold now
  std::atomic<std::uint64_t> reads{0}, writes{0}, fua_writes{0}, flushes{0}, discards{0},
      zeroes{0}, zeroes_may_unmap{0}, zeroes_fast{0}, block_statuses{0}, prefetches{0};

  std::uint64_t modifications() const { return writes + discards + zeroes; }

 private:
  // Counts an operation as running for its scope; applies holds and delays.
  class Op {
   public:
    coroutine_fn Op(MemoryDevice& d, std::uint64_t offset) : d_(d) {
      int now = ++d_.running;
      int seen = d_.max_running.load();
      while (now > seen && !d_.max_running.compare_exchange_weak(seen, now)) {
      }
      if (offset >= d_.hold_begin_.load() && offset < d_.hold_end_.load()) {
        ++d_.held;
        while (offset >= d_.hold_begin_.load() && offset < d_.hold_end_.load()) {
          corolib::co_sleep(std::chrono::milliseconds(1));
        }
        --d_.held;
      }
      if (int us = d_.delay_us.load(); us > 0) corolib::co_sleep(std::chrono::microseconds(us));
    }
    ~Op() { --d_.running; }

   private:
    MemoryDevice& d_;
  };

  int injected() const { return -inject_errno.load(); }

  // Blocks wholly inside [offset, offset + length) become holes (and read as
  // zeroes) when `unmap`; touched blocks become data when `allocate`.
  void mark(std::uint64_t offset, std::uint64_t length, bool allocate, bool unmap) {
    if (length == 0) return;
    const std::uint64_t end = offset + length;
    for (std::uint64_t b = offset / kBlock; b * kBlock < end; ++b) {
      const bool whole = b * kBlock >= offset && (b + 1) * kBlock <= end;
      if (unmap && whole) {
        allocated_[b] = false;
        std::memset(data_.data() + b * kBlock, 0,
                    std::min<std::uint64_t>(kBlock, data_.size() - b * kBlock));
      } else if (allocate) {
        allocated_[b] = true;
      }
    }
  }

  mutable std::mutex mutex_;
  std::vector<unsigned char> data_;
  std::vector<bool> allocated_;
  std::atomic<std::uint64_t> hold_begin_{0};
  std::atomic<std::uint64_t> hold_end_{0};
};

}  // namespace nbd_test
