// EventLoop: one io_uring per thread that re-enters coroutines from
// completion callbacks (QEMU's AioContext, for io_uring only).
//
// Contract
// - Thread: a loop belongs to the thread that constructs it, for life (the
//   ring is SINGLE_ISSUER and its registered fd is per thread). Construct,
//   run, register, shut down and destroy it there; one loop per thread.
//   Only schedule(), enter_soon(), stop() and BottomHalf::schedule() may be
//   called from other threads, up to the destructor (which waits for such
//   calls still in progress). Violations abort with a message.
// - Construction sets up the ring (see ring_info.hpp for the fallback
//   order), registers the ring fd, and makes this loop the thread's
//   corolib::Scheduler and EventLoop::current() until destruction, so
//   coroutines entered on this thread, before or during run(), have it as
//   their home. Start-up failure (no io_uring, no memory) throws
//   std::system_error; nothing else throws, nothing logs.
// - run() / run_until(pred) iterate until stop() (or pred() is true,
//   checked before every iteration; it is called on the loop's thread and
//   must not yield). One iteration: submit every queued SQE in one
//   io_uring_enter and wait for at least one completion (no wait when bottom
//   halves, scheduled coroutines or a stop are pending); reap every CQE and
//   run its callback, which re-enters the waiting coroutine; let coroutines
//   waiting for ring room go; run bottom halves; enter coroutines scheduled
//   with schedule()/enter_soon(). Not reentrant; not from a coroutine.
// - stop(), from any thread, makes run() return at the end of its current
//   iteration, or the next run() return at once. I/O in flight stays in
//   flight: the next run() carries on with it.
// - In flight: in_flight() counts requests that will post a CQE, the
//   loop's own included. Coroutines' requests are admitted while it stays
//   within max_in_flight() (default: CQ entries minus 2, for the loop's own
//   eventfd read and shutdown cancel), so the CQ cannot overflow; a
//   coroutine that would exceed it waits, FIFO, until completions make
//   room. When the SQ is full, the submitting coroutine submits the queue
//   itself and carries on. Should the kernel still report a CQ overflow,
//   the loop flushes it and keeps reaping (stats().cq_overflow_flushes).
// - schedule(co) implements corolib::Scheduler: from any thread, a
//   lock-free push and (from another thread) an eventfd write that wakes the
//   loop; co is entered on the loop's thread in its next iteration. The
//   caller has claimed co with mark_scheduled(); enter_soon() claims it
//   itself. Scheduling a coroutine twice aborts naming both callers.
// - shutdown() (and the destructor) drains the loop: new requests fail with
//   -ECANCELED, requests in flight are cancelled and their coroutines
//   re-entered with the result, scheduled coroutines and pending bottom
//   halves run, until nothing is left. Coroutines suspended for other
//   reasons (a CoQueue, a plain yield) are not touched. The loop cannot run
//   again afterwards.
#pragma once

#include <liburing.h>
#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <type_traits>

#include "corolib/coroutine.hpp"
#include "corolib/loop/completion.hpp"
#include "corolib/loop/ring_info.hpp"
#include "corolib/scheduler.hpp"

namespace corolib {

class BottomHalf;

struct EventLoopOptions {
  // SQ size (the kernel rounds up to a power of two).
  unsigned sq_entries = 256;
  // CQ size; raised to at least 2 x sq_entries (and 8).
  unsigned cq_entries = 0;
  // The first setup to try; the loop falls back from there.
  TaskrunMode best_mode = TaskrunMode::kDefer;
  // Requests in flight at most, the loop's own two included (at least 4);
  // 0: CQ entries minus 2. A value above the CQ size lets the kernel
  // overflow the CQ (for tests of that path).
  unsigned max_in_flight = 0;
  // Register the ring fd (IORING_REGISTER_RING_FDS) to save an fget per enter.
  bool register_ring_fd = true;
};

// Counters for tests and benchmarks; read them on the loop's thread.
struct EventLoopStats {
  std::uint64_t iterations = 0;
  std::uint64_t enter_calls = 0;        // io_uring_enter for submit and/or wait
  std::uint64_t sqes_submitted = 0;
  std::uint64_t cqes_reaped = 0;
  std::uint64_t sq_full_submits = 0;    // submits forced by a full SQ
  std::uint64_t in_flight_waits = 0;    // requests that waited for CQ room
  std::uint64_t cq_overflow_flushes = 0;
  std::uint64_t eintr_retries = 0;
  std::uint64_t eagain_retries = 0;
  std::uint64_t bottom_halves_run = 0;
  std::uint64_t coroutines_scheduled = 0;  // entered from the schedule queue
};

namespace detail {
struct LoopAccess;
}

class EventLoop final : public Scheduler {
 public:
  explicit EventLoop(const EventLoopOptions& options = {});
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;
  ~EventLoop();

  // The loop owned by the calling thread (nullptr if none). From a
  // coroutine: the loop of the thread it runs on.
  static EventLoop* current();

