#include "transmission.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <utility>

namespace nbd::server_detail {
namespace {

// A structured READ reply describes at most this many ranges (data or hole);
// whatever the device reports beyond is sent as data.
constexpr int kMaxReadPieces = 16;
// A BLOCK_STATUS reply carries at most this many descriptors.
constexpr std::size_t kMaxDescriptors = 64;
// The receive buffer: room for a burst of requests (31 4 KiB writes with
// their headers).
constexpr std::size_t kReceiveBufferSize = 128u * 1024;
// Room for the header of any reply but BLOCK_STATUS (error chunks included).
constexpr std::size_t kReplyHeaderRoom = 160;

using blockdev::WriteFlags;

}  // namespace

Transmission::Transmission(const SessionContext& ctx, const Negotiated& negotiated)
    : ctx_(ctx),
      exp_(negotiated.exp),
      device_(exp_->device()),
      structured_(negotiated.info.structured_replies),
      sparse_reads_(ctx.options.sparse_reads && device_.limits().supports_block_status),
      sparse_read_min_(ctx.options.sparse_read_min),
      counters_(ctx.result->counters),
      max_in_flight_(ctx.options.max_requests_in_flight),
      max_bytes_in_flight_(ctx.options.max_bytes_in_flight),
      sender_(ctx.fd) {
  policy_.transmission_flags = negotiated.info.transmission_flags;
  policy_.minimum_block_size = negotiated.block_size_requested ? exp_->block_size().minimum : 1;
  policy_.maximum_payload = exp_->block_size().maximum;
  policy_.read_only = exp_->read_only();
  policy_.block_status_context = negotiated.info.base_allocation;
}

coroutine_fn void Transmission::run() {
  RequestBuffer buffer = ctx_.pool.acquire(kReceiveBufferSize);
  if (!buffer) {
    ctx_.end(SessionEnd::kSocketError, -ENOMEM);
    return;
  }
  RequestReader reader(ctx_.fd, {buffer.data(), buffer.capacity()}, &ctx_.server.receive_delay_us());
  sender_.start();
  while (receive_one(reader)) {
  }
  while (in_flight_ > 0) receiver_.wait();
  sender_.stop();
  counters_.recv_calls = reader.recv_calls();
  counters_.recv_delays = reader.delays();
  counters_.sendmsg_calls = sender_.stats().sendmsgs;
  // The receiver stopped because a failed send shut the socket down: report
  // the send's error.
  if (send_failed_ && (ctx_.result->end == SessionEnd::kClientClosed ||
                       ctx_.result->end == SessionEnd::kSocketError)) {
    ctx_.end_io(send_error_);
  }
}

std::uint64_t Transmission::payload_bytes(const Request& req) const {
  return (req.type == kCmdRead || req.type == kCmdWrite) ? req.length : 0;
}

coroutine_fn void Transmission::wait_for_room(std::uint64_t bytes) {
  while (in_flight_ > 0 && bytes_in_flight_ + bytes > max_bytes_in_flight_) receiver_.wait();
}

coroutine_fn bool Transmission::receive_one(RequestReader& reader) {
  while (in_flight_ >= max_in_flight_) receiver_.wait();

  std::span<const std::byte> header;
  if (int ret = reader.read_header(&header); ret <= 0) {
    ctx_.end_io(ret);
    return false;
  }
  WireResult<Request> decoded = decode_request(header);
  if (!decoded) {
    ctx_.end(SessionEnd::kBadMagic);
    return false;
  }
  ++counters_.requests;
  ctx_.connection->requests.store(counters_.requests, std::memory_order_relaxed);
  Job job{*decoded, {}, {}};
  const Request& req = job.req;
  if (req.type == kCmdDisc) {
    ctx_.end(SessionEnd::kDisconnect);
    return false;
  }

  if (ctx_.server.shutdown_requested()) {
    job.verdict = {kErrShutdown, "server is shutting down"};
  } else {
    policy_.size = device_.size();
    job.verdict = check_request(req, policy_);
  }
  if (job.verdict) {
    if (const std::uint64_t bytes = payload_bytes(req); bytes > 0) {
      wait_for_room(bytes);
      job.buffer = ctx_.pool.acquire(bytes);
      if (!job.buffer) job.verdict = {kErrNoMem, "out of memory"};
    }
  }

  if (command_has_payload(req.type) && req.length > 0) {
    if (job.verdict) {
      if (int ret = reader.read_payload(job.buffer.data(), req.length); ret < 0) {
        ctx_.end_io(ret);
        return false;
      }
    } else {
      // Rejected: read and discard the payload to stay in sync, if we can.
      if (must_disconnect(req)) {
        ctx_.end(SessionEnd::kPayloadTooLarge);
        return false;
      }
      if (int ret = reader.skip_payload(req.length); ret < 0) {
        ctx_.end_io(ret);
        return false;
      }
    }
  }
  start(std::move(job));
  return true;
}

void Transmission::start(Job job) {
  ++in_flight_;
  bytes_in_flight_ += job.buffer ? job.req.length : 0;
  counters_.max_in_flight = std::max(counters_.max_in_flight, in_flight_);
  auto body = [this, job = std::move(job)]() mutable {
    serve(job);
    finish(job);
  };
  static_assert(sizeof(body) <= corolib::kInlineCallableSize,
                "a request must fit the coroutine's inline storage (no allocation)");
  corolib::enter(corolib::create(std::move(body)));
}

void Transmission::finish(Job& job) {
  bytes_in_flight_ -= job.buffer ? job.req.length : 0;
  job.buffer.reset();
  --in_flight_;
  receiver_.next();  // runs when this request's coroutine terminates
}

coroutine_fn void Transmission::serve(Job& job) {
  const Request& req = job.req;
  if (!job.verdict) {
    reply_error(req, job.verdict.error, job.verdict.message);
    return;
  }
  switch (req.type) {
    case kCmdRead:
      ++counters_.reads;
      do_read(job);
      return;
    case kCmdBlockStatus:
      ++counters_.block_statuses;
      do_block_status(job);
      return;
    default:
      if (int ret = do_simple_command(job); ret < 0) {
        reply_errno(req, ret);
      } else {
        reply_ok(req);
      }
      return;
  }
}

coroutine_fn int Transmission::do_simple_command(const Job& job) {
  const Request& req = job.req;
  const WriteFlags fua = (req.flags & kCmdFlagFua) != 0 ? WriteFlags::fua : WriteFlags::none;
  switch (req.type) {
    case kCmdWrite: {
      ++counters_.writes;
      if (req.length == 0) return 0;
      int ret = device_.pwrite(req.offset, job.buffer.data(), req.length, fua);
      if (ret >= 0) counters_.bytes_written += req.length;
      return ret;
    }
    case kCmdFlush:
      ++counters_.flushes;
      return device_.flush();
    case kCmdTrim:
      ++counters_.trims;
      return req.length == 0 ? 0 : device_.discard(req.offset, req.length, fua);
    case kCmdCache:
      ++counters_.caches;
      return req.length == 0 ? 0 : device_.prefetch(req.offset, req.length);
    case kCmdWriteZeroes: {
      ++counters_.write_zeroes;
      if (req.length == 0) return 0;
      WriteFlags flags = fua;
      if ((req.flags & kCmdFlagNoHole) == 0) flags = flags | WriteFlags::may_unmap;
      if ((req.flags & kCmdFlagFastZero) != 0) flags = flags | WriteFlags::fast_only;
      return device_.write_zeroes(req.offset, req.length, flags);
    }
    default:
      return -EINVAL;  // check_request() let nothing else through
  }
}

coroutine_fn void Transmission::do_read(Job& job) {
  const Request& req = job.req;
  if (req.length == 0) {
    reply_ok(req);
    return;
  }
  std::byte* buf = job.buffer.data();

  if (!structured_) {
    if (int ret = device_.pread(req.offset, buf, req.length); ret < 0) {
      reply_errno(req, ret);
      return;
    }
    std::byte header[kSimpleReplySize];
    (void)encode_simple_reply(header, {kErrNone, req.cookie});
    iovec iov[2] = {{header, sizeof header}, {buf, req.length}};
    send_reply(iov, 2);
    counters_.bytes_read += req.length;
    return;
  }

  // Structured: split the range into data and holes (unless DF asks for a
  // single chunk), read the data parts, send every chunk in one sendmsg.
  struct Piece {
    std::uint32_t offset;  // from req.offset
    std::uint32_t length;
    bool hole;
  };
  Piece pieces[kMaxReadPieces];
  int count = 0;
  std::uint32_t pos = 0;
  if (sparse_reads_ && (req.flags & kCmdFlagDf) == 0 && req.length >= sparse_read_min_) {
    while (pos < req.length && count < kMaxReadPieces - 1) {
      std::uint32_t status = 0;
      std::int64_t n = device_.block_status(req.offset + pos, req.length - pos, &status);
      if (n <= 0) break;  // unknown: the rest is sent as data
      const auto len = static_cast<std::uint32_t>(
          std::min<std::uint64_t>(static_cast<std::uint64_t>(n), req.length - pos));
      const bool hole = (status & blockdev::kStatusZero) != 0;
      if (count > 0 && pieces[count - 1].hole == hole) {
        pieces[count - 1].length += len;
      } else {
        pieces[count++] = {pos, len, hole};
      }
      pos += len;
    }
  }
  if (pos < req.length) {
    if (count > 0 && !pieces[count - 1].hole) {
      pieces[count - 1].length += req.length - pos;
    } else {
      pieces[count++] = {pos, req.length - pos, false};
    }
  }

  for (int i = 0; i < count; ++i) {
    if (pieces[i].hole) continue;
    int ret = device_.pread(req.offset + pieces[i].offset, buf + pieces[i].offset, pieces[i].length);
    if (ret < 0) {
      reply_errno(req, ret);
      return;
    }
  }

  std::byte headers[kMaxReadPieces][kChunkHeaderSize + 12];
  iovec iov[2 * kMaxReadPieces];
  int n = 0;
  for (int i = 0; i < count; ++i) {
    const Piece& p = pieces[i];
    const std::uint16_t flags = i == count - 1 ? kReplyFlagDone : 0;
    if (p.hole) {
      WireResult<std::size_t> len =
          encode_offset_hole(headers[i], flags, req.cookie, req.offset + p.offset, p.length);
      iov[n++] = {headers[i], len.value_or(0)};
    } else {
      WireResult<std::size_t> len = encode_offset_data_prefix(headers[i], flags, req.cookie,
                                                              req.offset + p.offset, p.length);
      iov[n++] = {headers[i], len.value_or(0)};
      iov[n++] = {buf + p.offset, p.length};
    }
  }
  send_reply(iov, n);
  counters_.bytes_read += req.length;
}

coroutine_fn void Transmission::do_block_status(Job& job) {
  const Request& req = job.req;
  const bool req_one = (req.flags & kCmdFlagReqOne) != 0;
  BlockDescriptor descriptors[kMaxDescriptors];
  std::size_t count = 0;
  std::uint32_t pos = 0;
  while (pos < req.length) {
    std::uint32_t status = 0;
    std::int64_t n = device_.block_status(req.offset + pos, req.length - pos, &status);
    if (n <= 0) {
      if (count == 0) {
        reply_errno(req, n < 0 ? static_cast<int>(n) : -EIO);
        return;
      }
      break;  // report what is known
    }
    const auto len = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(static_cast<std::uint64_t>(n), req.length - pos));
    status &= kStateHole | kStateZero;
    if (count > 0 && descriptors[count - 1].status == status) {
      descriptors[count - 1].length += len;
    } else {
      if (count == kMaxDescriptors || (req_one && count == 1)) break;
      descriptors[count++] = {len, status};
    }
    pos += len;
  }
  std::byte reply[block_status_chunk_size(kMaxDescriptors)];
  WireResult<std::size_t> len = encode_block_status(reply, kReplyFlagDone, req.cookie,
                                                    kBaseAllocationContextId, {descriptors, count});
  if (!len) {
    reply_error(req, kErrIo, "cannot encode block status");
    return;
  }
  iovec iov{reply, *len};
  send_reply(&iov, 1);
}

