// ReplySender: the send side of one connection (private to the server
// implementation). Request coroutines queue whole replies; one sender
// coroutine writes every reply queued during a loop iteration with a single
// sendmsg.
//
// Contract
// - send(iov, count) queues one reply (its header and payload iovecs) and
//   suspends the caller until the kernel has taken every byte of it, or
//   until sending failed. The reply's bytes go out contiguously, in the
//   order of the send() calls, never interleaved with another reply's. The
//   iovec array is advanced in place; it and the memory it points to stay
//   the caller's and must stay valid until send() returns, which they do
//   since the caller is suspended until then (stack headers, pooled payload
//   buffers: nothing is copied or allocated).
// - Returns 0, or the -errno of the failed sendmsg (-EPIPE: the peer has
//   gone; -ECANCELED: the loop is shutting down). After a failure every
//   queued reply and every later send() fails with the same error and
//   nothing more is written.
// - Flushing: the first reply queued while the sender is idle schedules it
//   with EventLoop::enter_soon(), so it runs once the current iteration has
//   dispatched its completions and takes every reply they queued. While a
//   sendmsg is in flight, new replies queue for the next one. One sendmsg
//   carries at most kMaxIov iovecs; a short write carries on where it
//   stopped. Memory is bounded by the callers: each waits for its reply.
// - start() (from a coroutine on the connection's loop thread) creates the
//   sender coroutine; stop() waits until no reply is queued or in flight and
//   ends it, and must be called before destruction if start() was. send()
//   is only called between the two.
// - One thread: everything runs on the loop thread start() was called on.
#pragma once

#include <sys/uio.h>

#include <cstdint>

#include "corolib/coroutine.hpp"

namespace corolib {
class EventLoop;
}

namespace nbd::server_detail {

class ReplySender {
 public:
  // Iovecs in one sendmsg (the kernel's UIO_MAXIOV).
  static constexpr int kMaxIov = 1024;

  struct Stats {
    std::uint64_t replies = 0;   // replies queued
    std::uint64_t sendmsgs = 0;  // sendmsg calls made
  };

  explicit ReplySender(int fd) : fd_(fd) {}
  ReplySender(const ReplySender&) = delete;
  ReplySender& operator=(const ReplySender&) = delete;
  ~ReplySender();

  void start();
  coroutine_fn void stop();

  coroutine_fn int send(iovec* iov, int count);

  const Stats& stats() const { return stats_; }

 private:
  // One queued reply; lives on its sender's stack until send() returns.
  struct Pending {
    iovec* iov;  // the bytes not yet sent, advanced as they go
    int count;
    corolib::Coroutine* co;
    int result = 0;
    Pending* next = nullptr;
  };

  static void sender_entry(void* opaque);
  coroutine_fn void sender_main();
  int gather(iovec* out) const;
  void complete(std::size_t sent);
  void fail_all(int error);
  void wake_sender();

  const int fd_;
  corolib::EventLoop* loop_ = nullptr;
  corolib::Coroutine* sender_ = nullptr;  // nullptr before start() and after it ends
  corolib::Coroutine* stopper_ = nullptr;
  Pending* head_ = nullptr;
  Pending* tail_ = nullptr;
  bool idle_ = false;  // the sender is parked, waiting for a reply
  bool stopping_ = false;
  int error_ = 0;
  Stats stats_;
};

}  // namespace nbd::server_detail
