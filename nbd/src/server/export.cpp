#include "nbd/server/export.hpp"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <utility>

#include "nbd/protocol.hpp"

namespace nbd {
namespace {

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw std::invalid_argument("export '" + name + "': " + what);
}

std::uint32_t round_down_pow2(std::uint32_t v) { return v == 0 ? 0 : std::bit_floor(v); }

}  // namespace

Export::Export(std::string name, std::shared_ptr<blockdev::BlockDevice> device,
               ExportOptions options)
    : name_(std::move(name)), device_(std::move(device)), options_(std::move(options)) {
  if (device_ == nullptr) fail(name_, "no device");
  if (check_string(name_) != WireError::kOk) {
    fail(name_.substr(0, 64), "name longer than 4096 bytes or containing NUL");
  }
  if (check_string(options_.description) != WireError::kOk) {
    fail(name_, "description longer than 4096 bytes or containing NUL");
  }
  const blockdev::BlockLimits& limits = device_->limits();
  read_only_ = options_.read_only || limits.read_only;

  BlockSize bs;
  bs.minimum = options_.minimum_block_size != 0
                   ? options_.minimum_block_size
                   : std::clamp<std::uint32_t>(limits.request_alignment, 1, kMaxMinimumBlockSize);
  if (options_.preferred_block_size != 0) {
    bs.preferred = options_.preferred_block_size;
  } else {
    std::uint32_t preferred = std::max({round_down_pow2(limits.preferred_size),
                                        kMinPreferredBlockSize, bs.minimum});
    bs.preferred = std::bit_ceil(preferred);
  }
  if (options_.maximum_block_size != 0) {
    bs.maximum = options_.maximum_block_size;
  } else {
    std::uint32_t maximum = std::min(kMaxRequestPayload, limits.max_transfer);
    if (bs.minimum > 0) maximum -= maximum % bs.minimum;
    bs.maximum = std::max(maximum, bs.minimum);
  }
  if (bs.maximum > kMaxRequestPayload) {
    fail(name_, "maximum block size over 32 MiB");
  }
  if (check_block_size(bs) != WireError::kOk) {
    fail(name_, "invalid block size constraints (minimum " + std::to_string(bs.minimum) +
                    ", preferred " + std::to_string(bs.preferred) + ", maximum " +
                    std::to_string(bs.maximum) + ")");
  }
  block_size_ = bs;
}

std::uint16_t Export::transmission_flags(bool structured_replies) const {
  std::uint16_t flags = kFlagHasFlags | kFlagCanMultiConn | kFlagSendCache;
  if (read_only_) {
    flags |= kFlagReadOnly;
  } else {
    flags |= kFlagSendFlush | kFlagSendFua | kFlagSendTrim | kFlagSendWriteZeroes |
             kFlagSendFastZero;
  }
  if (structured_replies) flags |= kFlagSendDf;
  return flags;
}

}  // namespace nbd
