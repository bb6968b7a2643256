// RawClient: a blocking NBD client on a plain socket, built on the wire
// format code, for tests that must send what a real client never would
// (bad magic, malformed options, unknown flags, oversized payloads) and
// observe the server's exact bytes.
//
// Every receive has a time limit (SO_RCVTIMEO, 10 s) so that a server that
// fails to answer fails the test instead of hanging it.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nbd/wire.hpp"

namespace nbd_test {

using Bytes = std::vector<std::byte>;

inline Bytes bytes_of(std::string_view s) {
  Bytes b(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) b[i] = static_cast<std::byte>(s[i]);
  return b;
}

class RawClient {
 public:
  explicit RawClient(const std::string& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", socket_path.c_str());
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ADD_FAILURE() << "connect " << socket_path << ": " << std::strerror(errno);
    }
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() { close(); }

  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }

  // --- bytes --------------------------------------------------------------

  bool send(std::span<const std::byte> data) {
    std::size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }
  // Sends n bytes of `fill`; false when the server stopped taking them.
  bool send_filler(std::uint64_t n, std::byte fill = std::byte{0x5a}) {
    Bytes chunk(1 << 20, fill);
    while (n > 0) {
      std::size_t len = n < chunk.size() ? static_cast<std::size_t>(n) : chunk.size();
      if (!send({chunk.data(), len})) return false;
      n -= len;
    }
    return true;
  }
  // Exactly n bytes, or nullopt on EOF/timeout/error.
  std::optional<Bytes> recv(std::size_t n) {
    Bytes b(n);
    std::size_t done = 0;
    while (done < n) {
      ssize_t r = ::recv(fd_, b.data() + done, n - done, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return std::nullopt;
      done += static_cast<std::size_t>(r);
    }
    return b;
  }
  // True when the server closed the connection (EOF, or a reset) within the
  // receive timeout; any byte received first makes it false.
  bool closed_by_server() {
    std::byte b;
    for (;;) {
      ssize_t r = ::recv(fd_, &b, 1, 0);
      if (r == 0) return true;
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == ECONNRESET || errno == EPIPE)) return true;
      return false;
    }
  }

  // --- handshake ----------------------------------------------------------

  // Reads the greeting and sends client flags. Returns the handshake flags.
  std::uint16_t greet(std::uint32_t client_flags = nbd::kFlagCFixedNewstyle | nbd::kFlagCNoZeroes) {
    auto g = recv(nbd::kServerGreetingSize);
    if (!g) {
      ADD_FAILURE() << "no greeting";
      return 0;
    }
    auto flags = nbd::decode_server_greeting(*g);
    EXPECT_TRUE(flags.ok()) << flags.message();
    std::byte buf[4];
    (void)nbd::encode_client_flags(buf, client_flags);
    send(buf);
    return flags.value_or(0);
  }

  void send_option(std::uint32_t option, std::span<const std::byte> data) {
    Bytes buf(nbd::kOptionHeaderSize + data.size());
    auto n = nbd::encode_option(buf, option, data);
    ASSERT_TRUE(n.ok()) << n.message();
    send(buf);
  }
  // Sends an option header that claims `length` bytes of data but sends none.
  void send_option_header(std::uint32_t option, std::uint32_t length) {
    std::byte buf[nbd::kOptionHeaderSize];
    (void)nbd::encode_option_header(buf, {option, length});
    send(buf);
  }
  void send_info_go(std::uint32_t option, std::string_view name,
                    std::vector<std::uint16_t> infos = {}) {
    Bytes buf(64 + name.size() + 2 * infos.size());
    auto n = nbd::encode_opt_info_go(buf, option, name, infos);
    ASSERT_TRUE(n.ok()) << n.message();
    send({buf.data(), *n});
  }
  void send_meta_context(std::uint32_t option, std::string_view name,
                         std::vector<std::string_view> queries) {
    std::size_t size = 64 + name.size();
    for (auto q : queries) size += 4 + q.size();
    Bytes buf(size);
    auto n = nbd::encode_opt_meta_context(buf, option, name, queries);
    ASSERT_TRUE(n.ok()) << n.message();
    send({buf.data(), *n});
  }

  struct Reply {
    nbd::OptionReplyHeader header;
    Bytes data;
    nbd::OptionReply decoded() const {
      auto r = nbd::decode_option_reply(header, data);
      EXPECT_TRUE(r.ok()) << r.message();
      return r.value_or({});
    }
  };
  std::optional<Reply> read_reply() {
    auto h = recv(nbd::kOptionReplyHeaderSize);
    if (!h) return std::nullopt;
    auto header = nbd::decode_option_reply_header(*h);
    if (!header) {
      ADD_FAILURE() << "bad option reply header: " << header.message();
      return std::nullopt;
    }
    Reply r{*header, {}};
    if (header->length > 0) {
      auto d = recv(header->length);
      if (!d) return std::nullopt;
      r.data = std::move(*d);
    }
    return r;
  }
  // Reads replies until one that ends the option (ACK or an error).
  std::vector<Reply> read_replies() {
    std::vector<Reply> all;
    for (;;) {
      auto r = read_reply();
      if (!r) {
        ADD_FAILURE() << "connection ended inside an option reply";
        return all;
      }
      all.push_back(*r);
      if (r->header.type == nbd::kRepAck || nbd::is_error_reply(r->header.type)) return all;
    }
  }
  // The type of the last reply to an option (after any INFO/SERVER ones).
  std::uint32_t final_reply_type() {
    auto all = read_replies();
    return all.empty() ? 0 : all.back().header.type;
  }

  // Full negotiation with GO; returns the transmission flags (0 on failure).
  std::uint16_t negotiate(std::string_view name = "", bool structured = true,
                          bool base_allocation = false,
                          std::vector<std::uint16_t> infos = {nbd::kInfoBlockSize}) {
    greet();
    if (structured) {
      send_option(nbd::kOptStructuredReply, {});
      EXPECT_EQ(final_reply_type(), nbd::kRepAck);
    }
    if (base_allocation) {
      send_meta_context(nbd::kOptSetMetaContext, name, {nbd::kMetaContextBaseAllocation});
      EXPECT_EQ(final_reply_type(), nbd::kRepAck);
    }
    send_info_go(nbd::kOptGo, name, infos);
    std::uint16_t flags = 0;
    for (const Reply& r : read_replies()) {
      if (r.header.type == nbd::kRepInfo) {
        auto d = r.decoded();
        if (d.info_type == nbd::kInfoExport) flags = d.export_info.transmission_flags;
      } else if (r.header.type != nbd::kRepAck) {
        ADD_FAILURE() << "GO failed: " << nbd::reply_type_name(r.header.type);
      }
    }
    structured_ = structured;
    return flags;
  }

  // --- transmission -------------------------------------------------------

  void send_request(const nbd::Request& req, std::span<const std::byte> payload = {}) {
    std::byte buf[nbd::kRequestHeaderSize];
    (void)nbd::encode_request(buf, req);
    if (req.type == nbd::kCmdRead) read_lengths_[req.cookie] = req.length;
    send(buf);
    if (!payload.empty()) send(payload);
  }

  // Sends the headers of payload-less requests in one send(), as a
  // pipelining client's burst.
  bool send_burst(std::span<const nbd::Request> reqs) {
    Bytes burst(reqs.size() * nbd::kRequestHeaderSize);
    for (std::size_t i = 0; i < reqs.size(); ++i) {
      (void)nbd::encode_request({burst.data() + i * nbd::kRequestHeaderSize, nbd::kRequestHeaderSize},
                                reqs[i]);
      if (reqs[i].type == nbd::kCmdRead) read_lengths_[reqs[i].cookie] = reqs[i].length;
    }
    return send(burst);
  }

  // One whole reply to a request: its error, cookie and (READ) data, or
  // nothing if the connection ended. For structured replies, data is
  // assembled from OFFSET_DATA/OFFSET_HOLE chunks into `read_length` bytes
  // and every chunk type seen is recorded.
  struct Response {
    std::uint64_t cookie = 0;
    std::uint32_t error = 0;
    Bytes data;
    std::vector<std::uint16_t> chunk_types;
    std::vector<nbd::BlockDescriptor> descriptors;
    std::uint32_t context_id = 0;
    std::string message;
  };
  std::optional<Response> read_response(std::uint32_t read_length = 0) {
    return structured_ ? read_structured(read_length) : read_simple(read_length);
  }
  // Simple replies carry no length: a successful READ is followed by the
  // length that send_request() sent for that cookie.
  std::optional<Response> read_simple(std::uint32_t) {
    auto h = recv(nbd::kSimpleReplySize);
    if (!h) return std::nullopt;
    auto reply = nbd::decode_simple_reply(*h);
    if (!reply) {
      ADD_FAILURE() << "bad simple reply: " << reply.message();
      return std::nullopt;
    }
    Response r;
    r.cookie = reply->cookie;
    r.error = reply->error;
    std::uint32_t read_length = 0;
    if (auto it = read_lengths_.find(r.cookie); it != read_lengths_.end()) {
      read_length = it->second;
      read_lengths_.erase(it);
    }
    if (r.error == 0 && read_length > 0) {
      auto d = recv(read_length);
      if (!d) return std::nullopt;
      r.data = std::move(*d);
    }
    return r;
  }
  std::optional<Response> read_structured(std::uint32_t read_length) {
    Response r;
    r.data.assign(read_length, std::byte{0xee});  // poison: must be overwritten
    for (;;) {
      auto h = recv(nbd::kChunkHeaderSize);
      if (!h) return std::nullopt;
      auto header = nbd::decode_chunk_header(*h);
      if (!header) {
        ADD_FAILURE() << "bad chunk header: " << header.message();
        return std::nullopt;
      }
      Bytes payload;
      if (header->length > 0) {
        auto p = recv(header->length);
        if (!p) return std::nullopt;
        payload = std::move(*p);
      }
      auto chunk = nbd::decode_chunk(*header, payload);
      if (!chunk) {
        ADD_FAILURE() << "bad chunk: " << chunk.message();
        return std::nullopt;
      }
      r.cookie = header->cookie;
      r.chunk_types.push_back(header->type);
      switch (header->type) {
        case nbd::kReplyTypeOffsetData:
          copy_into(r, chunk->offset, chunk->data.data(), chunk->data.size());
          break;
        case nbd::kReplyTypeOffsetHole: {
          Bytes zeroes(chunk->hole_size);
          copy_into(r, chunk->offset, zeroes.data(), zeroes.size());
          break;
        }
        case nbd::kReplyTypeBlockStatus:
          r.context_id = chunk->context_id;
          for (auto d : chunk->descriptors) r.descriptors.push_back(d);
          break;
        case nbd::kReplyTypeNone:
          break;
        default:
          if (nbd::is_error_chunk(header->type)) {
            r.error = chunk->error;
            r.message = std::string(chunk->message);
          }
          break;
      }
      if (header->flags & nbd::kReplyFlagDone) return r;
    }
  }

  // The READ offset the test is reading from (chunks carry absolute offsets).
  void set_read_offset(std::uint64_t offset) { read_offset_ = offset; }
  bool structured() const { return structured_; }
  // For tests that negotiate by hand: which reply format to expect.
  void set_structured(bool structured) { structured_ = structured; }

 private:
  void copy_into(Response& r, std::uint64_t offset, const std::byte* p, std::size_t n) {
    if (r.data.empty()) return;  // the caller did not ask for the data
    if (offset < read_offset_ || offset - read_offset_ + n > r.data.size()) {
      ADD_FAILURE() << "chunk outside the read range";
      return;
    }
    std::memcpy(r.data.data() + (offset - read_offset_), p, n);
  }

  int fd_ = -1;
  bool structured_ = false;
  std::map<std::uint64_t, std::uint32_t> read_lengths_;  // READs awaiting a simple reply
  std::uint64_t read_offset_ = 0;
};

}  // namespace nbd_test
