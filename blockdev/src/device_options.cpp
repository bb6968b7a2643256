#include "blockdev/device_options.hpp"

namespace blockdev {

const char* format_name(DeviceFormat format) {
  switch (format) {
    case DeviceFormat::raw: return "raw";
    case DeviceFormat::null: return "null";
  }
  return "?";
}

const char* cache_mode_name(CacheMode cache) {
  switch (cache) {
    case CacheMode::writeback: return "writeback";
    case CacheMode::none: return "none";
    case CacheMode::unsafe: return "unsafe";
  }
  return "?";
}

std::optional<DeviceFormat> parse_format(std::string_view name) {
  if (name == "raw") return DeviceFormat::raw;
  if (name == "null") return DeviceFormat::null;
  return std::nullopt;
}

std::optional<CacheMode> parse_cache_mode(std::string_view name) {
  if (name == "writeback") return CacheMode::writeback;
  if (name == "none") return CacheMode::none;
  if (name == "unsafe") return CacheMode::unsafe;
  return std::nullopt;
}

}  // namespace blockdev
