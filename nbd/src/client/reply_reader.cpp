// Connection's reply reader: the one coroutine that receives replies,
// matches them to requests by cookie and wakes the requests. See
// connection.hpp.
//
// What the server may send (the spec, "Transmission phase"):
// - a simple reply: 16 bytes, then for a successful READ the data;
// - with structured replies, chunks: NONE, OFFSET_DATA and OFFSET_HOLE (to a
//   READ, inside its range), BLOCK_STATUS (to a BLOCK_STATUS, for the
//   negotiated context), ERROR and ERROR_OFFSET (to anything), other error
//   types (treated as ERROR); the last chunk has NBD_REPLY_FLAG_DONE.
// Anything else is a protocol violation: the connection is failed with
// -EIO, since the byte stream can no longer be trusted.
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <string>

#include "connection.hpp"
#include "nbd/byte_order.hpp"
#include "nbd/protocol.hpp"

namespace nbd::client_detail {
namespace {

std::string hex(std::uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

std::string range(std::uint64_t offset, std::uint64_t length) {
  std::string out = "[";
  out += std::to_string(offset);
  out += ", ";
  out += std::to_string(offset + length);
  out += ")";
  return out;
}

// Extents are handed to the callback in batches of this many bytes of
// descriptors (a BLOCK_STATUS chunk may be far larger than the buffer).
constexpr std::size_t kDescriptorBatch = 8 * 1024;

}  // namespace

coroutine_fn void Connection::reader_main() {
  while (read_reply() == 0) {
  }
  teardown();
  reader_running_ = false;
  // Last: a waiter may destroy this Connection as soon as it runs, which is
  // after this coroutine terminates (deferred wakeup).
  reader_done_.set();
}

int Connection::violation(std::string message) {
  fail(-EIO, "protocol violation by the server: " + message);
  return -EIO;
}

int Connection::lost(int err) {
  if (err == -ECONNRESET) {
    if (table_.empty()) {
      fail(err, "the server closed the connection");
    } else {
      fail(err, "the server closed the connection with " + std::to_string(table_.size()) +
                    " request(s) in flight");
    }
  } else {
    fail(err, std::string("receiving replies failed: ") + std::strerror(-err));
  }
  return err;
}

coroutine_fn int Connection::read_reply() {
  if (int r = in_.fill(4); r < 0) return lost(r);
  auto kind = classify_reply(in_.data());
  if (!kind) return violation("bad reply magic " + hex(load_be32(in_.data().data())));
  if (*kind == ReplyKind::kSimple) {
    if (int r = in_.fill(kSimpleReplySize); r < 0) return lost(r);
    auto reply = decode_simple_reply(in_.data());
    in_.consume(kSimpleReplySize);
    return on_simple_reply(*reply);
  }
  if (int r = in_.fill(kChunkHeaderSize); r < 0) return lost(r);
  auto header = decode_chunk_header(in_.data());
  in_.consume(kChunkHeaderSize);
  return on_chunk(*header);
}

void Connection::complete(PendingRequest& req, int result) {
  table_.erase(req.header.cookie);
  req.result = result;
  req.done.set();  // never touch req again
  cookie_waiters_.next();
  if (table_.empty()) idle_waiters_.restart_all();
}

coroutine_fn int Connection::on_simple_reply(const SimpleReply& reply) {
  PendingRequest* req = table_.find(reply.cookie);
  if (req == nullptr) return violation("simple reply with unknown cookie " + hex(reply.cookie));
  if (req->chunked) {
    return violation("simple reply to cookie " + hex(reply.cookie) + " after structured chunks");
  }
  if (reply.error != 0) {
    complete(*req, -nbd_to_errno(reply.error));
    return 0;
  }
  if (req->header.type == kCmdRead) {
    if (int r = in_.read_into(req->read_buf, req->header.length); r < 0) return lost(r);
  } else if (req->header.type == kCmdBlockStatus) {
    // Success without extents: the spec requires a structured reply.
    complete(*req, -EIO);
    return 0;
  }
  complete(*req, 0);
  return 0;
}

coroutine_fn int Connection::on_chunk(const ChunkHeader& header) {
  PendingRequest* req = table_.find(header.cookie);
  if (req == nullptr) {
    return violation(std::string(chunk_type_name(header.type)) + " chunk with unknown cookie " +
                     hex(header.cookie));
  }
  if (!details_.structured_replies) {
    return violation("structured reply chunk although structured replies were not negotiated");
  }
  req->chunked = true;
  int r = 0;
  switch (header.type) {
    case kReplyTypeNone:
      if (header.length != 0) {
        return violation("NONE chunk with a payload of " + std::to_string(header.length) +
                         " bytes");
      }
      if ((header.flags & kReplyFlagDone) == 0) {
        return violation("NONE chunk without the DONE flag");
      }
      break;
    case kReplyTypeOffsetData:
      r = on_offset_data(*req, header);
      break;
    case kReplyTypeOffsetHole:
      r = on_offset_hole(*req, header);
      break;
    case kReplyTypeBlockStatus:
      r = on_block_status(*req, header);
      break;
    default:
      if (!is_error_chunk(header.type)) {
        return violation("unknown chunk type " + std::to_string(header.type) + " (" +
                         std::string(chunk_type_name(header.type)) + ")");
      }
      r = on_error_chunk(*req, header);
      break;
  }
  if (r < 0) return r;
  if ((header.flags & kReplyFlagDone) != 0) {
    int result = req->error;
    if (result == 0 && req->header.type == kCmdRead && req->covered != req->header.length) {
      result = -EIO;  // the chunks did not cover the request
    }
    if (result == 0 && req->header.type == kCmdBlockStatus && !req->got_extents) result = -EIO;
    complete(*req, result);
  }
  return 0;
}

coroutine_fn int Connection::on_offset_data(PendingRequest& req, const ChunkHeader& header) {
  if (req.header.type != kCmdRead) {
    return violation("OFFSET_DATA chunk in the reply to " +
                     std::string(command_name(req.header.type)));
  }
  if (header.length <= kOffsetDataPrefixSize) {
    return violation("OFFSET_DATA chunk of length " + std::to_string(header.length));
  }
  if (int r = in_.fill(kOffsetDataPrefixSize); r < 0) return lost(r);
  auto prefix = decode_offset_data_prefix(header, in_.data());
  in_.consume(kOffsetDataPrefixSize);
  const std::uint64_t offset = prefix->offset;
  const std::uint32_t length = prefix->data_length;
  if (offset < req.header.offset || offset - req.header.offset > req.header.length ||
      length > req.header.length - (offset - req.header.offset)) {
    return violation("OFFSET_DATA " + range(offset, length) + " outside the READ " +
                     range(req.header.offset, req.header.length));
  }
  if (int r = in_.read_into(req.read_buf + (offset - req.header.offset), length); r < 0) {
    return lost(r);
  }
  req.covered += length;
  return 0;
}

coroutine_fn int Connection::on_offset_hole(PendingRequest& req, const ChunkHeader& header) {
  if (req.header.type != kCmdRead) {
    return violation("OFFSET_HOLE chunk in the reply to " +
                     std::string(command_name(req.header.type)));
  }
  if (header.length != kOffsetHoleLength) {
    return violation("OFFSET_HOLE chunk of length " + std::to_string(header.length));
  }
  if (int r = in_.fill(kOffsetHoleLength); r < 0) return lost(r);
  auto chunk = decode_chunk(header, in_.data().first(kOffsetHoleLength));
  in_.consume(kOffsetHoleLength);
  if (!chunk) return violation(std::string("malformed OFFSET_HOLE chunk: ") + chunk.message());
  const std::uint64_t offset = chunk->offset;
  const std::uint32_t length = chunk->hole_size;
  if (offset < req.header.offset || offset - req.header.offset > req.header.length ||
      length > req.header.length - (offset - req.header.offset)) {
    return violation("OFFSET_HOLE " + range(offset, length) + " outside the READ " +
                     range(req.header.offset, req.header.length));
  }
  std::memset(req.read_buf + (offset - req.header.offset), 0, length);
  req.covered += length;
  return 0;
}

coroutine_fn int Connection::on_block_status(PendingRequest& req, const ChunkHeader& header) {
  if (req.header.type != kCmdBlockStatus) {
    return violation("BLOCK_STATUS chunk in the reply to " +
                     std::string(command_name(req.header.type)));
  }
  if (header.length < 4 + kBlockDescriptorSize || (header.length - 4) % kBlockDescriptorSize != 0) {
    return violation("BLOCK_STATUS chunk of length " + std::to_string(header.length));
  }
  if (int r = in_.fill(4); r < 0) return lost(r);
  const std::uint32_t context = load_be32(in_.data().data());
  in_.consume(4);
  if (!details_.base_allocation || context != details_.base_allocation_id) {
    return violation("BLOCK_STATUS chunk for context id " + std::to_string(context) +
                     ", which was not negotiated");
  }
  if (!req.got_extents) req.next_extent = req.header.offset;
  req.got_extents = true;
  std::size_t left = header.length - 4;
  while (left > 0) {
    const std::size_t batch = left < kDescriptorBatch ? left : kDescriptorBatch;
    if (int r = in_.fill(batch); r < 0) return lost(r);
    for (const BlockDescriptor d : DescriptorList(in_.data().first(batch))) {
      if (d.length == 0) return violation("BLOCK_STATUS descriptor of length 0");
      (*req.extents)(Extent{req.next_extent, d.length, d.status});
      req.next_extent += d.length;
    }
    in_.consume(batch);
    left -= batch;
  }
  return 0;
}

coroutine_fn int Connection::on_error_chunk(PendingRequest& req, const ChunkHeader& header) {
  const std::string type = header.type == kReplyTypeError         ? "ERROR"
                           : header.type == kReplyTypeErrorOffset ? "ERROR_OFFSET"
                                                                  : "error";
  if (header.length > in_.capacity()) {
    return violation(type + " chunk of " + std::to_string(header.length) + " bytes");
  }
  if (int r = in_.fill(header.length); r < 0) return lost(r);
  auto chunk = decode_chunk(header, in_.data().first(header.length));
  in_.consume(header.length);
  if (!chunk) return violation("malformed " + type + " chunk: " + chunk.message());
  if (header.type == kReplyTypeErrorOffset &&
      (chunk->offset < req.header.offset ||
       chunk->offset - req.header.offset >= std::uint64_t{req.header.length})) {
    return violation("ERROR_OFFSET at " + std::to_string(chunk->offset) + " outside the request " +
                     range(req.header.offset, req.header.length));
  }
  if (req.error == 0) req.error = -nbd_to_errno(chunk->error);
  return 0;
}

}  // namespace nbd::client_detail
