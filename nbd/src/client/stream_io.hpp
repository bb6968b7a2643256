// Whole-message socket I/O for the client: co_sendmsg / co_recv looped
// until every byte has moved (private to nbd_client).
//
// Contract
// - coroutine_fn: from a coroutine on a thread that owns an EventLoop.
// - send_all() sends every byte of iov[0, iovcnt) with MSG_NOSIGNAL (a dead
//   peer gives -EPIPE, never SIGPIPE); it advances the iovec array as bytes
//   go out, so the caller's array is modified. Returns 0 or -errno.
// - recv_exact() receives exactly len bytes. Returns 0, -ECONNRESET when the
//   peer closes the connection first, or -errno.
// - Both give up with -ETIMEDOUT when `timeout` passes.
#pragma once

#include <sys/uio.h>

#include <cstddef>

#include "corolib/coroutine.hpp"
#include "corolib/loop/io_timeout.hpp"

namespace nbd::client_detail {

coroutine_fn int send_all(int fd, iovec* iov, int iovcnt, corolib::IoTimeout timeout = {});

coroutine_fn int recv_exact(int fd, void* buf, std::size_t len, corolib::IoTimeout timeout = {});

}  // namespace nbd::client_detail
