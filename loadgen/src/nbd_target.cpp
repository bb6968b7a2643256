#include "loadgen/nbd_target.hpp"

#include <cstring>

#include "nbd/protocol.hpp"

namespace loadgen {

nbd::ClientOptions NbdTarget::client_options(unsigned queue_depth) {
  nbd::ClientOptions o;
  o.max_in_flight = queue_depth + 1;
  // The load generator reads and writes; it needs neither block status nor
  // holes in replies (simple replies are cheaper to parse), but structured
  // replies give better error messages, and servers may require them for
  // nothing we use. Keep the defaults for maximal interoperability.
  return o;
}

NbdTarget::NbdTarget(nbd::NbdUri uri, unsigned queue_depth)
    : uri_(std::move(uri)), client_(client_options(queue_depth)) {}

coroutine_fn int NbdTarget::connect(std::string* error) {
  const int r = client_.connect(uri_);
  if (r < 0) {
    *error = client_.error_message().empty() ? std::strerror(-r) : client_.error_message();
    return r;
  }
  const nbd::NegotiatedExport& x = client_.export_info();
  info_.size = x.size;
  info_.min_block = x.block_size.minimum == 0 ? 1 : x.block_size.minimum;
  info_.preferred_block = x.block_size.preferred;
  info_.max_payload = x.max_payload();
  info_.read_only = x.read_only();
  info_.can_flush = x.can_flush();
  info_.can_fua = x.can_fua();
  info_.multi_conn = x.can_multi_conn();
  return 0;
}

coroutine_fn int NbdTarget::read(void* buf, std::uint32_t length, std::uint64_t offset) {
  return client_.read(buf, length, offset);
}

coroutine_fn int NbdTarget::write(const void* buf, std::uint32_t length, std::uint64_t offset,
                                  bool fua) {
  return client_.write(buf, length, offset, fua ? nbd::kCmdFlagFua : 0);
}

coroutine_fn int NbdTarget::flush() { return client_.flush(); }

coroutine_fn void NbdTarget::disconnect() {
  if (client_.connected()) {
    client_.disconnect();
  } else {
    client_.close();
  }
}

std::unique_ptr<Target> NbdTargetFactory::make(unsigned /*index*/, unsigned queue_depth) {
  return std::make_unique<NbdTarget>(uri_, queue_depth);
}

}  // namespace loadgen
