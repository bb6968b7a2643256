// nbd::Client: connecting, local request checks, and the commands. See
// nbd/client/client.hpp.
#include "nbd/client/client.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

#include "connection.hpp"
#include "corolib/loop/co_io.hpp"
#include "nbd/client/handshake.hpp"
#include "pending_request.hpp"

namespace nbd {

using client_detail::Connection;
using client_detail::PendingRequest;

Client::Client(const ClientOptions& options) : options_(options) {}

Client::~Client() = default;

int Client::fail(int err, std::string message) {
  error_ = std::move(message);
  return err;
}

bool Client::connected() const { return connection_ != nullptr && connection_->up(); }

std::uint32_t Client::in_flight() const {
  return connection_ != nullptr ? connection_->in_flight() : 0;
}

coroutine_fn int Client::connect(std::string_view uri) {
  NbdUri parsed;
  std::string message;
  if (!parse_nbd_uri(uri, &parsed, &message)) return fail(-EINVAL, "bad NBD URI: " + message);
  return connect(parsed);
}

coroutine_fn int Client::connect(const NbdUri& uri) {
  return connect_unix(uri.socket_path, uri.export_name);
}

coroutine_fn int Client::connect_unix(std::string_view socket_path, std::string_view export_name) {
  corolib::assert_in_coroutine("nbd::Client::connect_unix");
  if (connection_ != nullptr && connection_->reader_running()) {
    return fail(-EISCONN, "already connected");
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path) {
    return fail(-EINVAL, "bad socket path '" + std::string(socket_path) +
                             "' (empty or longer than " + std::to_string(sizeof addr.sun_path - 1) +
                             " bytes)");
  }
  std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(-errno, std::string("socket(AF_UNIX): ") + std::strerror(errno));

  const corolib::IoTimeout timeout = deadline();
  const int r =
      corolib::co_connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr, timeout);
  if (r < 0) {
    ::close(fd);
    return fail(r, "cannot connect to " + std::string(socket_path) + ": " + std::strerror(-r));
  }
  return negotiate(fd, export_name, timeout);
}

coroutine_fn int Client::connect_fd(int fd, std::string_view export_name) {
  corolib::assert_in_coroutine("nbd::Client::connect_fd");
  return negotiate(fd, export_name, deadline());
}

corolib::IoTimeout Client::deadline() const {
  if (options_.connect_timeout.count() <= 0) return {};
  return corolib::IoTimeout::at(std::chrono::steady_clock::now() + options_.connect_timeout);
}

coroutine_fn int Client::negotiate(int fd, std::string_view export_name,
                                   corolib::IoTimeout timeout) {
  if (connection_ != nullptr && connection_->reader_running()) {
    ::close(fd);
    return fail(-EISCONN, "already connected");
  }
  connection_.reset();
  error_.clear();

  HandshakeOptions handshake;
  handshake.export_name = export_name;
  handshake.structured_replies = options_.structured_replies;
  handshake.base_allocation = options_.base_allocation;
  handshake.timeout = timeout;
  std::string message;
  const int r = client_handshake(fd, handshake, &export_, &message);
  if (r < 0) {
    ::close(fd);
    return fail(r, "NBD handshake failed: " + message);
  }
  connection_ = std::make_unique<Connection>(fd, export_, options_, &error_);
  connection_->start();
  return 0;
}

// --- local checks ---------------------------------------------------------------------------

int Client::check(std::uint16_t type, std::uint16_t flags, std::uint64_t offset,
                  std::uint64_t count) const {
  if (connection_ == nullptr || !connection_->up()) return -ENOTCONN;
  if (!options_.strict) return 0;
  const NegotiatedExport& x = export_;
  switch (type) {
    case kCmdWrite:
      if (x.read_only()) return -EPERM;
      break;
    case kCmdTrim:
      if (x.read_only()) return -EPERM;
      if (!x.can_trim()) return -EOPNOTSUPP;
      break;
    case kCmdWriteZeroes:
      if (x.read_only()) return -EPERM;
      if (!x.can_write_zeroes()) return -EOPNOTSUPP;
      if ((flags & kCmdFlagFastZero) != 0 && !x.can_fast_zero()) return -EOPNOTSUPP;
      break;
    case kCmdFlush:
      if (!x.can_flush()) return -EOPNOTSUPP;
      break;
    case kCmdCache:
      if (!x.can_cache()) return -EOPNOTSUPP;
      break;
    case kCmdBlockStatus:
      if (!x.can_block_status()) return -EOPNOTSUPP;
      if (count == 0) return -EINVAL;
      break;
    default:
      break;
  }
  if ((flags & ~allowed_command_flags(type, x.transmission_flags)) != 0) return -EINVAL;
  if (type == kCmdFlush) return 0;
  if ((type == kCmdRead || type == kCmdWrite || type == kCmdCache) && count > x.max_payload()) {
    return -EINVAL;
  }
  const std::uint64_t minimum = x.block_size.minimum;
  if (minimum > 1 && (offset % minimum != 0 || count % minimum != 0)) return -EINVAL;
  if (offset > x.size || count > x.size - offset) {
    return type == kCmdWrite || type == kCmdWriteZeroes ? -ENOSPC : -EINVAL;
  }
  return 0;
}

