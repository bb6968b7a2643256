#include "daemon/daemon.hpp"

#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <system_error>

#include <spdlog/spdlog.h>

#include "config/parse_config.hpp"
#include "corolib/co_queue.hpp"
#include "corolib/coroutine.hpp"
#include "corolib/loop/co_io.hpp"
#include "corolib/loop/event_loop.hpp"
#include "corolib/loop/ring_info.hpp"
#include "corolib/loop/timer.hpp"
#include "daemon/batch_wait_tuner.hpp"
#include "daemon/connection_limiter.hpp"
#include "daemon/exports.hpp"
#include "daemon/listener.hpp"
#include "daemon/logging.hpp"
#include "daemon/peer_credentials.hpp"
#include "daemon/signal_watcher.hpp"
#include "nbd/server/server.hpp"

namespace corobd {
namespace {

using Clock = std::chrono::steady_clock;

// The measuring window of batch-wait=auto.
constexpr std::chrono::milliseconds kBatchWaitWindow{20};

std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

class Daemon {
 public:
  Daemon(const config::Config& config, const DaemonHooks& hooks, corolib::EventLoop& loop,
         SignalWatcher& signals, OpenedExports& exports, Listener& listener, nbd::Server& server)
      : config_(config), hooks_(hooks), loop_(loop), signals_(signals), exports_(exports),
        listener_(listener), server_(server), limiter_(config.max_connections) {}

  // Runs until shut down; returns the exit status.
  int run() {
    loop_.enter_soon(corolib::create([this] { accept_loop(); }));
    loop_.enter_soon(corolib::create([this] { signal_loop(); }));
    if (hooks_.watchdog_interval.count() > 0 && hooks_.on_watchdog) {
      ++timers_;
      loop_.enter_soon(corolib::create([this] { watchdog_loop(); }));
    }
    if (hooks_.status_interval.count() > 0 && hooks_.on_status) {
      hooks_.on_status(status_now(Clock::now()));
      ++timers_;
      loop_.enter_soon(corolib::create([this] { status_loop(); }));
    }
    start_batch_wait();
    if (hooks_.on_ready) hooks_.on_ready();
    spdlog::info("ready: serving {} export(s) on {}", exports_.exports.size(), listener_.path());
    loop_.run_until([this] { return finished_; });
    return exit_code_;
  }

  // Sessions still running (serve() or refuse() not returned).
  int live() const { return live_; }

 private:
  coroutine_fn void accept_loop() {
    bool fd_limit_logged = false;
    while (!stopping_) {
      int fd = corolib::co_accept(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stopping_) break;
        if (fd == -EINTR || fd == -ECONNABORTED) continue;
        if (fd == -EMFILE || fd == -ENFILE || fd == -ENOBUFS || fd == -ENOMEM) {
          if (!fd_limit_logged) spdlog::error("accept: {}; retrying", std::strerror(-fd));
          fd_limit_logged = true;
          corolib::co_sleep(std::chrono::milliseconds(100));
          continue;
        }
        spdlog::error("accept on {}: {}; shutting down", listener_.path(), std::strerror(-fd));
        exit_code_ = kExitRuntime;
        accepting_ = false;
        corolib::enter(corolib::create([this] { shutdown(); }));
        return;
      }
      fd_limit_logged = false;
      handle(fd);
    }
    accepting_ = false;
  }

  // Sleeps until `deadline` in short steps; false once the timers must end.
  coroutine_fn bool timer_sleep(Clock::time_point deadline) {
    while (!timers_stop_) {
      const Clock::time_point now = Clock::now();
      if (now >= deadline) return true;
      corolib::co_sleep(std::min<Clock::duration>(deadline - now, std::chrono::milliseconds(50)));
    }
    return false;
  }

  coroutine_fn void watchdog_loop() {
    Clock::time_point next = Clock::now();
    for (;;) {
      hooks_.on_watchdog();
      next += hooks_.watchdog_interval;
      if (!timer_sleep(next)) break;
    }
    --timers_;
  }

