// Coroutine I/O through the calling thread's EventLoop (QEMU's
// luring_co_submit, for every request the daemon needs).
//
// Contract
// - coroutine_fn: call only from a coroutine running on a thread that owns
//   an EventLoop (EventLoop::current()); anything else aborts with a message.
// - Each helper prepares one SQE whose user_data points at a completion
//   record on the calling coroutine's stack, yields, and returns when the
//   loop has reaped the CQE and re-entered the coroutine. The result is the
//   CQE's: >= 0 on success (bytes transferred, a new descriptor, a poll
//   mask, or 0) or -errno. Nothing here throws or logs.
// - Buffers, iovec arrays, msghdr and sockaddr arguments are read or
//   written by the kernel until the helper returns; since the caller is
//   suspended until then, buffers on its stack are fine.
// - While the loop is at its in-flight limit (see EventLoop), a helper
//   first waits, in FIFO order, for room; the CQ never overflows.
//
// Partial I/O (the caller's business at this layer)
// - Reads, writes, recv and send may transfer fewer bytes than asked: at end
//   of file (a read returns 0 at or past it), on a short socket buffer, when
//   a signal interrupts a transfer that had started, when a timeout fires
//   after part of the transfer. The count is returned as is and no helper
//   loops to finish the transfer; callers that need every byte loop (or use
//   MSG_WAITALL for recv). A single request moves at most kMaxIoBytes.
// - recv returns 0 when the peer has shut down its side.
//
// Retries
// - -EINTR is resubmitted at once. -EAGAIN (a non-blocking descriptor, or a
//   request the kernel could not complete without blocking) is resubmitted
//   after waiting for readiness with IORING_OP_POLL_ADD: POLLIN for reads,
//   recv and accept, POLLOUT for writes, send and connect. So MSG_DONTWAIT
//   does not make a helper return -EAGAIN. The exception is RWF_NOWAIT on
//   co_preadv/co_pwritev: its -EAGAIN ("would block on a regular file")
//   comes back to the caller, since polling a regular file cannot help.
//
// Timeouts
// - Every helper takes an optional IoTimeout. The request then carries an
//   io_uring linked timeout; if it fires first the request is cancelled and
//   the helper returns -ETIMEDOUT, or the partial count if some bytes had
//   already moved. -ECANCELED means the request was cancelled for another
//   reason (EventLoop::shutdown(), co_cancel_fd()).
//
// Shutdown
// - Once EventLoop::shutdown() has begun, helpers return -ECANCELED without
//   submitting; requests already in flight complete with -ECANCELED (or
//   their result, if they finished first).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "corolib/coroutine.hpp"
#include "corolib/loop/io_timeout.hpp"

struct io_uring_sqe;

