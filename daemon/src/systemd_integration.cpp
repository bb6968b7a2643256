#include "daemon/systemd_integration.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <spdlog/spdlog.h>

namespace corobd::systemd {
namespace {

void notify(const std::string& message) {
  int r = sd_notify(0, message.c_str());
  if (r < 0) spdlog::debug("sd_notify: {}", std::strerror(-r));
}

std::uint64_t monotonic_usec() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
         static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
}

}  // namespace

ActivationSocket take_activation_socket() {
  ActivationSocket result;
  int n = sd_listen_fds(1);
  if (n == 0) return result;
  result.activated = true;
  if (n < 0) {
    result.error = std::string("socket activation: ") + std::strerror(-n);
    return result;
  }
  if (n != 1) {
    result.error = "socket activation: expected exactly one socket, got " + std::to_string(n);
    for (int i = 0; i < n; ++i) ::close(SD_LISTEN_FDS_START + i);
    return result;
  }
  const int fd = SD_LISTEN_FDS_START;
  int r = sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0);
  if (r <= 0) {
    result.error = "socket activation: fd " + std::to_string(fd) +
                   (r < 0 ? std::string(": ") + std::strerror(-r)
                          : std::string(" is not a listening AF_UNIX stream socket"));
    ::close(fd);
    return result;
  }
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  result.fd = fd;
  return result;
}

std::string format_status(const DaemonStatus& s) {
  char iops[32];
  std::snprintf(iops, sizeof iops, "%.0f", s.iops);
  std::string line = s.stopping ? "stopping: " : "";
  line += std::to_string(s.exports) + " export(s), " + std::to_string(s.clients) + " client(s), " +
          iops + " IOPS";
  return line;
}

DaemonHooks notify_hooks(DaemonHooks hooks, std::chrono::milliseconds status_interval) {
  const char* socket = std::getenv("NOTIFY_SOCKET");
  if (socket == nullptr || *socket == '\0') return hooks;

  auto last_status = std::make_shared<std::string>();
  hooks.status_interval = status_interval;
  hooks.on_status = [last_status](const DaemonStatus& s) {
    *last_status = format_status(s);
    notify("STATUS=" + *last_status);
  };
  hooks.on_ready = [last_status] { notify("READY=1\nSTATUS=" + *last_status); };
  hooks.on_reloading = [] {
    notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()));
  };
  hooks.on_reloaded = [last_status] { notify("READY=1\nSTATUS=" + *last_status); };
  hooks.on_stopping = [] { notify("STOPPING=1\nSTATUS=stopping"); };

  std::uint64_t usec = 0;
  int r = sd_watchdog_enabled(0, &usec);
  if (r > 0 && usec > 0) {
    hooks.watchdog_interval = std::chrono::microseconds(usec / 2);
    hooks.on_watchdog = [] { notify("WATCHDOG=1"); };
  } else if (r < 0) {
    spdlog::warn("watchdog: {}; not sending WATCHDOG=1", std::strerror(-r));
  }
  return hooks;
}

bool journal_stream_is_stderr() {
  const char* e = std::getenv("JOURNAL_STREAM");
  if (e == nullptr || *e == '\0') return false;
  unsigned long long dev = 0, ino = 0;
  if (std::sscanf(e, "%llu:%llu", &dev, &ino) != 2) return false;
  struct stat st{};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

}  // namespace corobd::systemd
