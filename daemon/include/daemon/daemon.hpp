// run_daemon(): corobd's life after its config was parsed — open the
// exports, listen, serve every connection on one event loop, and shut down
// cleanly on SIGTERM/SIGINT.
//
// Contract
// - Call once, on the main thread, before any other thread exists (it
//   blocks SIGTERM, SIGINT and SIGHUP for the signalfd and ignores
//   SIGPIPE). Installs the spdlog default logger.
// - Start-up: signalfd, event loop, exports (create=on files made), then the
//   listening socket last; the first failure is logged as one error line
//   and run_daemon() returns 1 with nothing left behind (no socket file, no
//   half-started daemon). The start-up summary (version, coroutine backend,
//   io_uring flags, exports, limits) is logged at info, then hooks.on_ready.
// - Running: every accepted connection is served by nbd::Server::serve() in
//   a coroutine of its own; connections beyond max-connections are refused
//   (nbd::Server::refuse(), or closed at once beyond twice the limit),
//   logged once per burst. Opened/closed connections are logged at info with
//   the peer's SO_PEERCRED pid/uid; nothing per request at info.
// - SIGHUP: config::reload_log_level(); the outcome is logged.
// - SIGTERM/SIGINT: stop accepting; soft disconnect (clients get
//   NBD_ESHUTDOWN for new requests) for up to hooks.shutdown_grace, then
//   hard disconnect (requests in flight still finish); flush every
//   writable export; remove the socket file; return 0 (1 if a flush failed
//   or connections did not end within hooks.shutdown_limit). A second
//   SIGTERM/SIGINT skips the grace period.
// - Seams for systemd (issue 9): hooks.listen_fd serves an inherited,
//   already listening socket instead of creating config.socket_path (which
//   is then neither created nor removed); on_ready/on_stopping are where
//   sd_notify(READY=1 / STOPPING=1) go. on_reloading/on_reloaded bracket
//   the SIGHUP handling. With status_interval > 0, on_status is called from
//   a timer coroutine on the loop right before on_ready and then every
//   status_interval; with watchdog_interval > 0, on_watchdog is called every
//   watchdog_interval from the loop (so a stuck loop stops the pings). Both
//   timers keep running during shutdown and end before run_daemon returns.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "config/config.hpp"

namespace corobd {

// What on_status reports: the exports, the sessions running now, and the
// requests per second over the last interval (requests are counted by
// nbd::Server when a session ends, so the rate covers finished sessions).
struct DaemonStatus {
  std::size_t exports = 0;
  std::size_t clients = 0;
  double iops = 0.0;
  bool stopping = false;
};

struct DaemonHooks {
  int listen_fd = -1;
  std::function<void()> on_ready{};
  std::function<void()> on_stopping{};
  std::function<void()> on_reloading{};
  std::function<void()> on_reloaded{};
  std::chrono::milliseconds status_interval{0};
  std::function<void(const DaemonStatus&)> on_status{};
  std::chrono::microseconds watchdog_interval{0};
  std::function<void()> on_watchdog{};
  std::chrono::milliseconds shutdown_grace{3000};
  std::chrono::milliseconds shutdown_limit{30000};
};

inline constexpr int kExitRuntime = 1;

int run_daemon(const config::Config& config, const DaemonHooks& hooks = {});

}  // namespace corobd
