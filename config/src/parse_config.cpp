#include "config/parse_config.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>

#include "environment.hpp"
#include "option_set.hpp"

#ifndef COROBD_VERSION
#define COROBD_VERSION "unknown"
#endif

namespace config {
namespace {

using detail::OptionSet;

constexpr const char* kProgram = "corobd: ";

// Joins where a value came from with what is wrong with it. Export problems
// start with the export's quoted name, which reads best after a space:
// "--export 'disk': size: ..."; others after a colon: "--socket-mode: ...".
// `origin` is "--key" or "FILE:LINE" (see OptionSet::origin).
std::string located(const std::string& origin, const std::string& key, const std::string& problem) {
  const std::string where = origin == "--" + key ? origin : origin + ": " + key;
  return where + (key == "export" ? " " : ": ") + problem;
}

ParseResult usage_error(std::string message) {
  for (char& c : message) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  ParseResult r;
  r.exit_code = kExitUsage;
  r.message = kProgram + message;
  return r;
}

ParseResult print_and_exit(std::string text) {
  while (!text.empty() && text.back() == '\n') text.pop_back();
  ParseResult r;
  r.exit_code = 0;
  r.message = std::move(text);
  return r;
}

// Makes a path absolute against the working directory (without resolving
// symbolic links or "..", which the daemon's open() will do).
bool make_absolute(std::string& path, std::string& error) {
  if (path.empty() || path.front() == '/') return true;
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) {
    error = "cannot make '" + path + "' absolute: " + ec.message();
    return false;
  }
  path = abs.string();
  return true;
}

// Runs CLI11 over argv. Returns an error/exit result, or nothing when the
// options parsed and every value passed its validator.
std::optional<ParseResult> run_cli(OptionSet& opts, int argc, const char* const* argv) {
  CLI::App& app = opts.app();
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::CallForHelp&) {
    return print_and_exit(app.help());
  } catch (const CLI::CallForAllHelp&) {
    return print_and_exit(app.help("", CLI::AppFormatMode::All));
  } catch (const CLI::CallForVersion& e) {
    return print_and_exit(e.what());
  } catch (const detail::TomlError& e) {
    return usage_error(opts.config_file() + ":" + std::to_string(e.line()) + ": " + e.problem());
  } catch (const CLI::FileError&) {
    const std::string file = opts.config_file();
    const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    const int err = errno;
    if (fd >= 0) ::close(fd);
    const std::string why = fd >= 0 ? "not a regular file" : std::strerror(err);
    return usage_error("--config: cannot read '" + file + "': " + why);
  } catch (const CLI::ValidationError& e) {
    const OptionSet::Failure& f = opts.failed();
    if (f.key.empty()) return usage_error(e.what());
    return usage_error(located(opts.origin(f.key, f.value), f.key, f.problem));
  } catch (const CLI::ExtrasError&) {
    std::string first = "--";
    for (const std::string& arg : app.remaining()) {
      if (arg != "--") {
        first = arg;
        break;
      }
    }
    if (first == "--") return usage_error("unexpected argument '--' (see --help)");
    if (!first.empty() && first.front() == '-') {
      return usage_error("unknown option '" + first + "' (see --help)");
    }
    return usage_error("unexpected argument '" + first + "' (options take the form --name VALUE; see --help)");
  } catch (const CLI::ParseError& e) {
    return usage_error(std::string(e.what()) + " (see --help)");
  }
}