  DaemonStatus status_now(Clock::time_point now) {
    const std::uint64_t requests = server_.stats().requests;
    DaemonStatus s;
    s.exports = exports_.exports.size();
    s.clients = server_.active_connections();
    s.stopping = stopping_;
    const double seconds = std::chrono::duration<double>(now - last_status_).count();
    if (seconds > 0 && requests >= last_requests_) {
      s.iops = static_cast<double>(requests - last_requests_) / seconds;
    }
    last_requests_ = requests;
    last_status_ = now;
    return s;
  }

  coroutine_fn void status_loop() {
    Clock::time_point next = Clock::now();
    for (;;) {
      next += hooks_.status_interval;
      if (!timer_sleep(next)) break;
      hooks_.on_status(status_now(Clock::now()));
    }
    --timers_;
  }

  void start_batch_wait() {
    const config::BatchWait& bw = config_.batch_wait;
    if (bw.mode == config::BatchWaitMode::kFixed) server_.set_receive_delay(bw.delay);
    if (bw.mode != config::BatchWaitMode::kAuto) return;
    ++timers_;
    loop_.enter_soon(corolib::create([this] { batch_wait_loop(); }));
  }

  // batch-wait=auto: one tuner window after another while clients are
  // connected; parked (and not batching) while none are.
  coroutine_fn void batch_wait_loop() {
    BatchWaitTuner::Options options;
    options.delay = config_.batch_wait.delay;
    BatchWaitTuner tuner(options);
    while (!timers_stop_) {
      if (live_ == 0) {
        server_.set_receive_delay({});
        no_clients_.wait();  // woken by handle() and shutdown()
        continue;
      }
      const Clock::time_point start = Clock::now();
      const std::chrono::nanoseconds cpu = thread_cpu_time();
      const std::uint64_t requests = server_.stats().requests;
      corolib::co_sleep(kBatchWaitWindow);
      BatchWaitTuner::Window w;
      w.requests = server_.stats().requests - requests;
      w.cpu = thread_cpu_time() - cpu;
      w.wall = Clock::now() - start;
      const bool was_batching = tuner.batching();
      server_.set_receive_delay(tuner.next(w));
      if (tuner.batching() != was_batching) {
        spdlog::debug("batch-wait: {} ({} requests/s)",
                      tuner.batching() ? fmt::format("batching, {}us", options.delay.count())
                                       : std::string("not batching"),
                      static_cast<std::uint64_t>(static_cast<double>(w.requests) /
                                                 std::chrono::duration<double>(w.wall).count()));
      }
    }
    server_.set_receive_delay({});
    --timers_;
  }

  coroutine_fn void handle(int fd) {
    ConnectionLimiter::Decision d = limiter_.admit();
    if (d.previous_burst_refused > 0) {
      spdlog::info("accepting again; {} connection(s) were refused over max-connections={}",
                   d.previous_burst_refused, limiter_.max_connections());
    }
    if (d.action != ConnectionLimiter::Action::kServe && d.log_burst) {
      spdlog::warn("max-connections={} reached: refusing new connections", limiter_.max_connections());
    }
    switch (d.action) {
      case ConnectionLimiter::Action::kServe: {
        const std::uint64_t id = ++next_id_;
        const PeerCredentials peer = peer_credentials(fd);
        spdlog::info("connection #{} opened: {}", id, to_string(peer));
        ++live_;
        no_clients_.restart_all();
        corolib::enter(corolib::create([this, fd, id, peer] {
          nbd::SessionResult r = server_.serve(fd);
          limiter_.release();
          log_closed(id, peer, r);
          --live_;
        }));
        break;
      }
      case ConnectionLimiter::Action::kRefuse: {
        ++live_;
        no_clients_.restart_all();
        corolib::enter(corolib::create([this, fd] {
          (void)server_.refuse(fd);
          limiter_.release_refused();
          --live_;
        }));
        break;
      }
      case ConnectionLimiter::Action::kClose:
        ::close(fd);
        break;
    }
  }

