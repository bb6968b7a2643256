// The co_* helpers: each one prepares its SQE and hands it to co_submit().
#include "corolib/loop/co_io.hpp"

#include <liburing.h>
#include <poll.h>

#include <algorithm>

namespace corolib {
namespace {

unsigned clamp_len(std::size_t len) { return static_cast<unsigned>(std::min(len, kMaxIoBytes)); }

__u64 to_offset(std::int64_t offset) { return static_cast<__u64>(offset); }

// RWF_NOWAIT asks for -EAGAIN instead of blocking: hand it back.
short eagain_policy(int rw_flags, short poll_events) {
  return (rw_flags & RWF_NOWAIT) != 0 ? kReturnEagain : poll_events;
}

void set_file(io_uring_sqe* sqe, Fd fd) {
  if (fd.fixed) sqe->flags |= IOSQE_FIXED_FILE;
}

}  // namespace

coroutine_fn int co_pread(Fd fd, void* buf, std::size_t len, std::int64_t offset,
                          IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_read(sqe, fd.value, buf, clamp_len(len), to_offset(offset));
        set_file(sqe, fd);
      },
      timeout, POLLIN);
}

coroutine_fn int co_pwrite(Fd fd, const void* buf, std::size_t len, std::int64_t offset,
                           IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_write(sqe, fd.value, buf, clamp_len(len), to_offset(offset));
        set_file(sqe, fd);
      },
      timeout, POLLOUT);
}

coroutine_fn int co_preadv(Fd fd, const iovec* iov, int iovcnt, std::int64_t offset,
                           int rw_flags, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_readv2(sqe, fd.value, iov, static_cast<unsigned>(iovcnt), to_offset(offset),
                             rw_flags);
        set_file(sqe, fd);
      },
      timeout, eagain_policy(rw_flags, POLLIN));
}

coroutine_fn int co_pwritev(Fd fd, const iovec* iov, int iovcnt, std::int64_t offset,
                            int rw_flags, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_writev2(sqe, fd.value, iov, static_cast<unsigned>(iovcnt), to_offset(offset),
                              rw_flags);
        set_file(sqe, fd);
      },
      timeout, eagain_policy(rw_flags, POLLOUT));
}

coroutine_fn int co_pread_fixed(Fd fd, void* buf, std::size_t len, std::int64_t offset,
                                int buf_index, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_read_fixed(sqe, fd.value, buf, clamp_len(len), to_offset(offset), buf_index);
        set_file(sqe, fd);
      },
      timeout, POLLIN);
}

coroutine_fn int co_pwrite_fixed(Fd fd, const void* buf, std::size_t len, std::int64_t offset,
                                 int buf_index, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_write_fixed(sqe, fd.value, buf, clamp_len(len), to_offset(offset),
                                  buf_index);
        set_file(sqe, fd);
      },
      timeout, POLLOUT);
}

coroutine_fn int co_read(Fd fd, void* buf, std::size_t len, IoTimeout timeout) {
  return co_pread(fd, buf, len, kCurrentPosition, timeout);
}

coroutine_fn int co_write(Fd fd, const void* buf, std::size_t len, IoTimeout timeout) {
  return co_pwrite(fd, buf, len, kCurrentPosition, timeout);
}

coroutine_fn int co_fsync(Fd fd, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_fsync(sqe, fd.value, 0);
        set_file(sqe, fd);
      },
      timeout);
}

coroutine_fn int co_fdatasync(Fd fd, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_fsync(sqe, fd.value, IORING_FSYNC_DATASYNC);
        set_file(sqe, fd);
      },
      timeout);
}

coroutine_fn int co_fallocate(Fd fd, int mode, std::int64_t offset, std::int64_t len,
                              IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_fallocate(sqe, fd.value, mode, to_offset(offset), to_offset(len));
        set_file(sqe, fd);
      },
      timeout);
}

coroutine_fn int co_recv(Fd fd, void* buf, std::size_t len, int flags, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_recv(sqe, fd.value, buf, len > kMaxIoBytes ? kMaxIoBytes : len, flags);
        set_file(sqe, fd);
      },
      timeout, POLLIN);
}

coroutine_fn int co_send(Fd fd, const void* buf, std::size_t len, int flags, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_send(sqe, fd.value, buf, len > kMaxIoBytes ? kMaxIoBytes : len, flags);
        set_file(sqe, fd);
      },
      timeout, POLLOUT);
}

coroutine_fn int co_recvmsg(Fd fd, msghdr* msg, int flags, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_recvmsg(sqe, fd.value, msg, static_cast<unsigned>(flags));
        set_file(sqe, fd);
      },
      timeout, POLLIN);
}

coroutine_fn int co_sendmsg(Fd fd, const msghdr* msg, int flags, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_sendmsg(sqe, fd.value, msg, static_cast<unsigned>(flags));
        set_file(sqe, fd);
      },
      timeout, POLLOUT);
}

coroutine_fn int co_accept(Fd fd, sockaddr* addr, socklen_t* addrlen, int flags,
                           IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_accept(sqe, fd.value, addr, addrlen, flags);
        set_file(sqe, fd);
      },
      timeout, POLLIN);
}

coroutine_fn int co_connect(Fd fd, const sockaddr* addr, socklen_t addrlen, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_connect(sqe, fd.value, addr, addrlen);
        set_file(sqe, fd);
      },
      timeout, POLLOUT);
}

coroutine_fn int co_shutdown(Fd fd, int how) {
  return co_submit([&](io_uring_sqe* sqe) {
    io_uring_prep_shutdown(sqe, fd.value, how);
    set_file(sqe, fd);
  });
}

coroutine_fn int co_poll(Fd fd, short events, IoTimeout timeout) {
  return co_submit(
      [&](io_uring_sqe* sqe) {
        io_uring_prep_poll_add(sqe, fd.value, static_cast<unsigned>(events));
        set_file(sqe, fd);
      },
      timeout);
}

coroutine_fn int co_close(Fd fd) {
  return co_submit([&](io_uring_sqe* sqe) {
    if (fd.fixed) {
      io_uring_prep_close_direct(sqe, static_cast<unsigned>(fd.value));
    } else {
      io_uring_prep_close(sqe, fd.value);
    }
  });
}

coroutine_fn int co_cancel_fd(Fd fd) {
  return co_submit([&](io_uring_sqe* sqe) {
    io_uring_prep_cancel_fd(sqe, fd.value,
                            IORING_ASYNC_CANCEL_ALL | (fd.fixed ? IORING_ASYNC_CANCEL_FD_FIXED : 0));
  });
}

coroutine_fn int co_nop(IoTimeout timeout) {
  return co_submit([](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); }, timeout);
}

}  // namespace corolib