// --- commands -----------------------------------------------------------------------------

namespace {

void prepare(PendingRequest& req, std::uint16_t type, std::uint16_t flags, std::uint64_t offset,
             std::uint32_t count) {
  req.header.type = type;
  req.header.flags = flags;
  req.header.offset = offset;
  req.header.length = count;
}

}  // namespace

coroutine_fn int Client::read(void* buf, std::uint32_t count, std::uint64_t offset,
                              std::uint16_t flags) {
  if (int r = check(kCmdRead, flags, offset, count); r < 0) return r;
  PendingRequest req;
  prepare(req, kCmdRead, flags, offset, count);
  req.read_buf = static_cast<std::byte*>(buf);
  return connection_->execute(req, nullptr);
}

coroutine_fn int Client::write(const void* buf, std::uint32_t count, std::uint64_t offset,
                               std::uint16_t flags) {
  if (int r = check(kCmdWrite, flags, offset, count); r < 0) return r;
  PendingRequest req;
  prepare(req, kCmdWrite, flags, offset, count);
  return connection_->execute(req, buf);
}

coroutine_fn int Client::flush(std::uint16_t flags) {
  if (int r = check(kCmdFlush, flags, 0, 0); r < 0) return r;
  PendingRequest req;
  prepare(req, kCmdFlush, flags, 0, 0);
  return connection_->execute(req, nullptr);
}

coroutine_fn int Client::trim(std::uint32_t count, std::uint64_t offset, std::uint16_t flags) {
  if (int r = check(kCmdTrim, flags, offset, count); r < 0) return r;
  PendingRequest req;
  prepare(req, kCmdTrim, flags, offset, count);
  return connection_->execute(req, nullptr);
}

coroutine_fn int Client::write_zeroes(std::uint32_t count, std::uint64_t offset,
                                      std::uint16_t flags) {
  if (int r = check(kCmdWriteZeroes, flags, offset, count); r < 0) return r;
  PendingRequest req;
  prepare(req, kCmdWriteZeroes, flags, offset, count);
  return connection_->execute(req, nullptr);
}

coroutine_fn int Client::cache(std::uint32_t count, std::uint64_t offset, std::uint16_t flags) {
  if (int r = check(kCmdCache, flags, offset, count); r < 0) return r;
  PendingRequest req;
  prepare(req, kCmdCache, flags, offset, count);
  return connection_->execute(req, nullptr);
}

coroutine_fn int Client::block_status(std::uint32_t count, std::uint64_t offset,
                                      ExtentCallback callback, std::uint16_t flags) {
  if (int r = check(kCmdBlockStatus, flags, offset, count); r < 0) return r;
  PendingRequest req;
  prepare(req, kCmdBlockStatus, flags, offset, count);
  req.extents = &callback;
  return connection_->execute(req, nullptr);
}

coroutine_fn int Client::block_status(std::uint32_t count, std::uint64_t offset,
                                      std::vector<Extent>* out, std::uint16_t flags) {
  out->clear();
  return block_status(
      count, offset, [out](const Extent& e) { out->push_back(e); }, flags);
}

// --- closing --------------------------------------------------------------------------------

coroutine_fn int Client::disconnect() {
  if (connection_ == nullptr) return -ENOTCONN;
  return connection_->disconnect();
}

coroutine_fn int Client::close() {
  if (connection_ == nullptr) return 0;
  return connection_->close();
}

}  // namespace nbd
