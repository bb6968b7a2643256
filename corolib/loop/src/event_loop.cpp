// The event loop: ring ownership, the iteration, reaping and dispatch, the
// cross-thread schedule queue and shutdown. Submission for coroutines is in
// co_submit.cpp; bottom halves' own side in bottom_half.cpp.
#include "corolib/loop/event_loop.hpp"

#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>

#include "corolib/loop/bottom_half.hpp"
#include "coroutine_link.hpp"
#include "loop_access.hpp"
#include "mpsc_stack.hpp"
#include "ring_setup.hpp"

namespace corolib {
namespace {

thread_local EventLoop* t_current = nullptr;

// Requests the loop keeps in flight for itself: the eventfd read and a
// cancel during shutdown.
constexpr unsigned kLoopRequests = 2;

constexpr unsigned kReapBatch = 64;

static_assert(sizeof(pthread_t) == sizeof(unsigned long), "owner_thread_ holds a pthread_t");

}  // namespace

namespace detail {

[[noreturn]] void loop_die(const char* message, int error) {
  if (error != 0) {
    std::fprintf(stderr, "corolib: %s: %s\n", message, std::strerror(error));
  } else {
    std::fprintf(stderr, "corolib: %s\n", message);
  }
  std::abort();
}

EventLoop* require_loop(const char* function) {
  if (!in_coroutine()) {
    std::fprintf(stderr, "corolib: %s must be called from a coroutine\n", function);
    std::abort();
  }
  EventLoop* loop = EventLoop::current();
  if (loop == nullptr) {
    std::fprintf(stderr, "corolib: %s: no EventLoop on this thread\n", function);
    std::abort();
  }
  return loop;
}

}  // namespace detail

// --- wait lists ----------------------------------------------------------------

void EventLoop::WaitList::push(RoomWaiter* w) {
  w->next = nullptr;
  if (tail != nullptr) {
    tail->next = w;
  } else {
    head = w;
  }
  tail = w;
}

EventLoop::RoomWaiter* EventLoop::WaitList::pop() {
  RoomWaiter* w = head;
  if (w != nullptr) {
    head = w->next;
    if (head == nullptr) tail = nullptr;
    w->next = nullptr;
  }
  return w;
}

// --- life cycle ------------------------------------------------------------------

EventLoop::EventLoop(const EventLoopOptions& options) {
  if (t_current != nullptr) detail::loop_die("this thread already has an EventLoop");
  int ret = detail::setup_ring(options, &ring_, &info_);
  if (ret < 0) throw std::system_error(-ret, std::generic_category(), "io_uring_queue_init_params");
  if (options.register_ring_fd) info_.ring_fd_registered = io_uring_register_ring_fd(&ring_) == 1;

  // Blocking, so that a kernel whose eventfd lacks FMODE_NOWAIT parks the
  // read in io-wq instead of failing it with -EAGAIN.
  event_fd_ = eventfd(0, EFD_CLOEXEC);
  if (event_fd_ < 0) {
    int error = errno;
    io_uring_queue_exit(&ring_);
    throw std::system_error(error, std::generic_category(), "eventfd");
  }

  // The limit counts the loop's own requests; leave room for at least one
  // request with its linked timeout besides them.
  max_in_flight_ = options.max_in_flight != 0 ? options.max_in_flight
                                              : info_.cq_entries - kLoopRequests;
  if (max_in_flight_ < kLoopRequests + 2) max_in_flight_ = kLoopRequests + 2;
  event_completion_.callback = &EventLoop::on_eventfd;
  event_completion_.loop = this;
  cancel_completion_.callback = &EventLoop::on_cancel;
  cancel_completion_.loop = this;
  owner_thread_ = static_cast<unsigned long>(pthread_self());

  t_current = this;
  previous_scheduler_ = thread_scheduler();
  set_thread_scheduler(this);
  arm_eventfd();
}

EventLoop::~EventLoop() {
  check_thread("~EventLoop");
  shutdown();
  // A thread that scheduled the last coroutine may still be writing the
  // eventfd (see ForeignCall).
  while (foreign_calls_.load(std::memory_order_acquire) != 0) sched_yield();
  if (ready_bhs_ != nullptr || incoming_bhs_.load(std::memory_order_acquire) != nullptr) {
    detail::loop_die("EventLoop destroyed with bottom halves still queued");
  }
  io_uring_queue_exit(&ring_);
  close(event_fd_);
  set_thread_scheduler(previous_scheduler_);
  t_current = nullptr;
}

EventLoop* EventLoop::current() {
  if (t_current != nullptr) return t_current;
  // A backend that runs each coroutine on a thread of its own (the thread
  // backend) hands the entering thread's scheduler to it.
  if (in_coroutine()) return dynamic_cast<EventLoop*>(thread_scheduler());
  return nullptr;
}

bool EventLoop::on_owner_thread() const {
  return pthread_equal(pthread_self(), static_cast<pthread_t>(owner_thread_)) != 0;
}

void EventLoop::check_thread(const char* what) const {
  if (!on_owner_thread()) {
    std::fprintf(stderr, "corolib: EventLoop: %s called on a thread that does not own the loop\n",
                 what);
    std::abort();
  }
}

// --- running ---------------------------------------------------------------------

void EventLoop::run_until_impl(bool (*pred)(void*), void* context) {
  if (in_coroutine()) detail::loop_die("EventLoop::run must not be called from a coroutine");
  check_thread("run");
  if (running_) detail::loop_die("EventLoop::run is not reentrant");
  if (shutting_down_) detail::loop_die("EventLoop::run after shutdown");
  running_ = true;
  for (;;) {
    if (stop_requested_.load(std::memory_order_acquire)) {
      stop_requested_.store(false, std::memory_order_relaxed);
      break;
    }
    if (pred != nullptr && pred(context)) break;
    iterate(true);
  }
  // Leave nothing queued behind: requests made by the last callbacks go now.
  if (io_uring_sq_ready(&ring_) != 0) submit_and_wait(false);
  running_ = false;
}

void EventLoop::run_once(bool may_block) {
  if (in_coroutine()) detail::loop_die("EventLoop::run_once must not be called from a coroutine");
  check_thread("run_once");
  if (running_) detail::loop_die("EventLoop::run_once is not reentrant");
  if (shutting_down_) detail::loop_die("EventLoop::run_once after shutdown");
  running_ = true;
  iterate(may_block);
  running_ = false;
}

void EventLoop::stop() {
  if (t_current == this) {
    stop_requested_.store(true, std::memory_order_release);
    return;
  }
  ForeignCall call(this);
  stop_requested_.store(true, std::memory_order_release);
  notify();
}

// From another thread, publishing work and writing the eventfd are two steps:
// in between, the loop may already run the work, finish, and be destroyed.
// The destructor therefore waits until no foreign call is inside one. Count
// first, then publish: a loop that sees the work also sees the count.
EventLoop::ForeignCall::ForeignCall(EventLoop* loop) : loop_(loop) {
  loop_->foreign_calls_.fetch_add(1, std::memory_order_relaxed);
}

EventLoop::ForeignCall::~ForeignCall() {
  loop_->foreign_calls_.fetch_sub(1, std::memory_order_release);
}

void EventLoop::notify() {
  const std::uint64_t one = 1;
  // EAGAIN means the counter is saturated: the loop is woken anyway.
  while (write(event_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
  }
}

void EventLoop::iterate(bool may_block) {
  ++stats_.iterations;
  if (!event_armed_ && !closing_) arm_eventfd();
  const bool stopping = running_ && stop_requested_.load(std::memory_order_relaxed);
  submit_and_wait(may_block && !stopping && !has_pending_work());
  reap();
  run_bottom_halves();
  run_scheduled();
}

bool EventLoop::has_pending_work() const {
  if (ready_bhs_ != nullptr || incoming_bhs_.load(std::memory_order_relaxed) != nullptr) return true;
  if (scheduled_.load(std::memory_order_relaxed) != nullptr) return true;
  if (!sq_waiters_.empty()) return true;
  const RoomWaiter* w = room_waiters_.head;
  return w != nullptr && in_flight_ + w->count <= max_in_flight_;
}

void EventLoop::submit_and_wait(bool block) {
  int ret;
  if (block) {
    ret = io_uring_submit_and_wait(&ring_, 1);
  } else if (io_uring_sq_ready(&ring_) != 0 || info_.mode == TaskrunMode::kDefer ||
             (IO_URING_READ_ONCE(*ring_.sq.kflags) & (IORING_SQ_TASKRUN | IORING_SQ_CQ_OVERFLOW))) {
    // Deferred task work (and an overflow flush) needs GETEVENTS to post.
    ret = io_uring_submit_and_get_events(&ring_);
  } else {
    return;
  }
  ++stats_.enter_calls;
  if (ret >= 0) {
    stats_.sqes_submitted += static_cast<unsigned>(ret);
    return;
  }
  // Interrupted, or the kernel wants the CQ drained first: reap and retry.
  if (ret == -EINTR || ret == -EAGAIN || ret == -EBUSY || ret == -ETIME) return;
  detail::loop_die("io_uring_enter", -ret);
}

void EventLoop::reap() {
  struct Cqe {
    std::uint64_t user_data;
    int res;
    std::uint32_t flags;
  } batch[kReapBatch];
  bool flushed = false;
  for (;;) {
    unsigned n = 0;
    unsigned head;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      batch[n] = {cqe->user_data, cqe->res, cqe->flags};
      if (++n == kReapBatch) break;
    }
    if (n == 0) {
      // Everything in the ring is reaped; the kernel may hold more.
      if (flushed || !(IO_URING_READ_ONCE(*ring_.sq.kflags) & IORING_SQ_CQ_OVERFLOW)) break;
      ++stats_.cq_overflow_flushes;
      int ret = io_uring_get_events(&ring_);
      ++stats_.enter_calls;
      if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
        detail::loop_die("io_uring_enter (CQ overflow flush)", -ret);
      }
      flushed = true;
      continue;
    }
    flushed = false;
    // Consume before dispatching: callbacks re-enter coroutines that submit
    // again, and the slots they count on must really be free.
    io_uring_cq_advance(&ring_, n);
    in_flight_ -= n;
    stats_.cqes_reaped += n;
    for (unsigned i = 0; i < n; ++i) {
      auto* c = reinterpret_cast<Completion*>(static_cast<std::uintptr_t>(batch[i].user_data));
      c->callback(c, batch[i].res, batch[i].flags);
    }
  }
  grant_room();
  // Coroutines whose submission the kernel refused retry now.
  WaitList retry = sq_waiters_;
  sq_waiters_ = {};
  while (RoomWaiter* w = retry.pop()) enter(w->co);
}