namespace corolib {

// The offset that means "the file's current position" (pipes, sockets,
// character devices): co_read/co_write use it.
inline constexpr std::int64_t kCurrentPosition = -1;

// The most one request transfers (the kernel's MAX_RW_COUNT); longer
// lengths are clamped and yield a partial count.
inline constexpr std::size_t kMaxIoBytes = 0x7ffff000;

// A file for the helpers: a plain descriptor, or an index into the files
// registered with EventLoop::register_files() (IOSQE_FIXED_FILE).
struct Fd {
  constexpr Fd(int fd) : value(fd) {}  // NOLINT: implicit on purpose
  static constexpr Fd registered(int index) {
    Fd f(index);
    f.fixed = true;
    return f;
  }
  int value;
  bool fixed = false;
};

// --- files and positioned I/O ------------------------------------------------

coroutine_fn int co_pread(Fd fd, void* buf, std::size_t len, std::int64_t offset,
                          IoTimeout timeout = {});
coroutine_fn int co_pwrite(Fd fd, const void* buf, std::size_t len, std::int64_t offset,
                           IoTimeout timeout = {});
// rw_flags: RWF_* as for preadv2/pwritev2 (RWF_DSYNC for a FUA write, ...).
coroutine_fn int co_preadv(Fd fd, const iovec* iov, int iovcnt, std::int64_t offset,
                           int rw_flags = 0, IoTimeout timeout = {});
coroutine_fn int co_pwritev(Fd fd, const iovec* iov, int iovcnt, std::int64_t offset,
                            int rw_flags = 0, IoTimeout timeout = {});
// Into/from a buffer registered with EventLoop::register_buffers(): [buf,
// buf + len) must lie inside registered buffer buf_index.
coroutine_fn int co_pread_fixed(Fd fd, void* buf, std::size_t len, std::int64_t offset,
                                int buf_index, IoTimeout timeout = {});
coroutine_fn int co_pwrite_fixed(Fd fd, const void* buf, std::size_t len, std::int64_t offset,
                                 int buf_index, IoTimeout timeout = {});
// At the current position (pipes, sockets, terminals).
coroutine_fn int co_read(Fd fd, void* buf, std::size_t len, IoTimeout timeout = {});
coroutine_fn int co_write(Fd fd, const void* buf, std::size_t len, IoTimeout timeout = {});

coroutine_fn int co_fsync(Fd fd, IoTimeout timeout = {});
coroutine_fn int co_fdatasync(Fd fd, IoTimeout timeout = {});
// mode: FALLOC_FL_* as for fallocate(2) (0, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE...).
coroutine_fn int co_fallocate(Fd fd, int mode, std::int64_t offset, std::int64_t len,
                              IoTimeout timeout = {});

// --- sockets -----------------------------------------------------------------

// flags: MSG_* as for recv(2)/send(2); MSG_MORE and MSG_WAITALL are passed
// to the kernel untouched.
coroutine_fn int co_recv(Fd fd, void* buf, std::size_t len, int flags = 0,
                         IoTimeout timeout = {});
coroutine_fn int co_send(Fd fd, const void* buf, std::size_t len, int flags = 0,
                         IoTimeout timeout = {});
coroutine_fn int co_recvmsg(Fd fd, msghdr* msg, int flags = 0, IoTimeout timeout = {});
coroutine_fn int co_sendmsg(Fd fd, const msghdr* msg, int flags = 0, IoTimeout timeout = {});
// Returns the new descriptor. flags: SOCK_CLOEXEC / SOCK_NONBLOCK.
coroutine_fn int co_accept(Fd fd, sockaddr* addr, socklen_t* addrlen,
                           int flags = SOCK_CLOEXEC, IoTimeout timeout = {});
coroutine_fn int co_connect(Fd fd, const sockaddr* addr, socklen_t addrlen,
                            IoTimeout timeout = {});
// how: SHUT_RD / SHUT_WR / SHUT_RDWR.
coroutine_fn int co_shutdown(Fd fd, int how);

// --- descriptors -------------------------------------------------------------

// Waits until fd is ready for `events` (POLLIN, POLLOUT, ...); returns the
// revents mask (which may include POLLERR/POLLHUP).
coroutine_fn int co_poll(Fd fd, short events, IoTimeout timeout = {});
// Closes fd; for a registered file, removes it from the registered table.
coroutine_fn int co_close(Fd fd);
// Cancels every request in flight on fd (on any coroutine of this loop):
// they complete with -ECANCELED. Returns how many were cancelled (0: none).
coroutine_fn int co_cancel_fd(Fd fd);
// A request that does nothing: one round trip through the loop.
coroutine_fn int co_nop(IoTimeout timeout = {});

// --- any other request -------------------------------------------------------

// The mechanism behind every helper, for requests not wrapped here. `prep`
// fills the SQE with an io_uring_prep_*() call (and may then set
// IOSQE_FIXED_FILE); it must leave user_data alone, must not link, and the
// request must produce exactly one CQE. It may be called again for a retry.
// On -EAGAIN the request is resubmitted after polling its descriptor for
// `eagain_poll_events` (0: resubmitted at once; kReturnEagain: -EAGAIN is
// returned). Retries, timeouts and shutdown behave as for the helpers.
inline constexpr short kReturnEagain = -1;

template <class Prep>
coroutine_fn int co_submit(const Prep& prep, IoTimeout timeout = {}, short eagain_poll_events = 0);

namespace detail {
using PrepFn = void (*)(io_uring_sqe* sqe, const void* context);
coroutine_fn int co_submit(PrepFn prep, const void* context, IoTimeout timeout,
                           short eagain_poll_events);
}  // namespace detail

template <class Prep>
coroutine_fn int co_submit(const Prep& prep, IoTimeout timeout, short eagain_poll_events) {
  return detail::co_submit(
      [](io_uring_sqe* sqe, const void* context) { (*static_cast<const Prep*>(context))(sqe); },
      &prep, timeout, eagain_poll_events);
}

}  // namespace corolib
