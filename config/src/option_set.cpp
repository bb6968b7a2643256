#include "option_set.hpp"

#include "config/config.hpp"
#include "config/export_spec.hpp"
#include "config/parse_config.hpp"
#include "config/values.hpp"

namespace config::detail {
namespace {

constexpr std::size_t kMaxSocketPath = 107;  // sizeof(sockaddr_un::sun_path) - 1

constexpr const char* kFooter = R"(SPEC (for --export; repeat --export for more exports):
  name=NAME,file=PATH[,format=raw|null][,size=BYTES][,readonly=on|off]
  [,cache=writeback|none|unsafe][,create=on|off][,description=TEXT][,default=on]
    format=raw    serve FILE (a regular file or a block device)       [default]
    format=null   serve SIZE bytes of zeroes, discard writes (no file)
    size=         bytes, or with suffix k, M, G, T, P, E (powers of 1024):
                  the size of a null export, or of the file create=on makes
    create=on     create FILE as a sparse file of SIZE bytes if it is missing
    cache=        writeback (page cache) [default], none (O_DIRECT),
                  unsafe (flush requests are ignored)
    default=on    the export a client gets when it asks for the empty name
                  (without it, the first export)
  Write a comma inside a value as \, and a backslash as \\ (quote the SPEC
  for the shell): --export 'name=d,file=/srv/d.img,description=disk\, big'

BATCH WAIT (--batch-wait): how long a connection that has taken in every
request it was sent waits before it receives again, so that a client with a
deep queue has sent more by then and they are served (and answered) in one
batch: up to that much more latency per request, less CPU per request under
deep queues.
    auto          wait 30us only while measurements show it lowers CPU per
                  request without lowering throughput             [default]
    off           never wait
    TIME          always wait this long, 1us to 10ms (10us, 50us, 1ms)

CONFIG FILE (--config): TOML with the same keys as the options, without the
dashes, for example:
  socket = "/run/corobd/corobd.sock"
  socket-mode = "0660"
  export = ["name=scratch,format=null,size=1G", "name=disk,file=/srv/disk.img"]
Options on the command line override the file (--export replaces its whole
list). Unknown keys are errors.

Exit status: 0 after --help/--version, 2 for any invalid option or file.)";

std::string check_socket(const std::string& v) {
  if (v.empty()) return "empty path";
  if (v.size() > kMaxSocketPath) {
    return "path is too long (" + std::to_string(v.size()) + " bytes; a UNIX socket path is at most " +
           std::to_string(kMaxSocketPath) + ")";
  }
  return {};
}

template <class T>
std::string error_of(const Parsed<T>& p) {
  return p ? std::string{} : p.error;
}

}  // namespace

OptionSet::OptionSet() : app_("corobd: serve files as NBD block devices on a UNIX socket", "corobd") {
  // --help and --version act as soon as they are seen, before any value is
  // checked or the config file is read: `corobd --socket-mode 0777 --help` helps.
  app_.set_help_flag();
  app_.add_flag_callback("-h,--help", [] { throw CLI::CallForHelp(); }, "Print this help and exit")
      ->configurable(false)
      ->trigger_on_parse();
  app_.set_version_flag("--version", version_string(), "Print the version and exit")->trigger_on_parse();
  app_.set_config("--config", "", "Read options from this TOML file; the command line overrides it")
      ->type_name("FILE")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);

  add("socket",
      app_.add_option("--socket", raw_.socket, "UNIX socket to listen on")->type_name("PATH")->capture_default_str(),
      check_socket);
  add("socket-mode",
      app_.add_option("--socket-mode", raw_.socket_mode, "Permissions of the socket file, octal; never world-writable")
          ->type_name("MODE")
          ->capture_default_str(),
      [](const std::string& v) { return error_of(parse_socket_mode(v)); });
  add("socket-group",
      app_.add_option("--socket-group", raw_.socket_group, "Group of the socket file (name or number)")
          ->type_name("GROUP"),
      [](const std::string&) { return std::string{}; });
  add("export",
      app_.add_option("--export", raw_.exports, "Export a device (see SPEC below); repeat for more")
          ->type_name("SPEC")
          ->allow_extra_args(false),
      [](const std::string& v) { return error_of(parse_export_spec(v)); });
  add("max-connections",
      app_.add_option("--max-connections", raw_.max_connections, "Most clients connected at once")
          ->type_name("N")
          ->capture_default_str(),
      [](const std::string& v) { return error_of(parse_count(v, 1, kMaxConnectionsLimit)); });
  add("max-inflight",
      app_.add_option("--max-inflight", raw_.max_inflight, "Most requests in flight per connection")
          ->type_name("N")
          ->capture_default_str(),
      [](const std::string& v) { return error_of(parse_count(v, 1, kMaxInflightLimit)); });
  add("handshake-timeout",
      app_.add_option("--handshake-timeout", raw_.handshake_timeout,
                      "Drop a client that has not finished negotiating after this long (500ms, 10s, 2m)")
          ->type_name("TIME")
          ->capture_default_str(),
      [](const std::string& v) { return error_of(parse_duration(v)); });
  add("batch-wait",
      app_.add_option("--batch-wait", raw_.batch_wait,
                      "auto, off or 1us..10ms: how long a connection waits for more requests before it receives "
                      "(see BATCH WAIT below)")
          ->type_name("WAIT")
          ->capture_default_str(),
      [](const std::string& v) { return error_of(parse_batch_wait(v)); });
  add("log-level",
      app_.add_option("--log-level", raw_.log_level, "trace, debug, info, warn or error (re-read on SIGHUP)")
          ->type_name("LEVEL")
          ->capture_default_str(),
      [](const std::string& v) { return error_of(parse_log_level(v)); });

  app_.footer(kFooter);
  app_.get_formatter()->column_width(32);
  app_.allow_config_extras(CLI::config_extras_mode::error);
  app_.config_formatter(std::make_shared<TomlReader>(keys_, &app_, trace_));
}

void OptionSet::add(const std::string& key, CLI::Option* opt, std::function<std::string(const std::string&)> check) {
  const bool array = key == "export";
  // Export problems start with the export's quoted name: "export 'disk': size: ...".
  keys_[key] = TomlReader::Key{array, check, array ? " " : ": "};
  if (!array) opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  std::shared_ptr<Failure> failed = failed_;
  opt->check(CLI::Validator(
      [key, failed, check = std::move(check)](std::string& value) {
        std::string problem = check(value);
        if (!problem.empty()) *failed = Failure{key, value, problem};
        return problem;
      },
      "", key));
}

std::string OptionSet::config_file() const {
  const CLI::Option* opt = app_.get_config_ptr();
  if (opt == nullptr || opt->results().empty()) return {};
  return opt->results().back();
}

bool OptionSet::from_command_line(const std::string& key) const {
  if (trace_->file_read) return trace_->set_on_command_line.count(key) != 0;
  const CLI::Option* opt = app_.get_option_no_throw("--" + key);
  return opt != nullptr && opt->count() > 0;
}

std::string OptionSet::origin(const std::string& key, const std::string& value) const {
  if (!trace_->file_read || from_command_line(key)) return "--" + key;
  auto k = trace_->key_line.find(key);
  if (k == trace_->key_line.end()) return "--" + key;
  int line = k->second;
  if (auto v = trace_->value_lines.find(key); v != trace_->value_lines.end()) {
    for (const auto& [text, at] : v->second) {
      if (text == value) {
        line = at;
        break;
      }
    }
  }
  return config_file() + ":" + std::to_string(line);
}

}  // namespace config::detail
