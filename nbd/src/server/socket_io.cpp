#include "socket_io.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "corolib/loop/co_io.hpp"

namespace nbd::server_detail {

coroutine_fn int recv_exact(int fd, void* buf, std::size_t n, corolib::IoTimeout timeout) {
  auto* p = static_cast<std::byte*>(buf);
  std::size_t done = 0;
  while (done < n) {
    int ret = corolib::co_recv(fd, p + done, n - done, MSG_WAITALL, timeout);
    if (ret == 0) return done == 0 ? 0 : -ECONNRESET;
    if (ret < 0) {
      if (ret == -EINTR) continue;
      return ret;
    }
    done += static_cast<std::size_t>(ret);
  }
  return static_cast<int>(n);
}

coroutine_fn int send_all(int fd, iovec* iov, int count, corolib::IoTimeout timeout) {
  // Empty entries are skipped so that a send of 0 bytes always means trouble.
  auto skip_empty = [&] {
    while (count > 0 && iov->iov_len == 0) {
      ++iov;
      --count;
    }
  };
  skip_empty();
  while (count > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(count);
    int ret = corolib::co_sendmsg(fd, &msg, MSG_NOSIGNAL, timeout);
    if (ret < 0) {
      if (ret == -EINTR) continue;
      return ret;
    }
    if (ret == 0) return -EPIPE;
    auto sent = static_cast<std::size_t>(ret);
    while (count > 0 && sent >= iov->iov_len) {
      sent -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<std::byte*>(iov->iov_base) + sent;
      iov->iov_len -= sent;
    }
    skip_empty();
  }
  return 0;
}

coroutine_fn int send_all(int fd, const void* buf, std::size_t n, corolib::IoTimeout timeout) {
  iovec iov{const_cast<void*>(buf), n};
  return send_all(fd, &iov, 1, timeout);
}

coroutine_fn int discard_exact(int fd, std::uint64_t n, void* scratch, std::size_t scratch_size,
                               corolib::IoTimeout timeout) {
  while (n > 0) {
    std::size_t chunk = static_cast<std::size_t>(std::min<std::uint64_t>(n, scratch_size));
    int ret = recv_exact(fd, scratch, chunk, timeout);
    if (ret == 0) return -ECONNRESET;
    if (ret < 0) return ret;
    n -= chunk;
  }
  return 0;
}

}  // namespace nbd::server_detail
