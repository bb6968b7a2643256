#include "config/values.hpp"

#include <sys/stat.h>

#include <limits>

namespace config {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Built by append: g++ 12 warns falsely (-Wrestrict, PR 105651) about "'" + s + "'".
std::string quoted(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 2);
  out.push_back('\'');
  out.append(text);
  out.push_back('\'');
  return out;
}

// Parses the leading decimal digits of text into *out; returns how many
// characters were consumed (0 if none), or std::string_view::npos on overflow.
std::size_t leading_decimal(std::string_view text, std::uint64_t* out) {
  std::uint64_t v = 0;
  std::size_t i = 0;
  for (; i < text.size() && is_digit(text[i]); ++i) {
    const auto d = static_cast<std::uint64_t>(text[i] - '0');
    if (v > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::string_view::npos;
    v = v * 10 + d;
  }
  *out = v;
  return i;
}

}  // namespace

Parsed<std::uint64_t> parse_size(std::string_view text) {
  constexpr const char* kExpected =
      " (expected BYTES or a number with suffix k, M, G, T, P or E)";
  using R = Parsed<std::uint64_t>;
  constexpr std::uint64_t kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  std::uint64_t v = 0;
  const std::size_t n = leading_decimal(text, &v);
  if (n == std::string_view::npos) return R::fail(quoted(text) + " is too large (at most 8 EiB - 1)");
  if (n == 0) return R::fail(quoted(text) + " is not a size" + kExpected);
  unsigned shift = 0;
  const std::string_view suffix = text.substr(n);
  if (suffix.size() > 1) return R::fail(quoted(text) + " is not a size" + kExpected);
  if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'k': case 'K': shift = 10; break;
      case 'm': case 'M': shift = 20; break;
      case 'g': case 'G': shift = 30; break;
      case 't': case 'T': shift = 40; break;
      case 'p': case 'P': shift = 50; break;
      case 'e': case 'E': shift = 60; break;
      default: return R::fail(quoted(text) + " is not a size" + kExpected);
    }
  }
  if (v == 0) return R::fail(quoted(text) + " is zero (a size must be at least 1 byte)");
  if (v > (kMax >> shift)) return R::fail(quoted(text) + " is too large (at most 8 EiB - 1)");
  return R::ok(v << shift);
}

Parsed<std::chrono::milliseconds> parse_duration(std::string_view text) {
  constexpr const char* kExpected = " (expected a number with unit ms, s, m or h, e.g. 500ms, 10s, 2m)";
  using R = Parsed<std::chrono::milliseconds>;
  constexpr std::uint64_t kMaxMs = 24ULL * 3600 * 1000;
  std::uint64_t v = 0;
  const std::size_t n = leading_decimal(text, &v);
  if (n == std::string_view::npos) return R::fail(quoted(text) + " is too long (at most 24h)");
  if (n == 0) return R::fail(quoted(text) + " is not a duration" + kExpected);
  const std::string_view unit = text.substr(n);
  std::uint64_t ms_per_unit = 0;
  if (unit.empty() || unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "m") {
    ms_per_unit = 60 * 1000;
  } else if (unit == "h") {
    ms_per_unit = 3600 * 1000;
  } else {
    return R::fail(quoted(text) + " is not a duration" + kExpected);
  }
  if (v == 0) return R::fail(quoted(text) + " is zero (a duration must be positive)");
  if (v > kMaxMs / ms_per_unit) return R::fail(quoted(text) + " is too long (at most 24h)");
  return R::ok(std::chrono::milliseconds(static_cast<std::int64_t>(v * ms_per_unit)));
}

Parsed<mode_t> parse_socket_mode(std::string_view text) {
  using R = Parsed<mode_t>;
  std::string_view digits = text;
  if (digits.starts_with("0o")) digits.remove_prefix(2);
  if (digits.empty() || digits.size() > 4) {
    return R::fail(quoted(text) + " is not an octal mode (expected e.g. 0660)");
  }
  unsigned v = 0;
  for (char c : digits) {
    if (c < '0' || c > '7') return R::fail(quoted(text) + " is not an octal mode (expected e.g. 0660)");
    v = v * 8 + static_cast<unsigned>(c - '0');
  }
  if (v > 0777) return R::fail(quoted(text) + " has bits beyond 0777 (setuid, setgid and sticky are not allowed)");
  if ((v & S_IWOTH) != 0) {
    return R::fail(quoted(text) + " is world-writable (anyone could connect); use 0660 or stricter");
  }
  return R::ok(static_cast<mode_t>(v));
}

Parsed<std::uint64_t> parse_count(std::string_view text, std::uint64_t min, std::uint64_t max) {
  using R = Parsed<std::uint64_t>;
  const std::string range = " (expected an integer from " + std::to_string(min) + " to " + std::to_string(max) + ")";
  std::uint64_t v = 0;
  const std::size_t n = leading_decimal(text, &v);
  if (n == 0 || (n != std::string_view::npos && n != text.size())) {
    return R::fail(quoted(text) + " is not a number" + range);
  }
  if (n == std::string_view::npos || v < min || v > max) return R::fail(quoted(text) + " is out of range" + range);
  return R::ok(v);
}

Parsed<bool> parse_on_off(std::string_view text) {
  if (text == "on") return Parsed<bool>::ok(true);
  if (text == "off") return Parsed<bool>::ok(false);
  return Parsed<bool>::fail(quoted(text) + " is not on or off");
}

Parsed<LogLevel> parse_log_level(std::string_view text) {
  for (LogLevel l : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error}) {
    if (text == to_string(l)) return Parsed<LogLevel>::ok(l);
  }
  return Parsed<LogLevel>::fail(quoted(text) + " is not a log level (expected trace, debug, info, warn or error)");
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "?";
}

std::string format_size(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes == 0 || (bytes & 1023) != 0) return std::to_string(bytes) + " bytes";
  int unit = -1;
  while ((bytes & 1023) == 0 && unit < 5) {
    bytes >>= 10;
    ++unit;
  }
  return std::to_string(bytes) + " " + kUnits[unit];
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms % 60000 == 0 && ms != 0) return std::to_string(ms / 60000) + "m";
  if (ms % 1000 == 0 && ms != 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string format_mode(mode_t mode) {
  std::string s = "0000";
  for (int i = 3; i >= 1; --i) {
    s[static_cast<std::size_t>(i)] = static_cast<char>('0' + (mode & 7));
    mode >>= 3;
  }
  return s;
}

}  // namespace config
