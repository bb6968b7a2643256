// RecvBuffer: see recv_buffer.hpp.
#include "recv_buffer.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "corolib/loop/co_io.hpp"
#include "stream_io.hpp"

namespace nbd::client_detail {

RecvBuffer::RecvBuffer(int fd, std::size_t capacity)
    : fd_(fd), capacity_(capacity), buf_(std::make_unique<std::byte[]>(capacity)) {}

coroutine_fn int RecvBuffer::fill(std::size_t n) {
  if (end_ - begin_ >= n) return 0;
  if (capacity_ - begin_ < n) {
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  while (end_ - begin_ < n) {
    const int got = corolib::co_recv(fd_, buf_.get() + end_, capacity_ - end_, 0);
    if (got < 0) return got;
    if (got == 0) return -ECONNRESET;
    end_ += static_cast<std::size_t>(got);
  }
  return 0;
}

void RecvBuffer::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

coroutine_fn int RecvBuffer::read_into(std::byte* dst, std::size_t n) {
  const std::size_t take = n < buffered() ? n : buffered();
  if (take > 0) {
    std::memcpy(dst, buf_.get() + begin_, take);
    consume(take);
    dst += take;
    n -= take;
  }
  while (n > 0) {
    if (n >= kDirectThreshold) return recv_exact(fd_, dst, n);
    // Short: through the buffer, which may bring in the next replies too.
    const std::size_t step = n < capacity_ ? n : capacity_;
    if (int r = fill(step); r < 0) return r;
    std::memcpy(dst, buf_.get() + begin_, step);
    consume(step);
    dst += step;
    n -= step;
  }
  return 0;
}

}  // namespace nbd::client_detail
