#include "nbd/server/export_registry.hpp"

#include <stdexcept>
#include <string>
#include <utility>

namespace nbd {

void ExportRegistry::add(std::shared_ptr<const Export> exp) {
  if (exp == nullptr) throw std::invalid_argument("export registry: null export");
  for (const auto& e : exports_) {
    if (e->name() == exp->name()) {
      throw std::invalid_argument("export '" + exp->name() + "': duplicate export name");
    }
  }
  exports_.push_back(std::move(exp));
}

const Export& ExportRegistry::add(std::string name, std::shared_ptr<blockdev::BlockDevice> device,
                                  ExportOptions options) {
  auto exp = std::make_shared<const Export>(std::move(name), std::move(device), std::move(options));
  const Export& ref = *exp;
  add(std::move(exp));
  return ref;
}

void ExportRegistry::set_default(std::string_view name) {
  for (std::size_t i = 0; i < exports_.size(); ++i) {
    if (exports_[i]->name() == name) {
      default_index_ = i;
      return;
    }
  }
  throw std::invalid_argument("export '" + std::string(name) + "': no such export for the default");
}

std::shared_ptr<const Export> ExportRegistry::find(std::string_view name) const {
  for (const auto& e : exports_) {
    if (e->name() == name) return e;
  }
  if (name.empty()) return default_export();
  return nullptr;
}

std::shared_ptr<const Export> ExportRegistry::default_export() const {
  if (exports_.empty()) return nullptr;
  return exports_[default_index_];
}

}  // namespace nbd
