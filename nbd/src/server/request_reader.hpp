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
// - Batching: with a delay (*delay_us > 0, read at each request boundary),
//   read_header() with nothing buffered sleeps that long before its recv,
//   so the requests the client sends meanwhile come in one recv. Mid-header
//   and payload reads never wait.
// - The buffer is the caller's and must outlive the reader; its capacity
//   must be at least kDirectThreshold. coroutine_fn members: from the
//   connection's receiving coroutine only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

#include "corolib/coroutine.hpp"

namespace nbd::server_detail {

class RequestReader {
 public:
  static constexpr std::size_t kDirectThreshold = 16 * 1024;

  // delay_us: the batching delay in microseconds, nullptr for none; it
  // must outlive the reader.
  RequestReader(int fd, std::span<std::byte> buffer,
                const std::atomic<std::int64_t>* delay_us = nullptr);
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  coroutine_fn int read_header(std::span<const std::byte>* header);
  coroutine_fn int read_payload(std::byte* dst, std::size_t n);
  coroutine_fn int skip_payload(std::uint64_t n);

  // recv calls made so far (a direct payload receive counts as one), and
  // batching delays slept.
  std::uint64_t recv_calls() const { return recv_calls_; }
  std::uint64_t delays() const { return delays_; }

 private:
  std::size_t buffered() const { return end_ - begin_; }
  void consume(std::size_t n);
  // Receives until at least n (<= capacity) bytes are buffered. Returns the
  // bytes buffered, 0 if the peer closed the connection first, or -errno.
  coroutine_fn int fill(std::size_t n);
  coroutine_fn void batching_delay();

  const int fd_;
  std::byte* const buf_;
  const std::size_t capacity_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  const std::atomic<std::int64_t>* const delay_us_;
  std::uint64_t recv_calls_ = 0;
  std::uint64_t delays_ = 0;
};

}  // namespace nbd::server_detail
