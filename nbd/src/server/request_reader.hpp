// RequestReader: the receive side of one connection (private to the server
// implementation). One recv brings in as many requests as the client has
// sent, and their headers are parsed from the buffer without further calls.
//
// Contract
// - Reads the socket only when asked for more than it holds, and then takes
//   whatever the kernel has, up to the buffer's free space (no MSG_WAITALL).
// - read_header() returns kRequestHeaderSize and points *header at the next
//   28 bytes of the stream (valid until the next call), 0 when the peer
//   closed the connection between requests, -ECONNRESET when it closed in
//   the middle of a header, or the socket's -errno.
// - read_payload() moves the next n bytes to dst: the buffered part is
//   copied, and a remainder of at least kDirectThreshold bytes is received
//   straight into dst (MSG_WAITALL); shorter ones go through the buffer, so
//   the requests behind them arrive in the same recv. skip_payload()
//   consumes n bytes through the buffer. Both return 0, -ECONNRESET when the
//   peer closed the connection first, or the socket's -errno.
// - The buffer is the caller's and must outlive the reader; its capacity
//   must be at least kDirectThreshold. coroutine_fn members: from the
//   connection's receiving coroutine only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "corolib/coroutine.hpp"

namespace nbd::server_detail {

class RequestReader {
 public:
  static constexpr std::size_t kDirectThreshold = 16 * 1024;

  RequestReader(int fd, std::span<std::byte> buffer);
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  coroutine_fn int read_header(std::span<const std::byte>* header);
  coroutine_fn int read_payload(std::byte* dst, std::size_t n);
  coroutine_fn int skip_payload(std::uint64_t n);

  // recv calls made so far (a direct payload receive counts as one).
  std::uint64_t recv_calls() const { return recv_calls_; }

 private:
  std::size_t buffered() const { return end_ - begin_; }
  void consume(std::size_t n);
  // Receives until at least n (<= capacity) bytes are buffered. Returns the
  // bytes buffered, 0 if the peer closed the connection first, or -errno.
  coroutine_fn int fill(std::size_t n);

  const int fd_;
  std::byte* const buf_;
  const std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::uint64_t recv_calls_ = 0;
};

}  // namespace nbd::server_detail
