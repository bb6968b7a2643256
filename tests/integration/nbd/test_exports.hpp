// The exports most server tests use, on MemoryDevices the test can inspect:
//   "disk"    16 MiB, writable, described, the default export
//   "ro"      1 MiB, served read-only
//   "aligned" 1 MiB, minimum block size 512 (enforced when negotiated)
#pragma once

#include <memory>

#include "memory_device.hpp"
#include "nbd/server/export_registry.hpp"

namespace nbd_test {

struct TestExports {
  std::shared_ptr<MemoryDevice> disk = std::make_shared<MemoryDevice>(MemoryDevice::Options{});
  std::shared_ptr<MemoryDevice> ro =
      std::make_shared<MemoryDevice>(MemoryDevice::Options{.size = 1u << 20});
  std::shared_ptr<MemoryDevice> aligned =
      std::make_shared<MemoryDevice>(MemoryDevice::Options{.size = 1u << 20});
  std::shared_ptr<nbd::ExportRegistry> registry = make();

  static constexpr const char* kDescription = "a disk for the tests";

  void release_all() {
    disk->release();
    ro->release();
    aligned->release();
  }

 private:
  std::shared_ptr<nbd::ExportRegistry> make() {
    auto r = std::make_shared<nbd::ExportRegistry>();
    r->add("disk", disk, {.description = kDescription});
    r->add("ro", ro, {.read_only = true});
    r->add("aligned", aligned, {.minimum_block_size = 512});
    return r;
  }
};

}  // namespace nbd_test
