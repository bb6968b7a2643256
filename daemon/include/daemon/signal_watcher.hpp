// SignalWatcher: delivers SIGTERM, SIGINT and SIGHUP (or any set) to a
// coroutine on the event loop, through a signalfd.
//
// Contract
// - The constructor blocks the signals in the calling thread (call it on the
//   main thread before any other thread starts, so that every thread
//   inherits the mask) and opens a signalfd for them; it also ignores
//   SIGPIPE (a client that goes away must not kill the daemon). Throws
//   std::system_error if the signalfd cannot be made (start-up error).
// - next() is coroutine_fn: it reads the signalfd with io_uring (co_read)
//   and returns the next signal number, or -errno (-ECANCELED when the loop
//   shuts down or the read is cancelled).
// - The destructor closes the fd and restores the previous signal mask.
#pragma once

#include <signal.h>

#include <initializer_list>

#include "corolib/coroutine.hpp"

namespace corobd {

class SignalWatcher {
 public:
  explicit SignalWatcher(std::initializer_list<int> signals = {SIGTERM, SIGINT, SIGHUP});
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;
  ~SignalWatcher();

  coroutine_fn int next();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  sigset_t old_mask_{};
};

}  // namespace corobd
