#include "config/config.hpp"

namespace config {

const ExportSpec* Config::default_export() const {
  for (const ExportSpec& e : exports) {
    if (e.is_default) return &e;
  }
  return exports.empty() ? nullptr : &exports.front();
}

const ExportSpec* Config::find_export(std::string_view name) const {
  if (name.empty()) return default_export();
  for (const ExportSpec& e : exports) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

}  // namespace config
