// open_exports(): opens the block device of every export in a Config and
// builds the nbd::ExportRegistry the server offers.
//
// Contract
// - Synchronous start-up code (open, ftruncate): main thread, before the
//   loop runs. create=on creates a missing raw file as a sparse file of
//   `size` bytes (an existing file keeps its own size and is not touched).
// - On success: registry holds every export in config order, with the
//   default export set (default=on, else the first); opened lists them with
//   their devices (for the start-up summary and the final flush). On
//   failure: error is one line naming the export and the problem, and
//   nothing stays open (a file created for an earlier export stays: it is
//   a valid empty image).
// - No logging.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "blockdev/block_device.hpp"
#include "config/config.hpp"
#include "nbd/server/export_registry.hpp"

namespace corobd {

struct OpenedExport {
  config::ExportSpec spec;
  std::shared_ptr<blockdev::BlockDevice> device;
  bool created = false;  // create=on made the file now
  bool writable() const { return !spec.readonly && !device->limits().read_only; }
};

struct OpenedExports {
  std::shared_ptr<nbd::ExportRegistry> registry;
  std::vector<OpenedExport> exports;
  std::string error;
  bool ok() const { return registry != nullptr; }
};

OpenedExports open_exports(const config::Config& config);

// One line for the start-up summary: "'disk': raw /var/lib/x.img, 16 GiB,
// cache=writeback, read-write, default[, created]".
std::string describe(const OpenedExport& e, bool is_default);

}  // namespace corobd
