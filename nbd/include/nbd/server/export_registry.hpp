// ExportRegistry: the exports a server offers, by name, and the default
// export a client gets when it asks for the empty name.
//
// Contract
// - Filled at start-up with add(); then handed to a Server (which keeps it
//   as a shared_ptr<const ExportRegistry>) and never changed again, so
//   lookups need no lock and are safe from any thread. To change the exports
//   the daemon builds a new registry and calls Server::set_exports().
// - add() throws std::invalid_argument for a duplicate name (start-up error).
// - find(""): the default export — the one passed to set_default(), else the
//   first added — unless an export is actually named "" (then that one).
//   find() of any other unknown name returns nullptr.
// - Exports are listed (NBD_OPT_LIST) in the order they were added.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "nbd/server/export.hpp"

namespace nbd {

class ExportRegistry {
 public:
  ExportRegistry() = default;

  // Adds an export; throws std::invalid_argument if its name is taken.
  void add(std::shared_ptr<const Export> exp);
  // Convenience: constructs the Export in place (same exceptions as Export).
  const Export& add(std::string name, std::shared_ptr<blockdev::BlockDevice> device,
                    ExportOptions options = {});

  // Makes `name` the default export; throws std::invalid_argument if there
  // is no such export.
  void set_default(std::string_view name);

  // The export for a client's name (see the contract), or nullptr.
  std::shared_ptr<const Export> find(std::string_view name) const;
  std::shared_ptr<const Export> default_export() const;

  const std::vector<std::shared_ptr<const Export>>& exports() const { return exports_; }
  std::size_t size() const { return exports_.size(); }
  bool empty() const { return exports_.empty(); }

 private:
  std::vector<std::shared_ptr<const Export>> exports_;
  std::size_t default_index_ = 0;
};

}  // namespace nbd
