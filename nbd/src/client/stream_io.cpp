// send_all() and recv_exact(): see stream_io.hpp.
#include "stream_io.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>

#include "corolib/loop/co_io.hpp"

namespace nbd::client_detail {

coroutine_fn int send_all(int fd, iovec* iov, int iovcnt, corolib::IoTimeout timeout) {
  while (iovcnt > 0) {
    if (iov->iov_len == 0) {
      ++iov;
      --iovcnt;
      continue;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(iovcnt);
    int sent = corolib::co_sendmsg(fd, &msg, MSG_NOSIGNAL, timeout);
    if (sent < 0) return sent;
    if (sent == 0) return -EPIPE;
    auto left = static_cast<std::size_t>(sent);
    while (left > 0) {
      const std::size_t step = left < iov->iov_len ? left : iov->iov_len;
      iov->iov_base = static_cast<std::byte*>(iov->iov_base) + step;
      iov->iov_len -= step;
      left -= step;
      if (iov->iov_len == 0) {
        ++iov;
        --iovcnt;
      }
    }
  }
  return 0;
}

coroutine_fn int recv_exact(int fd, void* buf, std::size_t len, corolib::IoTimeout timeout) {
  auto* p = static_cast<std::byte*>(buf);
  while (len > 0) {
    int got = corolib::co_recv(fd, p, len, MSG_WAITALL, timeout);
    if (got < 0) return got;
    if (got == 0) return -ECONNRESET;
    p += got;
    len -= static_cast<std::size_t>(got);
  }
  return 0;
}

}  // namespace nbd::client_detail
