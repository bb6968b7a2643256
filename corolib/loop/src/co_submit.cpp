// Submission from coroutines: room in the CQ, SQEs, the completion record on
// the coroutine's stack, linked timeouts and the -EINTR/-EAGAIN retries.
#include <liburing.h>
#include <poll.h>

#include <cerrno>

#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "loop_access.hpp"

namespace corolib {

coroutine_fn bool EventLoop::co_reserve(unsigned count) {
  if (shutting_down_) return false;
  if (room_waiters_.empty() && in_flight_ + count <= max_in_flight_) {
    in_flight_ += count;
    return true;
  }
  if (count > max_in_flight_) detail::loop_die("request needs more CQ slots than max_in_flight");
  ++stats_.in_flight_waits;
  RoomWaiter w;
  w.co = self();
  w.count = count;
  room_waiters_.push(&w);
  yield();
  if (!w.granted) detail::loop_die("coroutine re-entered while waiting for room in the ring");
  // grant_room() counted us in.
  if (shutting_down_) {
    in_flight_ -= count;
    return false;
  }
  return true;
}

coroutine_fn bool EventLoop::co_get_sqes(io_uring_sqe** sqes, unsigned count) {
  // All `count` SQEs (a request and its linked timeout) must reach the
  // kernel in one submit, or the link would be cut.
  while (io_uring_sq_space_left(&ring_) < count) {
    ++stats_.sq_full_submits;
    if (on_owner_thread()) {
      int ret = io_uring_submit(&ring_);
      ++stats_.enter_calls;
      if (ret > 0) {
        stats_.sqes_submitted += static_cast<unsigned>(ret);
        continue;
      }
      if (ret == -EINTR) continue;
      if (ret < 0 && ret != -EAGAIN && ret != -EBUSY) detail::loop_die("io_uring_submit", -ret);
    }
    // The kernel did not take the queue (CQ overflow backlog, no memory), or
    // this coroutine runs on a thread of its own (the thread backend) that
    // must not enter a SINGLE_ISSUER ring: wait for the loop's next
    // iteration, which submits and reaps.
    RoomWaiter w;
    w.co = self();
    sq_waiters_.push(&w);
    yield();
    if (shutting_down_) {
      in_flight_ -= count;
      return false;
    }
  }
  for (unsigned i = 0; i < count; ++i) sqes[i] = io_uring_get_sqe(&ring_);
  return true;
}

namespace detail {
namespace {

// The completion record of one submission, on the submitting coroutine's
// stack. The coroutine is re-entered once every CQE of the submission (the
// request, and its linked timeout if any) has been reaped.
struct IoWait final : Completion {
  Coroutine* co = nullptr;
  int result = 0;
  unsigned pending = 0;
};

struct TimeoutWait final : Completion {
  IoWait* io = nullptr;
  int result = 0;
};

void complete(IoWait* io) {
  if (--io->pending == 0) enter(io->co);
}

void on_request(Completion* c, int result, std::uint32_t) {
  auto* io = static_cast<IoWait*>(c);
  io->result = result;
  complete(io);
}

void on_timeout(Completion* c, int result, std::uint32_t) {
  auto* t = static_cast<TimeoutWait*>(c);
  t->result = result;
  complete(t->io);
}

__kernel_timespec to_timespec(std::int64_t ns) {
  __kernel_timespec ts;
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  return ts;
}

struct PollPrep {
  int fd;
  bool fixed;
  short events;
};

void prep_poll(io_uring_sqe* sqe, const void* context) {
  const auto* p = static_cast<const PollPrep*>(context);
  io_uring_prep_poll_add(sqe, p->fd, static_cast<unsigned>(p->events));
  if (p->fixed) sqe->flags |= IOSQE_FIXED_FILE;
}

}  // namespace

coroutine_fn int co_submit(PrepFn prep, const void* context, IoTimeout timeout,
                           short eagain_poll_events) {
  EventLoop* loop = require_loop("co_submit");
  const unsigned count = timeout.enabled() ? 2 : 1;
  __kernel_timespec deadline{};
  if (timeout.enabled()) {
    // Fixed once: retries (and the readiness poll) share the deadline.
    const std::int64_t ns = timeout.deadline_ns();
    deadline = to_timespec(ns);
    timeout = IoTimeout::at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(ns)));
  }
  for (;;) {
    io_uring_sqe* sqes[2];
    if (!LoopAccess::acquire(loop, sqes, count)) return -ECANCELED;

    IoWait io;
    io.callback = on_request;
    io.co = self();
    io.pending = count;
    TimeoutWait t;
    t.callback = on_timeout;
    t.io = &io;

    prep(sqes[0], context);
    const int fd = sqes[0]->fd;
    const bool fixed = (sqes[0]->flags & IOSQE_FIXED_FILE) != 0;
    io_uring_sqe_set_data(sqes[0], &io);
    if (count == 2) {
      sqes[0]->flags |= IOSQE_IO_LINK;
      io_uring_prep_link_timeout(sqes[1], &deadline, IORING_TIMEOUT_ABS);
      io_uring_sqe_set_data(sqes[1], &t);
    }

    yield();
    if (io.pending != 0) loop_die("coroutine re-entered while its io_uring request was in flight");

    const int result = io.result;
    if (count == 2 && t.result == -ETIME && (result == -ECANCELED || result == -EINTR)) {
      return -ETIMEDOUT;
    }
    if (result == -EINTR) {
      ++LoopAccess::stats(loop).eintr_retries;
      continue;
    }
    if (result == -EAGAIN && eagain_poll_events != kReturnEagain) {
      ++LoopAccess::stats(loop).eagain_retries;
      if (eagain_poll_events != 0) {
        const PollPrep poll{fd, fixed, eagain_poll_events};
        const int ready = co_submit(prep_poll, &poll, timeout, 0);
        if (ready < 0) return ready;
      }
      continue;
    }
    return result;
  }
}

}  // namespace detail
}  // namespace corolib
