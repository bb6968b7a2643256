#include "handshake.hpp"

#include <chrono>
#include <utility>

#include "socket_io.hpp"

namespace nbd::server_detail {
namespace {

constexpr std::size_t kReplyBufferSize = 32u * 1024;  // > 2 x (4096-byte strings + headers)

// Options this server implements: over-long data gets TOO_BIG for these,
// UNSUP for the rest.
bool implemented(std::uint32_t option) {
  switch (option) {
    case kOptExportName:
    case kOptAbort:
    case kOptList:
    case kOptInfo:
    case kOptGo:
    case kOptStructuredReply:
    case kOptListMetaContext:
    case kOptSetMetaContext:
      return true;
    default:
      return false;
  }
}

}  // namespace

Handshake::Handshake(const SessionContext& ctx, const ExportRegistry& exports, bool refusing)
    : ctx_(ctx), exports_(exports), refusing_(refusing) {
  if (ctx_.options.handshake_timeout.count() > 0) {
    deadline_ = corolib::IoTimeout::at(std::chrono::steady_clock::now() +
                                       ctx_.options.handshake_timeout);
  }
}

coroutine_fn int Handshake::recv(void* buf, std::size_t n) {
  return recv_exact(ctx_.fd, buf, n, deadline_);
}

bool Handshake::fail_io(int ret) {
  if (ret == -ETIMEDOUT) {
    ctx_.end(SessionEnd::kHandshakeTimeout);
  } else {
    ctx_.end_io(ret);
  }
  return false;
}

template <class Encode>
coroutine_fn bool Handshake::append(Encode&& encode) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    WireResult<std::size_t> n =
        encode(std::span<std::byte>(out_.data() + out_len_, out_.capacity() - out_len_));
    if (n) {
      out_len_ += *n;
      return true;
    }
    if (n.error() != WireError::kNoSpace || out_len_ == 0) break;
    if (!flush()) return false;
  }
  // Only reachable through a bug: every string was validated before.
  ctx_.end(SessionEnd::kSocketError, -EPROTO);
  return false;
}

coroutine_fn bool Handshake::flush() {
  if (out_len_ == 0) return true;
  int ret = send_all(ctx_.fd, out_.data(), out_len_, deadline_);
  out_len_ = 0;
  if (ret < 0) return fail_io(ret);
  return true;
}

coroutine_fn Handshake::Step Handshake::reply_ack(std::uint32_t option) {
  if (!append([&](std::span<std::byte> b) { return encode_rep_ack(b, option); })) return Step::kEnd;
  return flush() ? Step::kContinue : Step::kEnd;
}

coroutine_fn Handshake::Step Handshake::reply_error(std::uint32_t option, std::uint32_t type,
                                                    std::string_view message) {
  if (!append([&](std::span<std::byte> b) { return encode_rep_error(b, option, type, message); })) {
    return Step::kEnd;
  }
  return flush() ? Step::kContinue : Step::kEnd;
}