  void log_closed(std::uint64_t id, const PeerCredentials& peer, const nbd::SessionResult& r) {
    const auto& c = r.counters;
    std::string what = r.negotiated ? "export '" + r.info.export_name + "'" : "not negotiated";
    std::string error = r.error != 0 ? std::string(" (") + std::strerror(-r.error) + ")" : "";
    spdlog::info(
        "connection #{} closed: {}, end={}{}, {} requests, {} errors, read {}, wrote {}, "
        "{} recv, {} sendmsg, {}",
        id, what, nbd::session_end_name(r.end), error, c.requests, c.errors,
        config::format_size(c.bytes_read), config::format_size(c.bytes_written), c.recv_calls,
        c.sendmsg_calls, to_string(peer));
  }

  coroutine_fn void signal_loop() {
    for (;;) {
      int sig = signals_.next();
      if (sig < 0) {
        if (sig != -ECANCELED) spdlog::error("reading signals: {}", std::strerror(-sig));
        return;
      }
      if (sig == SIGHUP) {
        if (hooks_.on_reloading) hooks_.on_reloading();
        reload();
        if (hooks_.on_reloaded) hooks_.on_reloaded();
      } else if (sig == SIGTERM || sig == SIGINT) {
        if (!stopping_) {
          spdlog::info("{}: shutting down ({} connection(s) open)", strsignal(sig), live_);
          corolib::enter(corolib::create([this] { shutdown(); }));
        } else if (!hard_) {
          spdlog::info("{} again: disconnecting every client now", strsignal(sig));
          hard_ = true;
          server_.disconnect_all();
        }
      }
      if (finished_) return;
    }
  }

  void reload() {
    config::Config running = config_;
    running.log_level = level_;
    config::LogLevelReload r = config::reload_log_level(running);
    if (!r.level) {
      spdlog::warn("SIGHUP: {}", r.message);
      return;
    }
    // Say it at a level that the old or the new setting shows.
    if (*r.level > config::LogLevel::info) {
      spdlog::info("SIGHUP: {}", r.message);
      set_log_level(*r.level);
    } else {
      set_log_level(*r.level);
      spdlog::info("SIGHUP: {}", r.message);
    }
    level_ = *r.level;
  }

  coroutine_fn void wait_sessions(Clock::time_point deadline) {
    while (live_ > 0 && Clock::now() < deadline) corolib::co_sleep(std::chrono::milliseconds(10));
  }

  coroutine_fn void shutdown() {
    if (stopping_) return;
    stopping_ = true;
    if (hooks_.on_stopping) hooks_.on_stopping();
    (void)corolib::co_cancel_fd(listener_.fd());
    server_.request_shutdown();
    wait_sessions(Clock::now() + hooks_.shutdown_grace);
    if (live_ > 0 && !hard_) {
      spdlog::info("{} connection(s) still open after {}: disconnecting them", live_,
                   config::format_duration(hooks_.shutdown_grace));
      hard_ = true;
      server_.disconnect_all();
    }
    wait_sessions(Clock::now() + hooks_.shutdown_limit);
    if (live_ > 0) {
      spdlog::error("{} connection(s) did not finish within {}; exiting anyway", live_,
                    config::format_duration(hooks_.shutdown_limit));
      exit_code_ = kExitRuntime;
    }
    int flushed = 0;
    for (const OpenedExport& e : exports_.exports) {
      if (!e.writable()) continue;
      int r = e.device->flush();
      if (r < 0) {
        spdlog::error("export '{}': flush failed: {}", e.spec.name, std::strerror(-r));
        exit_code_ = kExitRuntime;
      } else {
        ++flushed;
      }
    }
    while (accepting_) corolib::co_sleep(std::chrono::milliseconds(10));
    listener_.close();
    if (listener_.remove_file()) spdlog::debug("removed {}", listener_.path());
    timers_stop_ = true;
    no_clients_.restart_all();
    while (timers_ > 0) corolib::co_sleep(std::chrono::milliseconds(10));
    spdlog::info("stopped: {} export(s) flushed, exit status {}", flushed, exit_code_);
    finished_ = true;
  }

  const config::Config& config_;
  const DaemonHooks& hooks_;
  corolib::EventLoop& loop_;
  SignalWatcher& signals_;
  OpenedExports& exports_;
  Listener& listener_;
  nbd::Server& server_;
  ConnectionLimiter limiter_;