  void run();
  template <class Pred>
  void run_until(Pred&& pred) {
    using P = std::remove_reference_t<Pred>;
    run_until_impl([](void* p) -> bool { return (*static_cast<P*>(p))(); }, &pred);
  }
  // One iteration; waits for a completion only if may_block and nothing
  // else is pending. Same rules as run().
  void run_once(bool may_block = true);
  void stop();

  void shutdown();

  // corolib::Scheduler. Thread-safe.
  void schedule(Coroutine* co) override;
  // mark_scheduled(co, "EventLoop::enter_soon") + schedule(co). Thread-safe.
  void enter_soon(Coroutine* co);

  // Fixed buffers and files (IORING_REGISTER_*), on the loop's thread while
  // no request uses them. Return 0 or -errno.
  int register_buffers(const iovec* buffers, unsigned count);
  int unregister_buffers();
  int register_files(const int* fds, unsigned count);
  int update_registered_files(unsigned offset, const int* fds, unsigned count);
  int unregister_files();

  const RingInfo& ring_info() const { return info_; }
  const EventLoopStats& stats() const { return stats_; }
  // Requests in flight, including the loop's own (its eventfd read).
  unsigned in_flight() const { return in_flight_; }
  unsigned max_in_flight() const { return max_in_flight_; }
  bool running() const { return running_; }

  // The ring itself, for registration calls not wrapped here. Submitting
  // SQEs behind the loop's back breaks its accounting: use co_submit().
  io_uring* ring() { return &ring_; }

 private:
  friend class BottomHalf;
  friend struct detail::LoopAccess;

  // A coroutine waiting for ring room; lives on its stack.
  struct RoomWaiter {
    Coroutine* co = nullptr;
    unsigned count = 0;  // CQ slots it needs
    bool granted = false;
    RoomWaiter* next = nullptr;
  };
  struct WaitList {
    RoomWaiter* head = nullptr;
    RoomWaiter* tail = nullptr;
    bool empty() const { return head == nullptr; }
    void push(RoomWaiter* w);
    RoomWaiter* pop();
  };
  // Brackets a call from another thread (schedule, stop, bottom half) that
  // publishes work and then writes the eventfd; the destructor waits for it.
  class ForeignCall {
   public:
    explicit ForeignCall(EventLoop* loop);
    ForeignCall(const ForeignCall&) = delete;
    ForeignCall& operator=(const ForeignCall&) = delete;
    ~ForeignCall();

   private:
    EventLoop* loop_;
  };
  // The loop's own requests.
  struct LoopCompletion : Completion {
    EventLoop* loop = nullptr;
  };

  void run_until_impl(bool (*pred)(void*), void* context);
  void check_thread(const char* what) const;
  void iterate(bool may_block);
  bool has_pending_work() const;
  void submit_and_wait(bool block);
  void reap();
  void grant_room();
  void run_bottom_halves();
  void run_scheduled();
  void notify();

  // Submission (see co_submit.cpp). co_* may yield.
  coroutine_fn bool co_reserve(unsigned count);
  coroutine_fn bool co_get_sqes(io_uring_sqe** sqes, unsigned count);
  io_uring_sqe* loop_get_sqe();
  bool on_owner_thread() const;

  void arm_eventfd();
  void cancel_all();
  static void on_eventfd(Completion* c, int result, std::uint32_t flags);
  static void on_cancel(Completion* c, int result, std::uint32_t flags);

  static BottomHalf*& bh_link(BottomHalf* bh);
  void push_bottom_half(BottomHalf* bh);
  void remove_bottom_half(BottomHalf* bh);
  void take_incoming_bottom_halves();

  io_uring ring_{};
  RingInfo info_;
  EventLoopStats stats_;
  unsigned in_flight_ = 0;
  unsigned max_in_flight_ = 0;
  WaitList room_waiters_;  // waiting for CQ room
  WaitList sq_waiters_;    // hold room, waiting for the kernel to take the SQ

  int event_fd_ = -1;
  std::uint64_t event_value_ = 0;
  LoopCompletion event_completion_;
  bool event_armed_ = false;
  LoopCompletion cancel_completion_;
  bool cancel_in_flight_ = false;

  std::atomic<bool> stop_requested_{false};
  std::atomic<int> foreign_calls_{0};
  bool running_ = false;
  bool shutting_down_ = false;  // requests fail with -ECANCELED
  bool closing_ = false;        // the eventfd read is not re-armed
  bool shut_down_ = false;

  std::atomic<Coroutine*> scheduled_{nullptr};     // LIFO, taken whole
  std::atomic<BottomHalf*> incoming_bhs_{nullptr};  // LIFO, taken whole
  BottomHalf* ready_bhs_ = nullptr;                 // FIFO, loop thread only
  BottomHalf* ready_bhs_tail_ = nullptr;

  Scheduler* previous_scheduler_ = nullptr;
  unsigned long owner_thread_ = 0;  // pthread_t
};

inline void EventLoop::run() { run_until_impl(nullptr, nullptr); }

}  // namespace corolib