void EventLoop::grant_room() {
  while (RoomWaiter* w = room_waiters_.head) {
    if (in_flight_ + w->count > max_in_flight_) break;
    room_waiters_.pop();
    in_flight_ += w->count;
    w->granted = true;
    enter(w->co);
  }
}

// --- the loop's own requests ---------------------------------------------------------

io_uring_sqe* EventLoop::loop_get_sqe() {
  for (;;) {
    if (io_uring_sqe* sqe = io_uring_get_sqe(&ring_)) return sqe;
    ++stats_.sq_full_submits;
    int ret = io_uring_submit(&ring_);
    ++stats_.enter_calls;
    if (ret > 0) {
      stats_.sqes_submitted += static_cast<unsigned>(ret);
      continue;
    }
    if (ret < 0 && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
      detail::loop_die("io_uring_submit", -ret);
    }
    reap();  // only called between iterations' phases, where this is safe
  }
}

void EventLoop::arm_eventfd() {
  io_uring_sqe* sqe = loop_get_sqe();
  io_uring_prep_read(sqe, event_fd_, &event_value_, sizeof(event_value_), 0);
  io_uring_sqe_set_data(sqe, &event_completion_);
  ++in_flight_;
  event_armed_ = true;
}

void EventLoop::on_eventfd(Completion* c, int, std::uint32_t) {
  // The result does not matter: the read only exists to end a wait. It is
  // re-armed at the start of the next iteration.
  static_cast<LoopCompletion*>(c)->loop->event_armed_ = false;
}

