// Creating an io_uring with the best flags the kernel accepts.
//
// Contract: setup_ring() tries the TaskrunMode steps from options.best_mode
// down (see ring_info.hpp), each with CQSIZE and SUBMIT_ALL, moving on only
// when the kernel answers -EINVAL. On success fills *ring and *info
// (everything but ring_fd_registered) and returns 0; otherwise returns the
// last -errno. Must run on the thread that will submit (SINGLE_ISSUER).
#pragma once

#include <liburing.h>

#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/ring_info.hpp"

namespace corolib::detail {

int setup_ring(const EventLoopOptions& options, io_uring* ring, RingInfo* info);

}  // namespace corolib::detail
