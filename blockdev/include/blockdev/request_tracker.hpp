// RequestTracker: the requests in flight on a device, and QEMU's
// "serialising requests": a request that must not overlap others waits for
// them to finish.
//
// Contract
// - begin() registers a request for the byte range it covers and returns
//   once no *conflicting* request overlaps that range; end() unregisters it
//   and wakes the requests that waited for it. Two overlapping requests
//   conflict when at least one of them is serialising. A read-modify-write
//   registers its whole aligned span as serialising; a plain write registers
//   its range as non-serialising: so plain writes run concurrently with each
//   other, and an RMW never runs concurrently with any write that touches
//   the blocks it rewrites (which would otherwise be lost).
// - A request checks for conflicts and registers in one step under the
//   tracker's lock, and only registered requests are waited for: a waiting
//   request is never registered, so waits cannot form a cycle (no deadlock).
//   Fairness is not guaranteed: a serialising request may wait for as long
//   as overlapping writes keep arriving.
// - Request objects live on the requesting coroutine's stack (no
//   allocation); every begin() is paired with end() by the same request.
//   Use TrackedRequest for that.
// - Thread-safe: coroutines on different event loops may share a tracker.
//   The internal std::mutex is never held across a yield. begin() is
//   coroutine_fn; end() never switches (woken waiters run when the caller
//   next yields or terminates, or on their own event loop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>

#include "corolib/co_queue.hpp"
#include "corolib/coroutine.hpp"

namespace blockdev {

class RequestTracker {
 public:
  class Request {
   public:
    Request() = default;
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

    std::uint64_t offset() const { return offset_; }
    std::uint64_t end() const { return end_; }
    bool serialising() const { return serialising_; }

   private:
    friend class RequestTracker;
    std::uint64_t offset_ = 0;
    std::uint64_t end_ = 0;
    bool serialising_ = false;
    Request* prev_ = nullptr;
    Request* next_ = nullptr;
    corolib::CoQueue waiters_;  // requests that wait for this one
  };

  RequestTracker() = default;
  RequestTracker(const RequestTracker&) = delete;
  RequestTracker& operator=(const RequestTracker&) = delete;
  ~RequestTracker();

  // Waits until nothing conflicting overlaps [offset, offset + length), then
  // registers req for that range. length 0 registers an empty range that
  // conflicts with nothing.
  coroutine_fn void begin(Request* req, std::uint64_t offset, std::uint64_t length,
                          bool serialising);

  // Unregisters req; the requests waiting for it re-check their conflicts.
  void end(Request* req);

  // Registered requests, and how many of them are serialising (snapshots).
  std::size_t in_flight() const;
  std::size_t serialising_in_flight() const;

  // Requests that had to wait at least once since construction (for tests
  // and diagnostics).
  std::uint64_t waits() const;

 private:
  Request* find_conflict(std::uint64_t offset, std::uint64_t end, bool serialising) const;

  mutable std::mutex mutex_;
  Request* head_ = nullptr;
  std::size_t count_ = 0;
  std::size_t serialising_count_ = 0;
  std::uint64_t waits_ = 0;
};

// Registers a request for the lifetime of a scope.
class TrackedRequest {
 public:
  coroutine_fn TrackedRequest(RequestTracker& tracker, std::uint64_t offset,
                              std::uint64_t length, bool serialising)
      : tracker_(&tracker) {
    tracker_->begin(&request_, offset, length, serialising);
  }
  TrackedRequest(const TrackedRequest&) = delete;
  TrackedRequest& operator=(const TrackedRequest&) = delete;
  ~TrackedRequest() { tracker_->end(&request_); }

 private:
  RequestTracker* tracker_;
  RequestTracker::Request request_;
};

}  // namespace blockdev
