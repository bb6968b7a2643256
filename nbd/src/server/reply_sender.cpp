// ReplySender: see reply_sender.hpp.
#include "reply_sender.hpp"

#include <sys/socket.h>

#include <cassert>
#include <cerrno>

#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"

namespace nbd::server_detail {

ReplySender::~ReplySender() { assert(sender_ == nullptr && "ReplySender destroyed while running"); }

void ReplySender::start() {
  loop_ = corolib::EventLoop::current();
  assert(loop_ != nullptr && sender_ == nullptr);
  sender_ = corolib::create(&ReplySender::sender_entry, this);
  corolib::enter(sender_);  // parks at once: nothing is queued yet
}

coroutine_fn void ReplySender::stop() {
  stopping_ = true;
  if (sender_ == nullptr) return;
  wake_sender();
  stopper_ = corolib::self();
  corolib::yield();  // the sender wakes us as it ends
  stopper_ = nullptr;
}

coroutine_fn int ReplySender::send(iovec* iov, int count) {
  assert(sender_ != nullptr && !stopping_ && "ReplySender::send outside start()..stop()");
  if (error_ != 0) return error_;
  while (count > 0 && iov->iov_len == 0) {
    ++iov;
    --count;
  }
  if (count == 0) return 0;
  Pending pending{iov, count, corolib::self()};
  if (tail_ != nullptr) {
    tail_->next = &pending;
  } else {
    head_ = &pending;
  }
  tail_ = &pending;
  ++stats_.replies;
  wake_sender();
  corolib::yield();  // complete() or fail_all() wakes us
  return pending.result;
}

void ReplySender::wake_sender() {
  if (!idle_) return;  // busy, or already scheduled: it will see the queue
  idle_ = false;
  loop_->enter_soon(sender_);
}

void ReplySender::sender_entry(void* opaque) { static_cast<ReplySender*>(opaque)->sender_main(); }

coroutine_fn void ReplySender::sender_main() {
  iovec iov[kMaxIov];
  for (;;) {
    if (head_ == nullptr) {
      if (stopping_) break;
      idle_ = true;
      corolib::yield();  // wake_sender() schedules us
      continue;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(gather(iov));
    ++stats_.sendmsgs;
    const int ret = corolib::co_sendmsg(fd_, &msg, MSG_NOSIGNAL);
    if (ret > 0) {
      complete(static_cast<std::size_t>(ret));
    } else {
      fail_all(ret == 0 ? -EPIPE : ret);
    }
  }
  sender_ = nullptr;
  if (stopper_ != nullptr) corolib::wake_deferred(stopper_);
}

int ReplySender::gather(iovec* out) const {
  int n = 0;
  for (const Pending* p = head_; p != nullptr && n < kMaxIov; p = p->next) {
    for (int i = 0; i < p->count && n < kMaxIov; ++i) {
      if (p->iov[i].iov_len != 0) out[n++] = p->iov[i];
    }
  }
  return n;
}

void ReplySender::complete(std::size_t sent) {
  while (Pending* p = head_) {
    while (p->count > 0 && sent >= p->iov->iov_len) {
      sent -= p->iov->iov_len;
      ++p->iov;
      --p->count;
    }
    if (p->count > 0) {
      // A short write: the rest of this reply goes first next time.
      p->iov->iov_base = static_cast<std::byte*>(p->iov->iov_base) + sent;
      p->iov->iov_len -= sent;
      return;
    }
    head_ = p->next;
    if (head_ == nullptr) tail_ = nullptr;
    corolib::wake_deferred(p->co);  // p lives on that stack: not touched again
  }
}

void ReplySender::fail_all(int error) {
  error_ = error;
  while (Pending* p = head_) {
    head_ = p->next;
    p->result = error;
    corolib::wake_deferred(p->co);
  }
  tail_ = nullptr;
}

}  // namespace nbd::server_detail
