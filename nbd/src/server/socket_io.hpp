// Whole-message socket I/O for the server session, on top of the co_* helpers
// (which may transfer part of a buffer and leave the rest to the caller).
//
// Contract
// - coroutine_fn, on a thread that owns an EventLoop. `timeout` is an
//   IoTimeout::at(deadline) (or none) shared by every call of a phase.
// - recv_exact() returns n when all n bytes arrived, 0 when the peer closed
//   the connection before the first byte, -ECONNRESET when it closed in the
//   middle, -ETIMEDOUT, or another -errno.
// - send_all() sends every byte of iov[0..count) (the array is modified to
//   track progress) with MSG_NOSIGNAL; returns 0 or -errno (-EPIPE when the
//   peer has gone).
// - discard_exact() reads and throws away n bytes through `scratch`;
//   returns 0, or what recv_exact() returns on failure (0 becomes
//   -ECONNRESET).
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "corolib/coroutine.hpp"
#include "corolib/loop/io_timeout.hpp"

namespace nbd::server_detail {

coroutine_fn int recv_exact(int fd, void* buf, std::size_t n, corolib::IoTimeout timeout = {});
coroutine_fn int send_all(int fd, iovec* iov, int count, corolib::IoTimeout timeout = {});
coroutine_fn int send_all(int fd, const void* buf, std::size_t n, corolib::IoTimeout timeout = {});
coroutine_fn int discard_exact(int fd, std::uint64_t n, void* scratch, std::size_t scratch_size,
                               corolib::IoTimeout timeout = {});

}  // namespace nbd::server_detail
