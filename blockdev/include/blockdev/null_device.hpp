// NullDevice: a device with no storage, for measuring protocol overhead.
//
// Contract
// - Reads fill the buffers with zeroes (or, with zero_reads = false, leave
//   them untouched); writes, discard and write_zeroes succeed and store
//   nothing; flush succeeds at once. block_status reports the whole range as
//   one hole that reads as zeroes (as data when zero_reads is false).
// - Range and read-only checks are those of every BlockDevice.
// - Never yields; no allocation; thread-safe (resize is an atomic store).
#pragma once

#include <cstdint>

#include "blockdev/block_device.hpp"

namespace blockdev {

class NullDevice final : public BlockDevice {
 public:
  NullDevice(std::uint64_t size, bool read_only, bool zero_reads);

  const char* driver_name() const override { return "null"; }

  coroutine_fn int preadv(std::uint64_t offset, std::span<const iovec> iov) override;
  coroutine_fn int pwritev(std::uint64_t offset, std::span<const iovec> iov,
                           WriteFlags flags) override;
  coroutine_fn int flush() override;
  coroutine_fn int discard(std::uint64_t offset, std::uint64_t length, WriteFlags flags) override;
  coroutine_fn int write_zeroes(std::uint64_t offset, std::uint64_t length,
                                WriteFlags flags) override;
  coroutine_fn std::int64_t block_status(std::uint64_t offset, std::uint64_t length,
                                         std::uint32_t* status) override;
  coroutine_fn int resize(std::uint64_t new_size) override;

 private:
  int check_transfer(std::span<const iovec> iov, std::size_t* bytes) const;

  bool zero_reads_;
};

}  // namespace blockdev
