#include "daemon/exports.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <stdexcept>

#include "blockdev/open_device.hpp"

namespace corobd {
namespace {

blockdev::CacheMode to_blockdev(config::CacheMode c) {
  switch (c) {
    case config::CacheMode::none: return blockdev::CacheMode::none;
    case config::CacheMode::unsafe: return blockdev::CacheMode::unsafe;
    case config::CacheMode::writeback: break;
  }
  return blockdev::CacheMode::writeback;
}

}  // namespace

OpenedExports open_exports(const config::Config& config) {
  OpenedExports out;
  auto registry = std::make_shared<nbd::ExportRegistry>();
  std::vector<OpenedExport> opened;
  for (const config::ExportSpec& spec : config.exports) {
    blockdev::DeviceOptions o;
    o.path = spec.file;
    o.readonly = spec.readonly;
    o.cache = to_blockdev(spec.cache);
    bool created = false;
    if (spec.format == config::ExportFormat::null) {
      o.format = blockdev::DeviceFormat::null;
      o.size = spec.size.value_or(0);
    } else {
      o.format = blockdev::DeviceFormat::raw;
      struct stat st;
      if (spec.create && ::stat(spec.file.c_str(), &st) != 0 && errno == ENOENT) {
        o.create = true;
        o.size = spec.size.value_or(0);
        created = true;
      }
    }
    blockdev::OpenResult r = blockdev::open_device(o);
    if (!r) {
      out.error = "export '" + spec.name + "': " + r.message;
      return out;
    }
    std::shared_ptr<blockdev::BlockDevice> device(std::move(r.device));
    try {
      registry->add(spec.name, device,
                    nbd::ExportOptions{.description = spec.description, .read_only = spec.readonly});
    } catch (const std::invalid_argument& e) {
      out.error = e.what();
      return out;
    }
    opened.push_back(OpenedExport{spec, std::move(device), created});
  }
  if (const config::ExportSpec* d = config.default_export()) {
    try {
      registry->set_default(d->name);
    } catch (const std::invalid_argument& e) {
      out.error = e.what();
      return out;
    }
  }
  out.registry = std::move(registry);
  out.exports = std::move(opened);
  return out;
}

std::string describe(const OpenedExport& e, bool is_default) {
  std::string s = "'" + e.spec.name + "': " + std::string(config::to_string(e.spec.format));
  if (!e.spec.file.empty()) s += " " + e.spec.file;
  s += ", " + config::format_size(e.device->size());
  s += ", cache=" + std::string(config::to_string(e.spec.cache));
  s += e.writable() ? ", read-write" : ", read-only";
  if (is_default) s += ", default";
  if (e.created) s += ", created";
  return s;
}

}  // namespace corobd
