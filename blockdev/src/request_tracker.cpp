#include "blockdev/request_tracker.hpp"

#include <cassert>

namespace blockdev {

RequestTracker::~RequestTracker() { assert(head_ == nullptr && "requests still in flight"); }

RequestTracker::Request* RequestTracker::find_conflict(std::uint64_t offset, std::uint64_t end,
                                                       bool serialising) const {
  // Plain requests only conflict with serialising ones: skip the walk when
  // there are none (the common case).
  if (!serialising && serialising_count_ == 0) return nullptr;
  for (Request* r = head_; r != nullptr; r = r->next_) {
    if (!serialising && !r->serialising_) continue;
    if (r->offset_ < end && offset < r->end_) return r;
  }
  return nullptr;
}

coroutine_fn void RequestTracker::begin(Request* req, std::uint64_t offset, std::uint64_t length,
                                        bool serialising) {
  const std::uint64_t end = offset + length;
  std::unique_lock lock(mutex_);
  if (length != 0) {
    bool waited = false;
    while (Request* other = find_conflict(offset, end, serialising)) {
      if (!waited) {
        waited = true;
        ++waits_;
      }
      // `other` cannot go away while we hold the lock, and end() wakes its
      // waiters under the lock, so this wakeup cannot be missed.
      other->waiters_.wait(lock);
    }
  }
  req->offset_ = offset;
  req->end_ = end;
  req->serialising_ = serialising;
  req->prev_ = nullptr;
  req->next_ = head_;
  if (head_ != nullptr) head_->prev_ = req;
  head_ = req;
  ++count_;
  if (serialising) ++serialising_count_;
}

void RequestTracker::end(Request* req) {
  std::lock_guard lock(mutex_);
  if (req->prev_ != nullptr) {
    req->prev_->next_ = req->next_;
  } else {
    head_ = req->next_;
  }
  if (req->next_ != nullptr) req->next_->prev_ = req->prev_;
  req->prev_ = req->next_ = nullptr;
  --count_;
  if (req->serialising_) --serialising_count_;
  req->waiters_.restart_all();
}

std::size_t RequestTracker::in_flight() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::size_t RequestTracker::serialising_in_flight() const {
  std::lock_guard lock(mutex_);
  return serialising_count_;
}

std::uint64_t RequestTracker::waits() const {
  std::lock_guard lock(mutex_);
  return waits_;
}

}  // namespace blockdev
