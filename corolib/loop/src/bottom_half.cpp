// BottomHalf: the scheduling state machine; the lists live in EventLoop.
//
// state_ holds kQueued (on the loop's incoming or ready list; only the
// thread that sets it pushes) and kScheduled (the callback should run).
// The loop clears both before running the callback, so the callback may
// schedule again.
#include "corolib/loop/bottom_half.hpp"

#include "corolib/loop/event_loop.hpp"

namespace corolib {

BottomHalf::BottomHalf(EventLoop& loop, Callback callback, void* opaque)
    : loop_(loop), callback_(callback), opaque_(opaque) {}

BottomHalf::~BottomHalf() {
  loop_.check_thread("~BottomHalf");
  if ((state_.fetch_and(~kScheduled, std::memory_order_acq_rel) & kQueued) != 0) {
    loop_.remove_bottom_half(this);
  }
}

void BottomHalf::schedule() {
  const unsigned old = state_.fetch_or(kQueued | kScheduled, std::memory_order_acq_rel);
  if ((old & kQueued) == 0) loop_.push_bottom_half(this);
}

void BottomHalf::cancel() { state_.fetch_and(~kScheduled, std::memory_order_acq_rel); }

}  // namespace corolib
