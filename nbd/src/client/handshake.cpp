// client_handshake(): see nbd/client/handshake.hpp.
#include "nbd/client/handshake.hpp"

#include <sys/uio.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "nbd/handshake_wire.hpp"
#include "nbd/protocol.hpp"
#include "stream_io.hpp"

namespace nbd {
namespace {

using client_detail::recv_exact;
using client_detail::send_all;

// One handshake in progress: the socket, the deadline and the message for
// the caller.
class Negotiation {
 public:
  Negotiation(int fd, const HandshakeOptions& options, NegotiatedExport* out, std::string* error)
      : fd_(fd), options_(options), out_(out), error_(error) {
    if (options.timeout.enabled()) {
      timeout_ = corolib::IoTimeout::at(std::chrono::steady_clock::time_point(
          std::chrono::nanoseconds(options.timeout.deadline_ns())));
    }
  }

  coroutine_fn int run();

 private:
  int fail(int err, std::string message) {
    if (error_ != nullptr) *error_ = std::move(message);
    return err;
  }
  // The message for a socket error `err` while doing `what`.
  int io_fail(int err, const char* what) {
    if (err == -ECONNRESET)
      return fail(err, std::string("the server closed the connection ") + what);
    if (err == -ETIMEDOUT) return fail(err, std::string("handshake timed out ") + what);
    return fail(err, std::string(what) + ": " + std::strerror(-err));
  }

  coroutine_fn int send_bytes(const std::byte* p, std::size_t n, const char* what) {
    iovec iov{const_cast<std::byte*>(p), n};
    const int r = send_all(fd_, &iov, 1, timeout_);
    return r < 0 ? io_fail(r, what) : 0;
  }
  coroutine_fn int send_option(std::size_t length) {
    return send_bytes(buffer_.data(), length, "while sending an option");
  }
  // Reads one reply to `option` into reply_ (its data in data_).
  coroutine_fn int read_reply(std::uint32_t option);
  // A reply of an unexpected type to `option`.
  int unexpected(std::uint32_t option) {
    return fail(-EPROTO, "the server answered " + std::string(option_name(option)) + " with " +
                             std::string(reply_type_name(reply_.header.type)) + " (type " +
                             std::to_string(reply_.header.type) + ")");
  }
  // An error reply to GO or EXPORT_NAME: the export cannot be used.
  int refused(std::uint32_t option);

  coroutine_fn int structured_reply();
  coroutine_fn int set_meta_context();
  // 1: the server does not support GO (fall back to EXPORT_NAME).
  coroutine_fn int go();
  coroutine_fn int export_name();