std::optional<ParseResult> build(const OptionSet& opts, const ParseOptions& options, Config& c) {
  const detail::RawValues& raw = opts.values();
  std::string err;

  c.socket_path = raw.socket;
  if (!make_absolute(c.socket_path, err)) return usage_error(located(opts.origin("socket", raw.socket), "socket", err));
  if (c.socket_path.size() > 107) {
    return usage_error(located(opts.origin("socket", raw.socket), "socket",
                               "path is too long once made absolute ('" + c.socket_path +
                                   "', over 107 bytes)"));
  }
  c.socket_mode = *parse_socket_mode(raw.socket_mode).value;
  c.socket_group = raw.socket_group;
  c.max_connections = *parse_count(raw.max_connections, 1, kMaxConnectionsLimit).value;
  c.max_inflight = *parse_count(raw.max_inflight, 1, kMaxInflightLimit).value;
  c.handshake_timeout = *parse_duration(raw.handshake_timeout).value;
  c.batch_wait = *parse_batch_wait(raw.batch_wait).value;
  c.log_level = *parse_log_level(raw.log_level).value;
  c.log_level_from_command_line = opts.from_command_line("log-level");
  c.config_file = opts.config_file();
  if (!make_absolute(c.config_file, err)) return usage_error("--config: " + err);

  for (const std::string& spec : raw.exports) {
    ExportSpec e = *parse_export_spec(spec).value;
    e.origin = opts.origin("export", spec);
    if (!make_absolute(e.file, err)) return usage_error(located(e.origin, "export", "'" + e.name + "': file: " + err));
    c.exports.push_back(std::move(e));
  }

  // Cross-checks.
  if (c.exports.empty()) {
    return usage_error(
        "--export: no export given (add --export name=NAME,file=PATH, or an export array to the config file)");
  }
  const ExportSpec* first_default = nullptr;
  for (std::size_t i = 0; i < c.exports.size(); ++i) {
    const ExportSpec& e = c.exports[i];
    for (std::size_t j = 0; j < i; ++j) {
      if (c.exports[j].name == e.name) {
        return usage_error(located(e.origin, "export",
                                   "'" + e.name + "': name: duplicate export name (also given by " +
                                       c.exports[j].origin + ")"));
      }
    }
    if (e.is_default) {
      if (first_default != nullptr) {
        return usage_error(located(e.origin, "export",
                                   "'" + e.name + "': default: export '" + first_default->name +
                                       "' is the default already (only one export may have default=on)"));
      }
      first_default = &e;
    }
  }

  // The environment.
  if (options.check_socket) {
    if (std::string p = detail::check_socket_path(c.socket_path); !p.empty()) {
      return usage_error(located(opts.origin("socket", raw.socket), "socket", p));
    }
    if (!c.socket_group.empty()) {
      auto gid = detail::resolve_group(c.socket_group);
      if (!gid) return usage_error(located(opts.origin("socket-group", raw.socket_group), "socket-group", gid.error));
      c.socket_gid = *gid.value;
    }
  }
  if (options.check_files) {
    for (const ExportSpec& e : c.exports) {
      if (std::string p = detail::check_export_file(e); !p.empty()) {
        return usage_error(located(e.origin, "export", "'" + e.name + "': " + p));
      }
    }
  }
  return std::nullopt;
}

ParseResult parse_impl(int argc, const char* const* argv, const ParseOptions& options) {
  OptionSet opts;
  if (auto early = run_cli(opts, argc, argv)) return std::move(*early);
  Config c;
  if (auto bad = build(opts, options, c)) return std::move(*bad);
  ParseResult r;
  r.config = std::move(c);
  return r;
}

}  // namespace

ParseResult parse_config(int argc, const char* const* argv, const ParseOptions& options) {
  try {
    return parse_impl(argc, argv, options);
  } catch (const std::exception& e) {
    return usage_error(std::string("internal error while parsing options: ") + e.what());
  } catch (...) {
    return usage_error("internal error while parsing options");
  }
}

ParseResult parse_config(const std::vector<std::string>& argv, const ParseOptions& options) {
  std::vector<const char*> ptrs;
  ptrs.reserve(argv.size() + 1);
  for (const std::string& a : argv) ptrs.push_back(a.c_str());
  ptrs.push_back(nullptr);
  return parse_config(static_cast<int>(argv.size()), ptrs.data(), options);
}

LogLevelReload reload_log_level(const Config& running) {
  LogLevelReload r;
  if (running.config_file.empty()) {
    r.level = running.log_level;
    r.message = "no config file; log level stays " + std::string(to_string(running.log_level));
    return r;
  }
  if (running.log_level_from_command_line) {
    r.level = running.log_level;
    r.message = "log level " + std::string(to_string(running.log_level)) + " was given on the command line; " +
                running.config_file + " not re-read";
    return r;
  }
  try {
    OptionSet opts;
    const char* argv[] = {"corobd", "--config", running.config_file.c_str(), nullptr};
    if (auto bad = run_cli(opts, 3, argv)) {
      std::string msg = bad->message;
      if (msg.rfind(kProgram, 0) == 0) msg.erase(0, std::strlen(kProgram));
      r.message = "log level stays " + std::string(to_string(running.log_level)) + ": " + msg;
      return r;
    }
    r.level = *parse_log_level(opts.values().log_level).value;
    r.message = "re-read " + running.config_file + ": log level " + std::string(to_string(*r.level));
  } catch (const std::exception& e) {
    r.message = "log level stays " + std::string(to_string(running.log_level)) + ": internal error: " + e.what();
  }
  return r;
}

std::string version_string() { return std::string("corobd ") + COROBD_VERSION; }

}  // namespace config