  std::uint64_t next_id_ = 0;
  int live_ = 0;
  bool stopping_ = false;
  bool hard_ = false;
  bool accepting_ = true;
  bool finished_ = false;
  int exit_code_ = 0;
  int timers_ = 0;  // watchdog/status/batch-wait coroutines running
  corolib::CoQueue no_clients_;  // the batch-wait tuner parks here while live_ == 0
  bool timers_stop_ = false;
  std::uint64_t last_requests_ = 0;
  Clock::time_point last_status_ = Clock::now();
  config::LogLevel level_ = config_.log_level;  // as last set
};

std::string socket_summary(const config::Config& config, const Listener& listener, bool adopted) {
  std::string s = "listening on " + listener.path();
  if (!adopted) {
    s += " (mode " + config::format_mode(config.socket_mode);
    if (!config.socket_group.empty()) s += ", group " + config.socket_group;
    s += ")";
  } else {
    s += " (inherited)";
  }
  s += ": max-connections=" + std::to_string(config.max_connections) +
       ", max-inflight=" + std::to_string(config.max_inflight) +
       ", handshake-timeout=" + config::format_duration(config.handshake_timeout) +
       ", batch-wait=" + config::format_batch_wait(config.batch_wait);
  return s;
}

}  // namespace

int run_daemon(const config::Config& config, const DaemonHooks& hooks) {
  setup_logging(config.log_level);

  std::unique_ptr<SignalWatcher> signals;
  std::unique_ptr<corolib::EventLoop> loop;
  try {
    signals = std::make_unique<SignalWatcher>();
    loop = std::make_unique<corolib::EventLoop>();
  } catch (const std::system_error& e) {
    spdlog::error("start-up failed: {}", e.what());
    return kExitRuntime;
  }
  spdlog::info("{} starting (pid {}): coroutine backend {}, io_uring {}", config::version_string(),
               ::getpid(), corolib::backend_name(), corolib::describe(loop->ring_info()));

  OpenedExports exports = open_exports(config);
  if (!exports.ok()) {
    spdlog::error("start-up failed: {}", exports.error);
    return kExitRuntime;
  }
  const config::ExportSpec* default_spec = config.default_export();
  for (const OpenedExport& e : exports.exports) {
    spdlog::info("export {}", describe(e, default_spec != nullptr && default_spec->name == e.spec.name));
  }

  nbd::ServerOptions options;
  options.max_requests_in_flight = static_cast<std::uint32_t>(config.max_inflight);
  options.handshake_timeout = config.handshake_timeout;
  options.on_negotiated = [](const nbd::SessionInfo& info) {
    spdlog::debug("negotiated export '{}' ({}, structured replies {})", info.export_name,
                  config::format_size(info.size), info.structured_replies ? "on" : "off");
  };
  std::unique_ptr<nbd::Server> server;
  try {
    server = std::make_unique<nbd::Server>(exports.registry, options);
  } catch (const std::invalid_argument& e) {
    spdlog::error("start-up failed: {}", e.what());
    return kExitRuntime;
  }

  // The socket comes last: once it exists, clients may connect.
  std::unique_ptr<Listener> listener;
  const bool adopted = hooks.listen_fd >= 0;
  if (adopted) {
    listener = Listener::adopt(hooks.listen_fd, "fd " + std::to_string(hooks.listen_fd));
  } else {
    Listener::Result r = Listener::create(config.socket_path, config.socket_mode, config.socket_gid);
    if (!r.listener) {
      spdlog::error("start-up failed: {}", r.error);
      return kExitRuntime;
    }
    listener = std::move(r.listener);
  }
  spdlog::info("{}", socket_summary(config, *listener, adopted));

  Daemon daemon(config, hooks, *loop, *signals, exports, *listener, *server);
  int status = daemon.run();
  listener->close();
  listener->remove_file();
  if (daemon.live() > 0) {
    // Sessions still hold the server: never destroy it under them. The loop's
    // shutdown cancels their I/O; the process exits right after.
    (void)server.release();
  }
  loop->shutdown();
  return status;
}

}  // namespace corobd
