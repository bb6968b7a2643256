// BottomHalf: a callback that runs in an EventLoop's next iteration (QEMU's
// QEMUBH).
//
// Contract
// - Owned by the caller (no allocation); bound to one loop for its life.
// - schedule() may be called from any thread, any number of times: the
//   callback runs once, on the loop's thread, outside any coroutine, in the
//   loop's next iteration (a bottom half scheduled while bottom halves run
//   waits for the following one). Scheduling again while already pending
//   does nothing; scheduling from the callback runs it again next iteration.
//   From another thread it wakes the loop.
// - cancel() (any thread) withdraws a pending run; a run already started is
//   not affected.
// - Destroy it on the loop's thread, with no schedule() racing from another
//   thread, before the loop is destroyed. It may be destroyed from its own
//   callback or while pending.
// - Bottom halves still pending when EventLoop::shutdown() runs are run
//   while the loop drains.
#pragma once

#include <atomic>

namespace corolib {

class EventLoop;

class BottomHalf {
 public:
  using Callback = void (*)(void* opaque);

  BottomHalf(EventLoop& loop, Callback callback, void* opaque);
  BottomHalf(const BottomHalf&) = delete;
  BottomHalf& operator=(const BottomHalf&) = delete;
  ~BottomHalf();

  void schedule();
  void cancel();
  // True while a run is pending.
  bool scheduled() const { return (state_.load(std::memory_order_acquire) & kScheduled) != 0; }

  EventLoop& loop() const { return loop_; }

 private:
  friend class EventLoop;

  static constexpr unsigned kQueued = 1;     // on the loop's incoming or ready list
  static constexpr unsigned kScheduled = 2;  // the callback should run

  EventLoop& loop_;
  Callback callback_;
  void* opaque_;
  std::atomic<unsigned> state_{0};
  BottomHalf* next_ = nullptr;  // list link, owned by the loop while kQueued
};

}  // namespace corolib
