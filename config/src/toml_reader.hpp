// TomlReader: the CLI11 config-file reader for corobd's subset of TOML
// (CLI11 2.1's own reader cuts values at any '#', even inside quotes, keeps
// escapes undecoded and accepts unquoted strings; corobd needs to be exact).
//
// Contract
// - from_config() returns one CLI::ConfigItem per top-level key (name = the
//   key, inputs = the scalar, or the array's elements), or throws TomlError
//   with the line and the problem. Accepted: key = value lines with bare or
//   quoted keys; "basic" strings (escapes \b \t \n \f \r \" \\ \uXXXX
//   \UXXXXXXXX), 'literal' strings; bare tokens that start with a digit or a
//   sign (numbers; underscores between digits are dropped; passed on as
//   text) and true/false; arrays of those, over several lines, with comments
//   and a trailing comma; # comments; blank lines; CRLF; a UTF-8 BOM.
//   Rejected: tables, dotted keys, inline tables, multi-line strings, nested
//   arrays, unquoted strings, a key given twice, a key that is not in `keys`,
//   an array for a key that takes one value, a value its Key::check refuses
//   (so a bad value is an error even where the command line overrides it).
// - Records in the shared Trace where each key and value was found, and
//   which keys the command line had already set (CLI11 reads the file after
//   the command line), so that errors can point at the right place.
// - Used on the thread that parses; not thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace config::detail {

class TomlError : public CLI::ConfigError {
 public:
  TomlError(int line, std::string problem)
      : CLI::ConfigError("line " + std::to_string(line) + ": " + problem), line_(line), problem_(std::move(problem)) {}
  int line() const { return line_; }
  const std::string& problem() const { return problem_; }

 private:
  int line_;
  std::string problem_;
};

struct TomlTrace {
  bool file_read = false;                                  // from_config() succeeded
  std::map<std::string, int> key_line;                     // key -> line it is on
  std::map<std::string, std::vector<std::pair<std::string, int>>> value_lines;  // key -> (value, line)
  std::set<std::string> set_on_command_line;               // keys the command line had given
};

class TomlReader final : public CLI::Config {
 public:
  struct Key {
    bool array = false;  // takes an array (or one value); else exactly one value
    // Checks one value; returns the problem or "". The error then reads
    // "line N: KEY" + separator + problem.
    std::function<std::string(const std::string&)> check;
    std::string separator = ": ";
  };

  // `app` is asked, while reading, which options the command line set.
  TomlReader(std::map<std::string, Key> keys, const CLI::App* app, std::shared_ptr<TomlTrace> trace)
      : keys_(std::move(keys)), app_(app), trace_(std::move(trace)) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;
  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override;

  // Parses a whole document; exposed for tests.
  std::vector<CLI::ConfigItem> parse(const std::string& text) const;

 private:
  std::map<std::string, Key> keys_;
  const CLI::App* app_;
  std::shared_ptr<TomlTrace> trace_;
};

}  // namespace config::detail
