#include "blockdev/null_device.hpp"

#include <cstring>

namespace blockdev {

NullDevice::NullDevice(std::uint64_t size, bool read_only, bool zero_reads)
    : zero_reads_(zero_reads) {
  set_size(size);
  limits_.request_alignment = 1;
  limits_.memory_alignment = 1;
  limits_.preferred_size = 4096;
  limits_.read_only = read_only;
  limits_.needs_flush = false;
  limits_.supports_fua = true;
  limits_.supports_discard = true;
  limits_.supports_write_zeroes = true;
  limits_.supports_fast_zero = true;
  limits_.supports_block_status = true;
  limits_.supports_resize = true;
  limits_.supports_prefetch = false;
}

int NullDevice::check_transfer(std::span<const iovec> iov, std::size_t* bytes) const {
  if (iov.size() > limits_.max_iov) return -EINVAL;
  *bytes = iov_size(iov);
  return *bytes > limits_.max_transfer ? -EINVAL : 0;
}

coroutine_fn int NullDevice::preadv(std::uint64_t offset, std::span<const iovec> iov) {
  std::size_t bytes = 0;
  if (int ret = check_transfer(iov, &bytes)) return ret;
  if (int ret = check_range(size(), offset, bytes, -EINVAL)) return ret;
  if (zero_reads_) {
    for (const iovec& v : iov) std::memset(v.iov_base, 0, v.iov_len);
  }
  return 0;
}

coroutine_fn int NullDevice::pwritev(std::uint64_t offset, std::span<const iovec> iov,
                                     WriteFlags) {
  if (limits_.read_only) return -EPERM;
  std::size_t bytes = 0;
  if (int ret = check_transfer(iov, &bytes)) return ret;
  return check_range(size(), offset, bytes, -ENOSPC);
}

coroutine_fn int NullDevice::flush() { return 0; }

coroutine_fn int NullDevice::discard(std::uint64_t offset, std::uint64_t length, WriteFlags) {
  if (limits_.read_only) return -EPERM;
  return check_range(size(), offset, length, -EINVAL);
}

coroutine_fn int NullDevice::write_zeroes(std::uint64_t offset, std::uint64_t length,
                                          WriteFlags) {
  if (limits_.read_only) return -EPERM;
  return check_range(size(), offset, length, -ENOSPC);
}

coroutine_fn std::int64_t NullDevice::block_status(std::uint64_t offset, std::uint64_t length,
                                                   std::uint32_t* status) {
  if (length == 0) return -EINVAL;
  if (int ret = check_range(size(), offset, length, -EINVAL)) return ret;
  *status = zero_reads_ ? (kStatusHole | kStatusZero) : 0;
  // An int64_t cannot hold lengths of 2^63 and more: report the first part.
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(INT64_MAX);
  return static_cast<std::int64_t>(length < kMax ? length : kMax);
}

coroutine_fn int NullDevice::resize(std::uint64_t new_size) {
  if (limits_.read_only) return -EPERM;
  set_size(new_size);
  return 0;
}

}  // namespace blockdev
