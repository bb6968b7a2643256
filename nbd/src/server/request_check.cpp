#include "nbd/server/request_check.hpp"

namespace nbd {
namespace {

RequestVerdict reject(std::uint32_t error, const char* message) { return {error, message}; }

bool has_range(std::uint16_t type) { return type != kCmdFlush; }

}  // namespace

RequestVerdict check_request(const Request& req, const RequestPolicy& policy) {
  if (!is_known_command(req.type) || req.type == kCmdDisc) {
    return reject(kErrInval, "unknown command");
  }
  if ((req.flags & ~allowed_command_flags(req.type, policy.transmission_flags)) != 0) {
    return reject(kErrInval, "flag not allowed on this command");
  }
  if (policy.read_only && is_write_command(req.type)) {
    return reject(kErrPerm, "export is read-only");
  }
  if ((req.type == kCmdRead || req.type == kCmdWrite || req.type == kCmdCache) &&
      req.length > policy.maximum_payload) {
    return reject(kErrInval, "request longer than the maximum block size");
  }
  if (req.type == kCmdBlockStatus) {
    if (!policy.block_status_context) return reject(kErrInval, "no metadata context selected");
    if (req.length == 0) return reject(kErrInval, "block status of length 0");
  }
  if (!has_range(req.type)) return {};
  const std::uint32_t align = policy.minimum_block_size;
  if (align > 1 && (req.offset % align != 0 || req.length % align != 0)) {
    return reject(kErrInval, "request not aligned to the minimum block size");
  }
  if (req.offset > policy.size || req.length > policy.size - req.offset) {
    if (req.type == kCmdWrite || req.type == kCmdWriteZeroes) {
      return reject(kErrNoSpc, "request past the end of the export");
    }
    return reject(kErrInval, "request past the end of the export");
  }
  return {};
}

}  // namespace nbd