coroutine_fn bool Handshake::run(Negotiated* out) {
  in_ = ctx_.pool.acquire(kMaxOptionLength);
  out_ = ctx_.pool.acquire(kReplyBufferSize);
  if (!in_ || !out_) {
    ctx_.end(SessionEnd::kSocketError, -ENOMEM);
    return false;
  }

  constexpr std::uint16_t kHandshakeFlags = kFlagFixedNewstyle | kFlagNoZeroes;
  if (!append([](std::span<std::byte> b) { return encode_server_greeting(b, kHandshakeFlags); }) ||
      !flush()) {
    return false;
  }

  std::byte flags_buf[kClientFlagsSize];
  if (int ret = recv(flags_buf, sizeof flags_buf); ret <= 0) return fail_io(ret);
  client_flags_ = decode_client_flags(flags_buf).value_or(0);
  if (check_client_flags(client_flags_, kHandshakeFlags) != WireError::kOk) {
    ctx_.end(SessionEnd::kBadClientFlags);
    return false;
  }

  for (;;) {
    std::byte header_buf[kOptionHeaderSize];
    if (int ret = recv(header_buf, sizeof header_buf); ret <= 0) return fail_io(ret);
    WireResult<OptionHeader> header = decode_option_header(header_buf);
    if (!header) {
      ctx_.end(SessionEnd::kBadMagic);
      return false;
    }
    ++ctx_.result->counters.options;
    const std::uint32_t option = header->option;
    const std::uint32_t length = header->length;

    Step step = Step::kContinue;
    if (length > in_.capacity()) {
      // Too long to parse: skip the data (bounded by the deadline).
      if (option == kOptExportName) {
        ctx_.end(SessionEnd::kBadOption);
        return false;
      }
      if (int ret = discard_exact(ctx_.fd, length, in_.data(), in_.capacity(), deadline_);
          ret < 0) {
        return fail_io(ret);
      }
      step = reply_error(option, implemented(option) ? kRepErrTooBig : kRepErrUnsup,
                         "option data too long");
    } else {
      if (length > 0) {
        if (int ret = recv(in_.data(), length); ret <= 0) return fail_io(ret);
      }
      std::span<const std::byte> data(in_.data(), length);
      if (option != kOptAbort && (refusing_ || ctx_.server.shutdown_requested())) {
        if (option == kOptExportName) {
          ctx_.end(SessionEnd::kShutdown);  // no way to answer it with an error
          return false;
        }
        step = refusing_ ? reply_error(option, kRepErrPolicy, "too many connections")
                         : reply_error(option, kRepErrShutdown, "server is shutting down");
      } else {
        step = handle_option(option, data, out);
      }
    }
    if (step == Step::kTransmission) return true;
    if (step == Step::kEnd) return false;
  }
}

coroutine_fn Handshake::Step Handshake::handle_option(std::uint32_t option,
                                                      std::span<const std::byte> data,
                                                      Negotiated* out) {
  switch (option) {
    case kOptExportName:
      return handle_export_name(data, out);
    case kOptAbort:
      // Best effort: the client may already have closed its end.
      if (append([](std::span<std::byte> b) { return encode_rep_ack(b, kOptAbort); })) flush();
      ctx_.end(SessionEnd::kAbort);
      return Step::kEnd;
    case kOptList:
      return handle_list(data);
    case kOptInfo:
    case kOptGo:
      return handle_info_go(option, data, out);
    case kOptStructuredReply:
      if (!data.empty()) return reply_error(option, kRepErrInvalid, "option takes no data");
      structured_ = true;
      return reply_ack(option);
    case kOptListMetaContext:
    case kOptSetMetaContext:
      return handle_meta_context(option, data);
    case kOptStartTls:
      return reply_error(option, kRepErrUnsup, "TLS is not offered on this server");
    default:
      return reply_error(option, kRepErrUnsup, "option not supported");
  }
}

void Handshake::fill(Negotiated* out, std::shared_ptr<const Export> exp, bool export_name) const {
  SessionInfo& info = out->info;
  info.export_name = exp->name();
  info.size = exp->size();
  info.transmission_flags = exp->transmission_flags(structured_);
  info.structured_replies = structured_;
  info.base_allocation = structured_ && meta_selected_ && meta_export_ == exp.get();
  info.fixed_newstyle = (client_flags_ & kFlagCFixedNewstyle) != 0;
  info.no_zeroes = (client_flags_ & kFlagCNoZeroes) != 0;
  info.export_name_option = export_name;
  out->exp = std::move(exp);
}

coroutine_fn Handshake::Step Handshake::handle_export_name(std::span<const std::byte> data,
                                                           Negotiated* out) {
  WireResult<std::string_view> name = parse_export_name(data);
  if (!name) {
    ctx_.end(SessionEnd::kBadOption);
    return Step::kEnd;
  }
  std::shared_ptr<const Export> exp = exports_.find(*name);
  if (exp == nullptr) {
    ctx_.end(exports_.empty() ? SessionEnd::kNoExports : SessionEnd::kUnknownExport);
    return Step::kEnd;
  }
  fill(out, std::move(exp), true);
  out->block_size_requested = false;
  const ExportInfo info{out->info.size, out->info.transmission_flags};
  const bool no_zeroes = out->info.no_zeroes;
  if (!append([&](std::span<std::byte> b) { return encode_export_name_reply(b, info, no_zeroes); }) ||
      !flush()) {
    return Step::kEnd;
  }
  return Step::kTransmission;
}

