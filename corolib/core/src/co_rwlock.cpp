// CoRwlock: QEMU's ticket-based reader-writer lock (2021 rewrite, which fixed
// the downgrade hang). owners_ and the ticket queue change together under
// state_; a waiter is granted the lock by whoever releases it (owners_ is
// updated on its behalf before it is woken), so nobody can sneak in between
// the release and the wakeup.
#include "corolib/co_rwlock.hpp"

#include <cstdio>
#include <cstdlib>

#include "corolib/scheduler.hpp"
#include "coroutine_impl.hpp"

namespace corolib {
namespace {

[[noreturn]] void die(const char* message) {
  fprintf(stderr, "corolib: %s\n", message);
  abort();
}

Coroutine* self_or_die(const char* function) {
  Coroutine* co = self();
  if (co == nullptr) {
    fprintf(stderr, "corolib: %s must be called from a coroutine\n", function);
    abort();
  }
  return co;
}

}  // namespace

// Lives on the waiter's stack while it is queued.
struct CoRwlock::Ticket {
  Coroutine* co = nullptr;
  Ticket* next = nullptr;
  bool read = false;
};

CoRwlock::~CoRwlock() {
#ifndef NDEBUG
  if (owners_ != 0 || head_ != nullptr) die("CoRwlock destroyed while locked or waited for");
#endif
}

void CoRwlock::enqueue(Ticket* ticket) {
  ticket->next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = ticket;
  } else {
    head_ = ticket;
  }
  tail_ = ticket;
}

void CoRwlock::grant_and_release(std::unique_lock<std::mutex>& state) {
  Ticket* granted = head_;
  Ticket* last = nullptr;
  if (granted != nullptr && granted->read) {
    if (owners_ >= 0) {
      // Every reader up to the next writer.
      for (Ticket* t = granted; t != nullptr && t->read; t = t->next) {
        ++owners_;
        last = t;
      }
    }
  } else if (granted != nullptr && owners_ == 0) {
    owners_ = -1;
    writer_ = granted->co;
    last = granted;
  }
  if (last == nullptr) {
    state.unlock();
    return;
  }
  head_ = last->next;
  if (head_ == nullptr) tail_ = nullptr;
  last->next = nullptr;
  state.unlock();
  // A ticket is gone once its coroutine runs: read the link first.
  while (granted != nullptr) {
    Ticket* following = granted->next;
    wake(granted->co, "CoRwlock (grant)");
    granted = following;
  }
}

void CoRwlock::rdlock() {
  Coroutine* self = self_or_die("CoRwlock::rdlock");
  std::unique_lock state(state_);
  if (owners_ == 0 || (owners_ > 0 && head_ == nullptr)) {
    ++owners_;
    state.unlock();
  } else {
    Ticket ticket;
    ticket.co = self;
    ticket.read = true;
    enqueue(&ticket);
    state.unlock();
    yield();  // granted: owners_ counts us
  }
  ++self->locks_held;
}

void CoRwlock::wrlock() {
  Coroutine* self = self_or_die("CoRwlock::wrlock");
  std::unique_lock state(state_);
  if (owners_ == 0) {
    owners_ = -1;
    writer_ = self;
    state.unlock();
  } else {
    Ticket ticket;
    ticket.co = self;
    enqueue(&ticket);
    state.unlock();
    yield();  // granted: owners_ == -1, writer_ == self
  }
  ++self->locks_held;
}

void CoRwlock::unlock() {
  Coroutine* self = self_or_die("CoRwlock::unlock");
  std::unique_lock state(state_);
  if (owners_ > 0) {
    --owners_;
  } else if (owners_ == -1) {
    if (writer_ != self) die("CoRwlock::unlock: the rwlock is write-locked by another coroutine");
    owners_ = 0;
    writer_ = nullptr;
  } else {
    die("CoRwlock::unlock: the rwlock is not locked");
  }
  --self->locks_held;
  grant_and_release(state);
}

void CoRwlock::upgrade() {
  Coroutine* self = self_or_die("CoRwlock::upgrade");
  std::unique_lock state(state_);
  if (owners_ <= 0) die("CoRwlock::upgrade: the caller does not hold a read lock");
  if (owners_ == 1 && head_ == nullptr) {
    owners_ = -1;
    writer_ = self;
    return;
  }
  // Give up the read lock and queue as a writer: whoever is ahead goes first.
  Ticket ticket;
  ticket.co = self;
  --owners_;
  enqueue(&ticket);
  grant_and_release(state);
  yield();  // granted: owners_ == -1, writer_ == self
}

void CoRwlock::downgrade() {
  Coroutine* self = self_or_die("CoRwlock::downgrade");
  std::unique_lock state(state_);
  if (owners_ != -1 || writer_ != self) {
    die("CoRwlock::downgrade: the caller does not hold the write lock");
  }
  owners_ = 1;
  writer_ = nullptr;
  grant_and_release(state);
}

int CoRwlock::readers() const {
  std::lock_guard state(state_);
  return owners_ > 0 ? owners_ : 0;
}

bool CoRwlock::write_locked() const {
  std::lock_guard state(state_);
  return owners_ == -1;
}

}  // namespace corolib
