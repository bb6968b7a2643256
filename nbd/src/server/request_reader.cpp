// RequestReader: see request_reader.hpp.
#include "request_reader.hpp"

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "corolib/loop/co_io.hpp"
#include "corolib/loop/timer.hpp"
#include "nbd/transmission_wire.hpp"
#include "socket_io.hpp"

namespace nbd::server_detail {

RequestReader::RequestReader(int fd, std::span<std::byte> buffer,
                             const std::atomic<std::int64_t>* delay_us)
    : fd_(fd), buf_(buffer.data()), capacity_(buffer.size()), delay_us_(delay_us) {
  assert(capacity_ >= kDirectThreshold);
}

void RequestReader::consume(std::size_t n) {
  begin_ += n;
  if (begin_ == end_) begin_ = end_ = 0;
}

coroutine_fn int RequestReader::fill(std::size_t n) {
  if (begin_ > 0) {
    // Only a partial header or payload piece is left: cheap to move, and
    // the whole buffer is then free for the recv.
    std::memmove(buf_, buf_ + begin_, buffered());
    end_ -= begin_;
    begin_ = 0;
  }
  while (buffered() < n) {
    ++recv_calls_;
    const int got = corolib::co_recv(fd_, buf_ + end_, capacity_ - end_, 0);
    if (got <= 0) return got;
    end_ += static_cast<std::size_t>(got);
  }
  return static_cast<int>(buffered());
}

coroutine_fn void RequestReader::batching_delay() {
  if (delay_us_ == nullptr) return;
  const std::int64_t us = delay_us_->load(std::memory_order_relaxed);
  if (us <= 0) return;
  ++delays_;
  // Cancelled only when the loop shuts down; the recv after it fails then.
  (void)corolib::co_sleep(std::chrono::microseconds(us));
}

coroutine_fn int RequestReader::read_header(std::span<const std::byte>* header) {
  if (buffered() < kRequestHeaderSize) {
    if (buffered() == 0) batching_delay();
    if (int ret = fill(kRequestHeaderSize); ret <= 0) {
      // Closed with part of a header received: cut, not ended.
      return ret == 0 && buffered() > 0 ? -ECONNRESET : ret;
    }
  }
  *header = {buf_ + begin_, kRequestHeaderSize};
  consume(kRequestHeaderSize);
  return static_cast<int>(kRequestHeaderSize);
}

coroutine_fn int RequestReader::read_payload(std::byte* dst, std::size_t n) {
  while (n > 0) {
    if (buffered() == 0 && n >= kDirectThreshold) {
      ++recv_calls_;
      const int ret = recv_exact(fd_, dst, n);
      return ret > 0 ? 0 : (ret == 0 ? -ECONNRESET : ret);
    }
    if (buffered() == 0) {
      if (int ret = fill(n); ret <= 0) return ret == 0 ? -ECONNRESET : ret;
    }
    const std::size_t take = std::min(n, buffered());
    std::memcpy(dst, buf_ + begin_, take);
    consume(take);
    dst += take;
    n -= take;
  }
  return 0;
}

coroutine_fn int RequestReader::skip_payload(std::uint64_t n) {
  while (n > 0) {
    if (buffered() == 0) {
      if (int ret = fill(1); ret <= 0) return ret == 0 ? -ECONNRESET : ret;
    }
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(n, buffered()));
    consume(take);
    n -= take;
  }
  return 0;
}

}  // namespace nbd::server_detail
