#include "blockdev/open_device.hpp"

#include <cerrno>

#include "blockdev/null_device.hpp"
#include "blockdev/raw_device.hpp"

namespace blockdev {

OpenResult open_device(const DeviceOptions& options) {
  switch (options.format) {
    case DeviceFormat::raw:
      return RawDevice::open(options);
    case DeviceFormat::null: {
      OpenResult result;
      if (options.size == 0) {
        result.error = -EINVAL;
        result.message = "size: required (> 0) for format=null";
        return result;
      }
      result.device = std::make_unique<NullDevice>(options.size, options.readonly,
                                                   options.null_zero_reads);
      return result;
    }
  }
  OpenResult result;
  result.error = -EINVAL;
  result.message = "format: unknown";
  return result;
}

}  // namespace blockdev
