// open_device(): opens the BlockDevice that DeviceOptions describe.
//
// Contract
// - Synchronous (open, statx, ftruncate): call it at start-up or from a
//   thread that may block, not from a request coroutine.
// - On success, result.device is set and result.error is 0. On failure the
//   device is null, error is -errno and message is one line naming the path
//   or option and the problem (for example "open /x.img: No such file or
//   directory", "size: required for format=null"). Never throws for bad
//   input (only std::bad_alloc).
#pragma once

#include <memory>
#include <string>

#include "blockdev/block_device.hpp"
#include "blockdev/device_options.hpp"

namespace blockdev {

struct OpenResult {
  std::unique_ptr<BlockDevice> device;
  int error = 0;
  std::string message;

  explicit operator bool() const { return device != nullptr; }
};

OpenResult open_device(const DeviceOptions& options);

}  // namespace blockdev
