// Parsers for the scalar values that corobd's options take: sizes, durations,
// socket modes, counts, on/off switches and log levels.
//
// Contract
// - Pure functions: no I/O, no global state, never throw. Any thread.
// - Strict: the whole text must be consumed; surrounding whitespace, signs,
//   fractions and unknown suffixes are errors. An error is a short lower-case
//   phrase that quotes the offending text and says what was expected, for
//   example "'1.5G' is not a size (expected BYTES or a number with suffix k,
//   M, G, T, P or E)". The caller prefixes the option's name.
// - Sizes use powers of 1024 (k and K both mean KiB) and must be 1 .. 2^63-1
//   bytes (the range of off_t). Durations take the units ms, s, m and h; a
//   bare number means seconds; they must be > 0 and at most 24 h (the delays
//   of --batch-wait take us too: parse_batch_wait in config.hpp). Socket modes
//   are octal ("0660", "660" or TOML's "0o660"), at most 0777, and never
//   world-writable.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace config {

// The value of a successful parse, or the reason it failed.
template <class T>
struct Parsed {
  std::optional<T> value;
  std::string error;  // non-empty exactly when !value

  static Parsed ok(T v) { return Parsed{std::move(v), {}}; }
  static Parsed fail(std::string why) { return Parsed{std::nullopt, std::move(why)}; }
  explicit operator bool() const { return value.has_value(); }
};

enum class LogLevel { trace, debug, info, warn, error };

Parsed<std::uint64_t> parse_size(std::string_view text);
Parsed<std::chrono::milliseconds> parse_duration(std::string_view text);
Parsed<mode_t> parse_socket_mode(std::string_view text);
// A decimal integer in [min, max].
Parsed<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max);
// "on" or "off".
Parsed<bool> parse_on_off(std::string_view text);
// trace, debug, info, warn or error.
Parsed<LogLevel> parse_log_level(std::string_view text);

std::string_view to_string(LogLevel level);
// "4 KiB", "1 GiB", "1536 bytes": exact, for log messages.
std::string format_size(std::uint64_t bytes);
// "500ms", "10s", "2m".
std::string format_duration(std::chrono::milliseconds d);
// "0660".
std::string format_mode(mode_t mode);

}  // namespace config