  int fd_;
  const HandshakeOptions& options_;
  NegotiatedExport* out_;
  std::string* error_;
  corolib::IoTimeout timeout_;
  std::vector<std::byte> buffer_ =
      std::vector<std::byte>(kOptionHeaderSize + kMaxStringLength + 64);
  std::vector<std::byte> data_;
  OptionReply reply_;
};

coroutine_fn int Negotiation::read_reply(std::uint32_t option) {
  std::array<std::byte, kOptionReplyHeaderSize> raw;
  const std::string what = "while waiting for the reply to " + std::string(option_name(option));
  if (int r = recv_exact(fd_, raw.data(), raw.size(), timeout_); r < 0) {
    return io_fail(r, what.c_str());
  }
  auto header = decode_option_reply_header(raw);
  if (!header)
    return fail(-EPROTO, "bad option reply from the server: " + std::string(header.message()));
  if (header->option != option) {
    return fail(-EPROTO, "the server answered " + std::string(option_name(header->option)) +
                             " while " + std::string(option_name(option)) + " was pending");
  }
  if (header->length > kMaxOptionLength) {
    return fail(-EPROTO, "option reply of " + std::to_string(header->length) + " bytes to " +
                             std::string(option_name(option)) + " (at most " +
                             std::to_string(kMaxOptionLength) + " accepted)");
  }
  data_.resize(header->length);
  if (int r = recv_exact(fd_, data_.data(), data_.size(), timeout_); r < 0) {
    return io_fail(r, what.c_str());
  }
  auto reply = decode_option_reply(*header, data_);
  if (!reply) {
    return fail(-EPROTO, "malformed " + std::string(reply_type_name(header->type)) + " reply to " +
                             std::string(option_name(option)) + ": " + reply.message());
  }
  reply_ = *reply;
  return 0;
}

int Negotiation::refused(std::uint32_t option) {
  const std::uint32_t type = reply_.header.type;
  std::string message = "the server refused export '" + out_->name + "' (" +
                        std::string(reply_type_name(type)) + " to " +
                        std::string(option_name(option)) + ")";
  if (!reply_.text.empty()) message += ": " + std::string(reply_.text);
  switch (type) {
    case kRepErrUnknown:
      return fail(-ENOENT, std::move(message));
    case kRepErrPolicy:
      return fail(-EACCES, std::move(message));
    case kRepErrShutdown:
      return fail(-ESHUTDOWN, std::move(message));
    case kRepErrTlsReqd:
    case kRepErrBlockSizeReqd:
    case kRepErrExtHeaderReqd:
      return fail(-EOPNOTSUPP, std::move(message));
    case kRepErrInvalid:
    case kRepErrTooBig:
      return fail(-EINVAL, std::move(message));
    default:
      return fail(-EIO, std::move(message));  // NBD_REP_ERR_PLATFORM, unknown errors
  }
}

coroutine_fn int Negotiation::structured_reply() {
  auto n = encode_option(buffer_, kOptStructuredReply, {});
  if (int r = send_option(*n); r < 0) return r;
  if (int r = read_reply(kOptStructuredReply); r < 0) return r;
  if (reply_.header.type == kRepAck) {
    out_->structured_replies = true;
  } else if (!is_error_reply(reply_.header.type)) {
    return unexpected(kOptStructuredReply);
  }
  return 0;
}

coroutine_fn int Negotiation::set_meta_context() {
  const std::string_view query = kMetaContextBaseAllocation;
  auto n = encode_opt_meta_context(buffer_, kOptSetMetaContext, out_->name, {&query, 1});
  if (!n)
    return fail(-EINVAL, "cannot encode NBD_OPT_SET_META_CONTEXT: " + std::string(n.message()));
  if (int r = send_option(*n); r < 0) return r;
  for (;;) {
    if (int r = read_reply(kOptSetMetaContext); r < 0) return r;
    const std::uint32_t type = reply_.header.type;
    if (type == kRepAck || is_error_reply(type)) return 0;  // an error: no context, no harm
    if (type != kRepMetaContext) return unexpected(kOptSetMetaContext);
    if (reply_.name == kMetaContextBaseAllocation) {
      out_->base_allocation = true;
      out_->base_allocation_id = reply_.context_id;
    }
  }
}

coroutine_fn int Negotiation::go() {
  const std::uint16_t infos[] = {kInfoBlockSize};
  auto n = encode_opt_info_go(buffer_, kOptGo, out_->name, infos);
  if (!n) return fail(-EINVAL, "cannot encode NBD_OPT_GO: " + std::string(n.message()));
  if (int r = send_option(*n); r < 0) return r;
  bool have_export = false;
  for (;;) {
    if (int r = read_reply(kOptGo); r < 0) return r;
    const std::uint32_t type = reply_.header.type;
    if (type == kRepErrUnsup) return 1;
    if (is_error_reply(type)) return refused(kOptGo);
    if (type == kRepAck) break;
    if (type != kRepInfo) return unexpected(kOptGo);
    if (reply_.info_type == kInfoExport) {
      out_->size = reply_.export_info.size;
      out_->transmission_flags = reply_.export_info.transmission_flags;
      have_export = true;
    } else if (reply_.info_type == kInfoBlockSize) {
      out_->block_size = reply_.block_size;
      out_->block_size_advertised = true;
    }
  }
  if (!have_export)
    return fail(-EPROTO, "the server acknowledged NBD_OPT_GO without NBD_INFO_EXPORT");
  out_->used_go = true;
  return 0;
}

coroutine_fn int Negotiation::export_name() {
  auto n = encode_opt_export_name(buffer_, out_->name);
  if (!n) return fail(-EINVAL, "cannot encode NBD_OPT_EXPORT_NAME: " + std::string(n.message()));
  if (int r = send_option(*n); r < 0) return r;
  std::array<std::byte, kExportNameReplySize> raw;
  const std::size_t size = out_->no_zeroes ? kExportNameReplyShortSize : kExportNameReplySize;
  if (int r = recv_exact(fd_, raw.data(), size, timeout_); r < 0) {
    if (r == -ECONNRESET) {
      return fail(r, "the server closed the connection after NBD_OPT_EXPORT_NAME '" + out_->name +
                         "' (unknown export?)");
    }
    return io_fail(r, "while waiting for the reply to NBD_OPT_EXPORT_NAME");
  }
  auto info = decode_export_name_reply({raw.data(), size}, out_->no_zeroes);
  if (!info) return fail(-EPROTO, "bad NBD_OPT_EXPORT_NAME reply: " + std::string(info.message()));
  out_->size = info->size;
  out_->transmission_flags = info->transmission_flags;
  out_->used_go = false;
  return 0;
}

coroutine_fn int Negotiation::run() {
  *out_ = NegotiatedExport{};
  out_->name = std::string(options_.export_name);
  if (WireError e = check_string(out_->name); e != WireError::kOk) {
    return fail(-EINVAL, "invalid export name: " + std::string(wire_error_message(e)));
  }

  std::array<std::byte, kServerGreetingSize> greeting;
  if (int r = recv_exact(fd_, greeting.data(), greeting.size(), timeout_); r < 0) {
    return io_fail(r, "while waiting for the greeting");
  }
  auto flags = decode_server_greeting(greeting);
  if (!flags) {
    if (flags.error() == WireError::kOldstyle) {
      return fail(-EOPNOTSUPP, "the server uses oldstyle negotiation, which is not supported");
    }
    return fail(-EPROTO, "not an NBD server: " + std::string(flags.message()));
  }
  out_->handshake_flags = *flags;
  out_->fixed_newstyle = (*flags & kFlagFixedNewstyle) != 0;
  out_->no_zeroes = (*flags & kFlagNoZeroes) != 0;

  std::uint32_t client_flags = 0;
  if (out_->fixed_newstyle) client_flags |= kFlagCFixedNewstyle;
  if (out_->no_zeroes) client_flags |= kFlagCNoZeroes;
  std::array<std::byte, kClientFlagsSize> raw_flags;
  (void)encode_client_flags(raw_flags, client_flags);
  if (int r = send_bytes(raw_flags.data(), raw_flags.size(), "while sending the client flags");
      r < 0) {
    return r;
  }

  if (out_->fixed_newstyle) {
    if (options_.structured_replies) {
      if (int r = structured_reply(); r < 0) return r;
    }
    if (out_->structured_replies && options_.base_allocation) {
      if (int r = set_meta_context(); r < 0) return r;
    }
    const int r = go();
    if (r <= 0) return r;
  }
  // Not fixed newstyle, or GO unsupported: an old server. A meta context
  // selected before GO stays selected for EXPORT_NAME of the same export.
  return export_name();
}

}  // namespace

coroutine_fn int client_handshake(int fd, const HandshakeOptions& options, NegotiatedExport* out,
                                  std::string* error) {
  corolib::assert_in_coroutine("nbd::client_handshake");
  Negotiation negotiation(fd, options, out, error);
  return negotiation.run();
}

}  // namespace nbd