coroutine_fn Handshake::Step Handshake::handle_info_go(std::uint32_t option,
                                                       std::span<const std::byte> data,
                                                       Negotiated* out) {
  WireResult<InfoGoRequest> req = parse_info_go(data);
  if (!req) return reply_error(option, option_error_reply(req.error()), req.message());
  std::shared_ptr<const Export> exp = exports_.find(req->name);
  if (exp == nullptr) return reply_error(option, kRepErrUnknown, "unknown export");

  const ExportInfo info{exp->size(), exp->transmission_flags(structured_)};
  const BlockSize block_size = exp->block_size();
  bool ok = append([&](std::span<std::byte> b) { return encode_rep_info_export(b, option, info); });
  if (ok && req->infos.contains(kInfoName)) {
    ok = append([&](std::span<std::byte> b) { return encode_rep_info_name(b, option, exp->name()); });
  }
  if (ok && req->infos.contains(kInfoDescription) && !exp->description().empty()) {
    ok = append([&](std::span<std::byte> b) {
      return encode_rep_info_description(b, option, exp->description());
    });
  }
  if (ok) {
    ok = append(
        [&](std::span<std::byte> b) { return encode_rep_info_block_size(b, option, block_size); });
  }
  if (!ok) return Step::kEnd;
  if (reply_ack(option) != Step::kContinue) return Step::kEnd;
  if (option == kOptInfo) return Step::kContinue;

  const bool block_size_requested = req->infos.contains(kInfoBlockSize);
  fill(out, std::move(exp), false);
  out->block_size_requested = block_size_requested;
  return Step::kTransmission;
}

coroutine_fn Handshake::Step Handshake::handle_list(std::span<const std::byte> data) {
  if (!data.empty()) return reply_error(kOptList, kRepErrInvalid, "option takes no data");
  for (const auto& exp : exports_.exports()) {
    if (!append([&](std::span<std::byte> b) {
          return encode_rep_server(b, kOptList, exp->name(), exp->description());
        })) {
      return Step::kEnd;
    }
  }
  return reply_ack(kOptList);
}

coroutine_fn Handshake::Step Handshake::handle_meta_context(std::uint32_t option,
                                                            std::span<const std::byte> data) {
  const bool set = option == kOptSetMetaContext;
  if (set) {
    // Whatever happens below, an earlier selection does not survive.
    meta_selected_ = false;
    meta_export_ = nullptr;
  }
  if (!structured_) {
    return reply_error(option, kRepErrInvalid, "structured replies not negotiated");
  }
  WireResult<MetaContextRequest> req = parse_meta_context(data);
  if (!req) return reply_error(option, option_error_reply(req.error()), req.message());
  std::shared_ptr<const Export> exp = exports_.find(req->name);
  if (exp == nullptr) return reply_error(option, kRepErrUnknown, "unknown export");

  // Validate every query before answering any.
  bool match = !set && req->queries.empty();  // LIST without queries: everything
  for (std::string_view query : req->queries) {
    WireResult<MetaContextName> name = split_meta_context(query);
    if (!name) return reply_error(option, kRepErrInvalid, "query without a namespace");
    if (name->ns != kMetaNamespaceBase) continue;
    if (name->leaf == "allocation" || (!set && name->leaf.empty())) match = true;
  }
  if (set) {
    meta_selected_ = match;
    meta_export_ = exp.get();
  }
  if (match) {
    const std::uint32_t id = set ? kBaseAllocationContextId : 0;
    if (!append([&](std::span<std::byte> b) {
          return encode_rep_meta_context(b, option, id, kMetaContextBaseAllocation);
        })) {
      return Step::kEnd;
    }
  }
  return reply_ack(option);
}

}  // namespace nbd::server_detail
