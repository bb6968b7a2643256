// RecvBuffer: the reply reader's view of the socket, a receive buffer that
// lets one recv bring in many small replies (private to nbd_client).
//
// Contract
// - Owns a buffer of `capacity` bytes, allocated once. Reads the socket
//   only when asked for more than it holds, and then takes whatever the
//   kernel has (up to the free space), so a burst of replies costs one recv.
// - read_into() moves bytes to a destination: what is buffered is copied,
//   and a remainder of at least kDirectThreshold bytes is received straight
//   into the destination (MSG_WAITALL), bypassing the buffer.
// - Errors: -ECONNRESET when the peer closes the connection, else the
//   socket's -errno. After an error the buffer's contents are unspecified.
// - coroutine_fn members: from the reader coroutine only (one thread).
#pragma once

#include <cstddef>
#include <memory>
#include <span>

#include "corolib/coroutine.hpp"

namespace nbd::client_detail {

class RecvBuffer {
 public:
  static constexpr std::size_t kDirectThreshold = 16 * 1024;

  RecvBuffer(int fd, std::size_t capacity);
  RecvBuffer(const RecvBuffer&) = delete;
  RecvBuffer& operator=(const RecvBuffer&) = delete;

  std::size_t capacity() const { return capacity_; }
  std::size_t buffered() const { return end_ - begin_; }

  // Makes at least n bytes (n <= capacity()) available in data().
  coroutine_fn int fill(std::size_t n);
  // The buffered bytes.
  std::span<const std::byte> data() const { return {buf_.get() + begin_, end_ - begin_}; }
  // Drops the first n (<= buffered()) bytes.
  void consume(std::size_t n);
  // Moves the next n bytes of the stream to dst.
  coroutine_fn int read_into(std::byte* dst, std::size_t n);

 private:
  int fd_;
  std::size_t capacity_;
  std::unique_ptr<std::byte[]> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace nbd::client_detail
