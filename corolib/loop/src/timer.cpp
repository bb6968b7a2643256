// co_sleep: an IORING_OP_TIMEOUT with an absolute CLOCK_MONOTONIC deadline
// (so a resubmission after -EINTR does not restart the wait).
#include "corolib/loop/timer.hpp"

#include <liburing.h>

#include <cerrno>

#include "corolib/loop/co_io.hpp"

namespace corolib {

coroutine_fn int co_sleep(std::chrono::nanoseconds duration) {
  return co_sleep_until(std::chrono::steady_clock::now() + duration);
}

coroutine_fn int co_sleep_until(std::chrono::steady_clock::time_point deadline) {
  const std::int64_t ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(deadline.time_since_epoch()).count();
  __kernel_timespec ts;
  ts.tv_sec = ns < 0 ? 0 : ns / 1000000000;
  ts.tv_nsec = ns < 0 ? 0 : ns % 1000000000;
  const int ret = co_submit([&](io_uring_sqe* sqe) {
    io_uring_prep_timeout(sqe, &ts, 0, IORING_TIMEOUT_ABS);
  });
  return ret == -ETIME ? 0 : ret;
}

}  // namespace corolib