coroutine_fn void Transmission::send_reply(iovec* iov, int count) {
  if (send_failed_) return;
  if (int ret = sender_.send(iov, count); ret < 0 && !send_failed_) note_send_failure(ret);
}

void Transmission::note_send_failure(int ret) {
  send_failed_ = true;
  send_error_ = ret;
  // Stop the receiver too: nothing more can be answered on this connection.
  ::shutdown(ctx_.fd, SHUT_RDWR);
}

coroutine_fn void Transmission::reply_ok(const Request& req) {
  std::byte buf[kReplyHeaderRoom];
  WireResult<std::size_t> len = structured_ ? encode_none_chunk(buf, req.cookie)
                                            : encode_simple_reply(buf, {kErrNone, req.cookie});
  iovec iov{buf, len.value_or(0)};
  send_reply(&iov, 1);
}

coroutine_fn void Transmission::reply_error(const Request& req, std::uint32_t error,
                                            const char* message) {
  ++counters_.errors;
  std::byte buf[kReplyHeaderRoom];
  WireResult<std::size_t> len{WireError::kNoSpace};
  if (structured_) {
    std::string_view text(message);
    text = text.substr(0, kReplyHeaderRoom - error_chunk_size(0));
    len = encode_error_chunk(buf, kReplyFlagDone, req.cookie, error, text);
  } else {
    len = encode_simple_reply(buf, {error, req.cookie});
  }
  iovec iov{buf, len.value_or(0)};
  send_reply(&iov, 1);
}

}  // namespace nbd::server_detail