void EventLoop::cancel_all() {
  io_uring_sqe* sqe = loop_get_sqe();
  io_uring_prep_cancel64(sqe, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
  io_uring_sqe_set_data(sqe, &cancel_completion_);
  ++in_flight_;
  cancel_in_flight_ = true;
}

void EventLoop::on_cancel(Completion* c, int, std::uint32_t) {
  static_cast<LoopCompletion*>(c)->loop->cancel_in_flight_ = false;
}

// --- shutdown ----------------------------------------------------------------------

void EventLoop::shutdown() {
  check_thread("shutdown");
  if (shut_down_) return;
  if (in_coroutine() || running_) {
    detail::loop_die("EventLoop::shutdown must be called outside run() and coroutines");
  }
  shutting_down_ = true;
  bool cancelled = false;
  for (;;) {
    const unsigned own = (event_armed_ ? 1u : 0u) + (cancel_in_flight_ ? 1u : 0u);
    const bool requests = in_flight_ > own || io_uring_sq_ready(&ring_) != 0;
    if (!requests && !has_pending_work() && room_waiters_.empty()) break;
    // One cancel catches every request submitted so far (queued SQEs go to
    // the kernel ahead of it); later ones are refused with -ECANCELED.
    // Requests already running in io-wq finish on their own.
    if (requests && !cancelled) {
      cancel_all();
      cancelled = true;
    }
    iterate(true);
  }
  // Finally retire the eventfd read.
  closing_ = true;
  if (event_armed_) {
    io_uring_sqe* sqe = loop_get_sqe();
    io_uring_prep_cancel(sqe, &event_completion_, 0);
    io_uring_sqe_set_data(sqe, &cancel_completion_);
    ++in_flight_;
    cancel_in_flight_ = true;
  }
  while (in_flight_ > 0) iterate(true);
  stop_requested_.store(false, std::memory_order_relaxed);
  shut_down_ = true;
}

// --- scheduling coroutines -------------------------------------------------------------

void EventLoop::schedule(Coroutine* co) {
  if (t_current == this) {
    detail::mpsc_push(scheduled_, co, detail::schedule_link);
    return;
  }
  ForeignCall call(this);
  if (detail::mpsc_push(scheduled_, co, detail::schedule_link)) notify();
}

void EventLoop::enter_soon(Coroutine* co) {
  mark_scheduled(co, "EventLoop::enter_soon");
  schedule(co);
}

void EventLoop::run_scheduled() {
  Coroutine* co = detail::mpsc_take_fifo(scheduled_, detail::schedule_link);
  while (co != nullptr) {
    Coroutine* next = detail::schedule_link(co);
    detail::schedule_link(co) = nullptr;
    ++stats_.coroutines_scheduled;
    clear_scheduled(co);
    enter(co);
    co = next;
  }
}

// --- bottom halves -------------------------------------------------------------------

BottomHalf*& EventLoop::bh_link(BottomHalf* bh) { return bh->next_; }

void EventLoop::push_bottom_half(BottomHalf* bh) {
  if (t_current == this) {
    detail::mpsc_push(incoming_bhs_, bh, bh_link);
    return;
  }
  ForeignCall call(this);
  if (detail::mpsc_push(incoming_bhs_, bh, bh_link)) notify();
}

void EventLoop::take_incoming_bottom_halves() {
  BottomHalf* list = detail::mpsc_take_fifo(incoming_bhs_, bh_link);
  if (list == nullptr) return;
  if (ready_bhs_tail_ != nullptr) {
    bh_link(ready_bhs_tail_) = list;
  } else {
    ready_bhs_ = list;
  }
  BottomHalf* tail = list;
  while (bh_link(tail) != nullptr) tail = bh_link(tail);
  ready_bhs_tail_ = tail;
}

void EventLoop::remove_bottom_half(BottomHalf* bh) {
  take_incoming_bottom_halves();
  BottomHalf* prev = nullptr;
  for (BottomHalf* it = ready_bhs_; it != nullptr; prev = it, it = bh_link(it)) {
    if (it != bh) continue;
    if (prev != nullptr) {
      bh_link(prev) = bh_link(it);
    } else {
      ready_bhs_ = bh_link(it);
    }
    if (ready_bhs_tail_ == it) ready_bhs_tail_ = prev;
    bh_link(it) = nullptr;
    return;
  }
}

void EventLoop::run_bottom_halves() {
  // Bottom halves scheduled from here on land in incoming_bhs_: they wait for
  // the next iteration.
  take_incoming_bottom_halves();
  while (BottomHalf* bh = ready_bhs_) {
    ready_bhs_ = bh_link(bh);
    if (ready_bhs_ == nullptr) ready_bhs_tail_ = nullptr;
    bh_link(bh) = nullptr;
    const unsigned state = bh->state_.fetch_and(~(BottomHalf::kQueued | BottomHalf::kScheduled),
                                                std::memory_order_acq_rel);
    if ((state & BottomHalf::kScheduled) == 0) continue;
    ++stats_.bottom_halves_run;
    bh->callback_(bh->opaque_);  // may destroy bh
  }
}

// --- registration ----------------------------------------------------------------------

int EventLoop::register_buffers(const iovec* buffers, unsigned count) {
  check_thread("register_buffers");
  return io_uring_register_buffers(&ring_, buffers, count);
}

int EventLoop::unregister_buffers() {
  check_thread("unregister_buffers");
  return io_uring_unregister_buffers(&ring_);
}

int EventLoop::register_files(const int* fds, unsigned count) {
  check_thread("register_files");
  return io_uring_register_files(&ring_, fds, count);
}

int EventLoop::update_registered_files(unsigned offset, const int* fds, unsigned count) {
  check_thread("update_registered_files");
  int ret = io_uring_register_files_update(&ring_, offset, fds, count);
  return ret < 0 ? ret : 0;
}

int EventLoop::unregister_files() {
  check_thread("unregister_files");
  return io_uring_unregister_files(&ring_);
}

}  // namespace corolib
