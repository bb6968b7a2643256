// The submission side of EventLoop, for the co_* helpers (co_submit.cpp,
// timer.cpp). Loop thread only (or a coroutine it entered).
#pragma once

#include <cstdio>
#include <cstdlib>

#include "corolib/loop/event_loop.hpp"

namespace corolib::detail {

struct LoopAccess {
  // Reserves `count` CQ slots (waiting, FIFO, while the loop is at its
  // in-flight limit) and hands out `count` SQEs that will be submitted in
  // the same batch. False when the loop is shutting down (nothing held).
  static coroutine_fn bool acquire(EventLoop* loop, io_uring_sqe** sqes, unsigned count) {
    return loop->co_reserve(count) && loop->co_get_sqes(sqes, count);
  }
  static EventLoopStats& stats(EventLoop* loop) { return loop->stats_; }
};

// The loop a coroutine_fn helper submits to; aborts with a message naming
// `function` when called outside a coroutine or on a thread without a loop.
EventLoop* require_loop(const char* function);

[[noreturn]] void loop_die(const char* message, int error = 0);

}  // namespace corolib::detail
