#include "daemon/signal_watcher.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "corolib/loop/co_io.hpp"

namespace corobd {

SignalWatcher::SignalWatcher(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  ::signal(SIGPIPE, SIG_IGN);
  if (::sigprocmask(SIG_BLOCK, &set, &old_mask_) != 0)
    throw std::system_error(errno, std::generic_category(), "sigprocmask");
  fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd_ < 0) {
    int err = errno;
    ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
    throw std::system_error(err, std::generic_category(), "signalfd");
  }
}

SignalWatcher::~SignalWatcher() {
  if (fd_ >= 0) ::close(fd_);
  ::sigprocmask(SIG_SETMASK, &old_mask_, nullptr);
}

coroutine_fn int SignalWatcher::next() {
  signalfd_siginfo info{};
  for (;;) {
    int r = corolib::co_read(fd_, &info, sizeof info);
    if (r < 0) return r;
    if (r == static_cast<int>(sizeof info)) return static_cast<int>(info.ssi_signo);
  }
}

}  // namespace corobd
