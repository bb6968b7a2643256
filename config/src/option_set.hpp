// OptionSet: the one definition of corobd's options, as a CLI11 App whose
// values land, as text, in RawValues. Each option carries a validator that
// runs the same value parser the Config is later built with, so a bad value
// is rejected while parsing, from the command line or the file alike.
//
// Contract
// - Construct, then parse() once. Not copyable or movable (the App holds
//   references into it). One thread.
// - origin(key, value) says where an option's value came from: "--key" for
//   the command line (and defaults), "FILE:LINE" for the config file.
// - failed() is the option and value whose validator failed last.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "toml_reader.hpp"

namespace config::detail {

struct RawValues {
  std::string socket = "/run/corobd/corobd.sock";
  std::string socket_mode = "0660";
  std::string socket_group;
  std::vector<std::string> exports;
  std::string max_connections = "64";
  std::string max_inflight = "32";
  std::string handshake_timeout = "10s";
  std::string batch_wait = "auto";
  std::string log_level = "info";
};

class OptionSet {
 public:
  OptionSet();
  OptionSet(const OptionSet&) = delete;
  OptionSet& operator=(const OptionSet&) = delete;

  CLI::App& app() { return app_; }
  const RawValues& values() const { return raw_; }
  const TomlTrace& trace() const { return *trace_; }
  // The --config FILE given (empty if none), as given.
  std::string config_file() const;

  // Where the value of option `key` (long name without dashes) came from.
  std::string origin(const std::string& key, const std::string& value = {}) const;
  // True when `key` was given on the command line.
  bool from_command_line(const std::string& key) const;

  struct Failure {
    std::string key, value, problem;
  };
  const Failure& failed() const { return *failed_; }

 private:
  void add(const std::string& key, CLI::Option* opt, std::function<std::string(const std::string&)> check);

  RawValues raw_;
  std::shared_ptr<TomlTrace> trace_ = std::make_shared<TomlTrace>();
  std::shared_ptr<Failure> failed_ = std::make_shared<Failure>();
  std::map<std::string, TomlReader::Key> keys_;
  CLI::App app_;
};

}  // namespace config::detail
