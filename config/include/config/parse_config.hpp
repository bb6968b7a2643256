// parse_config(): turns corobd's command line (and the TOML file that
// `--config FILE` names) into a validated Config, or into the one line to
// print and the status to exit with. Also re-reads the log level on SIGHUP.
//
//   corobd [--config FILE] [--socket PATH] [--socket-mode 0660] [--socket-group GROUP]
//          [--export SPEC]... [--max-connections N] [--max-inflight N]
//          [--handshake-timeout 10s] [--batch-wait auto|off|TIME]
//          [--log-level trace|debug|info|warn|error]
//          [--version] [--help]
//
// Contract
// - Every option is defined once (with CLI11) and may be given on the command
//   line or as a top-level key of the config file: the key is the option's
//   long name without the dashes (`socket-mode = "0660"`), and `export` is an
//   array of SPEC strings. A value given on the command line replaces the
//   file's value; for `export`, any --export on the command line replaces the
//   file's whole list. A single-valued option (--config too) given twice on
//   the command line takes the last value. --help and --version win over
//   everything else on the line, valid or not.
// - The config file is a strict subset of TOML: key = value lines, "basic"
//   and 'literal' strings, bare integers and booleans, arrays (which may span
//   lines and hold comments and a trailing comma), # comments. Tables,
//   dotted keys, inline tables, multi-line strings, a key given twice and
//   unknown keys are errors that name the file and line.
// - Never throws and never prints. The result is one of:
//     ok():                 config holds the Config; run the daemon.
//     exit_code == 0:       --help or --version; print `message` to stdout.
//     exit_code == 2:       invalid input; print `message` (one line that
//                           names the option or file:line and the problem,
//                           prefixed "corobd: ") to stderr.
// - Validation after parsing: at least one export; export names unique; at
//   most one default=on. With ParseOptions::check_files (the default), also:
//   a raw export's file exists, is a regular file or block device, and opens
//   read-only (readonly=on) or read-write; with create=on a missing file's
//   directory exists. With ParseOptions::check_socket (the default): the
//   socket's directory exists and --socket-group names an existing group
//   (resolved into Config::socket_gid). Nothing is created or modified.
// - Any thread, but it reads the process's working directory (relative
//   paths are made absolute against it) and the group database.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace config {

struct ParseOptions {
  bool check_files = true;   // exports' files (and their directories for create=on)
  bool check_socket = true;  // socket directory and group
};

struct ParseResult {
  std::optional<Config> config;  // set exactly when the daemon should run
  int exit_code = 0;             // when !config: 0 (--help, --version) or 2 (error)
  std::string message;           // when !config: the text to print (ends without '\n')

  bool ok() const { return config.has_value(); }
};

inline constexpr int kExitUsage = 2;

ParseResult parse_config(int argc, const char* const* argv, const ParseOptions& options = {});
// argv[0] is the program name, as for main().
ParseResult parse_config(const std::vector<std::string>& argv, const ParseOptions& options = {});

// For SIGHUP: re-reads running.config_file and returns the log level it
// now sets (info when it sets none). The whole file is parsed as at start-up
// (syntax, unknown keys, every value) but not cross-checked (exports' files
// are not looked at). `level` is empty when the file cannot be used: keep
// the current level and log `message`. When the log level was given on the
// command line, or no config file is in use, `level` is running.log_level.
// `message` always says what happened, in one line, for the log.
struct LogLevelReload {
  std::optional<LogLevel> level;
  std::string message;
};
LogLevelReload reload_log_level(const Config& running);

// The version string that --version prints ("corobd 0.1.0").
std::string version_string();

}  // namespace config
