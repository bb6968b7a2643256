// Logging for the daemon (spdlog): set-up, level changes, the start-up
// summary line for the io_uring ring.
//
// Contract
// - setup_logging() installs the default spdlog logger (stderr, which
//   systemd sends to the journal) and sets its level; call it once on the
//   main thread before anything logs. The daemon is single-threaded, but the
//   logger is the thread-safe one anyway. When stderr is the journal
//   (JOURNAL_STREAM matches it), lines carry no timestamp and start with the
//   sd-daemon.h priority prefix (<3> error ... <7> debug) so that journald
//   sets each entry's priority; otherwise "DATE TIME corobd[PID] LEVEL: MSG".
// - set_log_level() may be called any time (SIGHUP).
// - Nothing is logged per request at info level or above.
#pragma once

#include <spdlog/spdlog.h>

#include <memory>

#include "config/values.hpp"

namespace corobd {

spdlog::level::level_enum to_spdlog(config::LogLevel level);
std::unique_ptr<spdlog::formatter> make_formatter(bool journal);
void setup_logging(config::LogLevel level);
void set_log_level(config::LogLevel level);

}  // namespace corobd
