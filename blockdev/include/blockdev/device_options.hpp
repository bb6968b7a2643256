// DeviceOptions: everything needed to open a BlockDevice (open_device.hpp),
// plus the names of its enumerations as the config and the logs spell them.
//
// Contract
// - Plain data; validation happens in open_device(), which reports each bad
//   combination as -EINVAL with a message naming the option.
// - parse_*() accept exactly the spellings that *_name() produce.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace blockdev {

enum class DeviceFormat {
  raw,   // a file or block device, byte for byte
  null,  // no storage: reads return zeroes, writes are discarded
};

enum class CacheMode {
  writeback,  // page cache; flush = fdatasync
  none,       // O_DIRECT; flush = fdatasync (for metadata and the disk cache)
  unsafe,     // page cache; flush and FUA do nothing
};

struct DeviceOptions {
  // File or block device (raw). Ignored by null.
  std::string path;

  DeviceFormat format = DeviceFormat::raw;

  // Size in bytes. raw: 0 means the file's size; otherwise the device has
  // this size whatever the file's (a shorter file reads as zeroes past its
  // end and grows when written there; a longer one is served up to `size`).
  // null: required (> 0). With create, the size of the new file (required).
  std::uint64_t size = 0;

  bool readonly = false;

  CacheMode cache = CacheMode::writeback;

  // raw with the page cache (writeback, unsafe): reads, and writes without
  // FUA, are issued as synchronous preadv2()/pwritev2() calls on the
  // caller's thread rather than through io_uring (see raw_device.hpp).
  // false: always io_uring.
  bool inline_io = true;

  // raw: create a sparse file of `size` bytes if `path` does not exist.
  bool create = false;

  // null: reads fill the buffer with zeroes (true) or leave it untouched
  // (false: measures the protocol alone).
  bool null_zero_reads = true;
};

const char* format_name(DeviceFormat format);
const char* cache_mode_name(CacheMode cache);
std::optional<DeviceFormat> parse_format(std::string_view name);
std::optional<CacheMode> parse_cache_mode(std::string_view name);

}  // namespace blockdev
