// Config: everything the corobd daemon is told by its command line and its
// config file, parsed, typed and validated (see parse_config.hpp for how one
// is made).
//
// Contract
// - A Config returned by parse_config() is complete and consistent: at least
//   one export, unique export names, at most one default=on, every value in
//   range. Paths (socket, export files, config file) are absolute, so the
//   daemon may chdir("/") after start-up.
// - Plain data: copyable, no I/O, no locking; read it from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/export_spec.hpp"
#include "config/values.hpp"

namespace config {

// How long a connection that has taken in every request it was sent waits
// before its next receive (--batch-wait), so that a client with a deep queue
// has sent more by then and they are served and answered in one batch: up
// to `delay` more latency per request, less CPU per request under deep
// queues (nbd::Server::set_receive_delay()).
//   kAuto:  the daemon measures, and waits `delay` only while that lowers
//           CPU per request without lowering throughput.
//   kOff:   never wait (`delay` is unused).
//   kFixed: always wait `delay`, 1us .. kBatchWaitDelayLimit.
enum class BatchWaitMode { kAuto, kOff, kFixed };
struct BatchWait {
  BatchWaitMode mode = BatchWaitMode::kAuto;
  std::chrono::microseconds delay{30};  // auto: the delay it tries; fixed: the delay
};

struct Config {
  std::string socket_path = "/run/corobd/corobd.sock";
  mode_t socket_mode = 0660;
  std::string socket_group;           // as given; empty: keep the daemon's group
  std::optional<gid_t> socket_gid;    // resolved from socket_group (when checked)
  std::vector<ExportSpec> exports;
  std::size_t max_connections = 64;
  std::size_t max_inflight = 32;      // per connection
  std::chrono::milliseconds handshake_timeout{10'000};
  BatchWait batch_wait;
  LogLevel log_level = LogLevel::info;
  std::string config_file;            // empty: none was read
  // True when --log-level was given on the command line: it then wins over
  // the file on every SIGHUP too (see reload_log_level()).
  bool log_level_from_command_line = false;

  // The export a client gets for `name`: the export of that name, or for the
  // empty name the default export (the one with default=on, else the first).
  // nullptr when there is none (an unknown name, or no exports at all).
  const ExportSpec* find_export(std::string_view name) const;
  const ExportSpec* default_export() const;
};

// Limits of the numeric options.
inline constexpr std::size_t kMaxConnectionsLimit = 65536;
inline constexpr std::size_t kMaxInflightLimit = 4096;
inline constexpr std::chrono::microseconds kBatchWaitDelayLimit{10'000};

// "auto", "off", or a duration from 1us to kBatchWaitDelayLimit ("50us",
// "1ms"; the units of parse_duration and us) for a fixed delay. Errors as in
// values.hpp. Defined in values.cpp, with the other duration parsing.
Parsed<BatchWait> parse_batch_wait(std::string_view text);
// "auto", "off" or the fixed delay ("50us", "1ms"), for log messages.
std::string format_batch_wait(const BatchWait& wait);

}  // namespace config
