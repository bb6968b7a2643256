// CoRwlock: a reader-writer lock for coroutines.
//
// Contract
// - All calls are made from coroutines (abort otherwise). rdlock() and
//   wrlock() suspend the caller until the lock is granted; unlock() releases
//   whichever the caller holds.
// - Fair, first come first served (QEMU's design since 2021, "tickets"): a
//   coroutine that cannot have the lock at once queues a ticket, and tickets
//   are granted strictly in order. A reader does not join current readers
//   while anybody is queued, so writers do not starve. When a writer leaves,
//   every reader at the head of the queue is granted at once.
// - upgrade(): a reader becomes the writer. Immediate if it is the only
//   reader and nobody is queued; otherwise it gives up its read lock and
//   queues at the back like wrlock() (so a writer already waiting goes
//   first, and the data may change between the read and the write section).
// - downgrade(): the writer becomes a reader. Never suspends; readers queued
//   at the head are let in alongside it.
// - Grants never switch: the granted coroutines run when the caller next
//   yields or terminates, or on their own event loop (corolib::wake()).
// - Thread-safe: coroutines on different threads may share a CoRwlock (on
//   threads that have a Scheduler registered). The state is guarded by an
//   internal thread mutex held for a few instructions, never across a yield.
// - Each granted read or write lock counts as a held lock of the coroutine:
//   terminating while holding one aborts. unlock() of a write-locked rwlock
//   by a coroutine other than the writer aborts; so does unlock() when it is
//   not locked. (Readers are not tracked individually.)
#pragma once

#include <mutex>

#include "corolib/coroutine.hpp"

namespace corolib {

class CoRwlock {
 public:
  CoRwlock() = default;
  CoRwlock(const CoRwlock&) = delete;
  CoRwlock& operator=(const CoRwlock&) = delete;
  ~CoRwlock();

  coroutine_fn void rdlock();
  coroutine_fn void wrlock();
  coroutine_fn void unlock();

  // Caller holds a read lock; returns holding the write lock.
  coroutine_fn void upgrade();
  // Caller holds the write lock; returns holding a read lock. Never suspends.
  coroutine_fn void downgrade();

  // Snapshots for diagnostics and tests: readers holding the lock (0 when
  // free or write-locked), and whether a writer holds it.
  int readers() const;
  bool write_locked() const;

 private:
  struct Ticket;

  void enqueue(Ticket* ticket);
  // With state_ held: grants the lock to the head of the queue if it can,
  // releases state_, then wakes the granted coroutines.
  void grant_and_release(std::unique_lock<std::mutex>& state);

  mutable std::mutex state_;
  int owners_ = 0;               // > 0: readers; -1: a writer; 0: free
  Coroutine* writer_ = nullptr;  // when owners_ == -1
  Ticket* head_ = nullptr;
  Ticket* tail_ = nullptr;
};

}  // namespace corolib
