// A minimal, test-only event loop: a corolib::Scheduler that queues the
// coroutines handed to it (from any thread) for the thread that runs it.
// Cross-thread tests give each thread one, so wakeups of a coroutine whose
// home is another thread go through Scheduler::schedule(), as they will with
// corolib/loop.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

#include "corolib/coroutine.hpp"
#include "corolib/scheduler.hpp"

class TestLoop final : public corolib::Scheduler {
 public:
  TestLoop() = default;
  TestLoop(const TestLoop&) = delete;
  TestLoop& operator=(const TestLoop&) = delete;
  ~TestLoop() = default;

  // Registers this loop as the calling thread's scheduler (until detach()).
  void attach() { corolib::set_thread_scheduler(this); }
  void detach() { corolib::set_thread_scheduler(nullptr); }

  // Notifies under the lock: once the lock is released, the loop's thread
  // may run `co` to completion and destroy the loop.
  void schedule(corolib::Coroutine* co) override {
    std::lock_guard lock(mutex_);
    queue_.push_back(co);
    ready_.notify_one();
  }

  // Enters scheduled coroutines on the calling thread until done() holds.
  // Aborts if nothing arrives for a long time (a lost wakeup).
  template <class Done>
  void run_until(Done done) {
    while (!done()) {
      corolib::Coroutine* co = nullptr;
      {
        std::unique_lock lock(mutex_);
        if (!ready_.wait_for(lock, std::chrono::seconds(60), [&] { return !queue_.empty(); })) {
          fprintf(stderr, "TestLoop: nothing scheduled for 60 s: lost wakeup?\n");
          abort();
        }
        co = queue_.front();
        queue_.pop_front();
      }
      ++entered_;
      corolib::clear_scheduled(co);
      corolib::enter(co);
    }
  }

  // From a coroutine running on this loop: requeue itself at the back of the
  // loop and yield (QEMU's aio_co_schedule(ctx, self) + yield).
  void yield_to_loop() {
    corolib::Coroutine* self = corolib::self();
    corolib::mark_scheduled(self, "TestLoop::yield_to_loop");
    schedule(self);
    corolib::yield();
  }

  // Coroutines entered by run_until() (only read on the loop's thread).
  unsigned long entered() const { return entered_; }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<corolib::Coroutine*> queue_;
  unsigned long entered_ = 0;
};
