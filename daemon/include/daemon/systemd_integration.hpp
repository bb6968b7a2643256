// systemd integration (libsystemd): socket activation and sd_notify.
//
// Contract
// - take_activation_socket(): call once, first thing in main() (before any
//   other fd is opened and before threads). Returns activated=false when
//   systemd passed no socket (LISTEN_FDS unset or for another pid). Exactly
//   one socket is expected, and it must be a listening AF_UNIX SOCK_STREAM
//   socket (sd_is_socket_unix); otherwise `error` holds the one line to print
//   (exit 1). LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES are unset either way; the
//   returned fd is close-on-exec.
// - notify_hooks(): DaemonHooks whose callbacks send READY=1 (with a STATUS=
//   line), STATUS= every status interval, RELOADING=1 + MONOTONIC_USEC and
//   READY=1 around SIGHUP, STOPPING=1 at shutdown, and WATCHDOG=1 every half
//   of WATCHDOG_USEC when sd_watchdog_enabled() says so. Without
//   NOTIFY_SOCKET the hooks are left empty (no timers, nothing sent).
// - journal_stream_is_stderr(): true when JOURNAL_STREAM=DEV:INO names the
//   file stderr is connected to (systemd connected stderr to journald).
// - format_status(): the STATUS= line (exposed for the tests).
#pragma once

#include <chrono>
#include <string>

#include "daemon/daemon.hpp"

namespace corobd::systemd {

struct ActivationSocket {
  bool activated = false;
  int fd = -1;
  std::string error;  // set when activated and unusable
};

ActivationSocket take_activation_socket();

// `hooks` keeps its listen_fd and shutdown limits; the notify callbacks and
// timers are set when NOTIFY_SOCKET is set.
DaemonHooks notify_hooks(DaemonHooks hooks,
                         std::chrono::milliseconds status_interval = std::chrono::seconds(5));

bool journal_stream_is_stderr();

std::string format_status(const DaemonStatus& status);

}  // namespace corobd::systemd
