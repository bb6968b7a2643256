#include "config/values.hpp"

#include <sys/stat.h>

#include <limits>
#include <optional>
#include <span>

#include "config/config.hpp"

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

// A duration unit: its suffix ("" for a bare number) and its length in
// microseconds.
struct DurationUnit {
  std::string_view suffix;
  std::uint64_t us;
};

// Every duration unit; a bare number means seconds. Only the delays of
// --batch-wait take us (kUnitsFromUs); parse_duration takes the others
// (kUnitsFromMs), so its options and messages stay as they were.
constexpr DurationUnit kDurationUnits[] = {
    {"us", 1}, {"ms", 1'000}, {"", 1'000'000}, {"s", 1'000'000}, {"m", 60'000'000}, {"h", 3'600'000'000},
};
constexpr std::span<const DurationUnit> kUnitsFromUs{kDurationUnits};
constexpr std::span<const DurationUnit> kUnitsFromMs = kUnitsFromUs.subspan(1);

constexpr std::uint64_t kSaturated = std::numeric_limits<std::uint64_t>::max();

// Reads NUMBER[UNIT], UNIT one of `units`, in microseconds. A value too large
// for 64 bits reads as kSaturated (beyond every limit), even with a bad unit.
// nullopt: not of that form.
std::optional<std::uint64_t> read_duration_us(std::string_view text, std::span<const DurationUnit> units) {
  std::uint64_t v = 0;
  const std::size_t n = leading_decimal(text, &v);
  if (n == std::string_view::npos) return kSaturated;
  if (n == 0) return std::nullopt;
  for (const DurationUnit& u : units) {
    if (text.substr(n) == u.suffix) return v > kSaturated / u.us ? kSaturated : v * u.us;
  }
  return std::nullopt;
}

// "50us", or format_duration's form for whole milliseconds ("1ms", "10s").
std::string format_duration_us(std::chrono::microseconds d) {
  if (d.count() % 1000 != 0) return std::to_string(d.count()) + "us";
  return format_duration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
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
  constexpr std::uint64_t kMaxUs = 24ULL * 3600 * 1000 * 1000;
  const std::optional<std::uint64_t> us = read_duration_us(text, kUnitsFromMs);
  if (!us) return R::fail(quoted(text) + " is not a duration" + kExpected);
  if (*us == 0) return R::fail(quoted(text) + " is zero (a duration must be positive)");
  if (*us > kMaxUs) return R::fail(quoted(text) + " is too long (at most 24h)");
  return R::ok(std::chrono::milliseconds(static_cast<std::int64_t>(*us / 1000)));
}

Parsed<BatchWait> parse_batch_wait(std::string_view text) {
  using R = Parsed<BatchWait>;
  if (text == "auto") return R::ok(BatchWait{.mode = BatchWaitMode::kAuto});
  if (text == "off") return R::ok(BatchWait{.mode = BatchWaitMode::kOff});
  const std::string limit = format_duration_us(kBatchWaitDelayLimit);
  const std::optional<std::uint64_t> us = read_duration_us(text, kUnitsFromUs);
  if (!us) {
    return R::fail(quoted(text) + " is not auto, off or a duration (expected auto, off, or 1us to " + limit +
                   ", e.g. 10us, 50us, 1ms)");
  }
  if (*us == 0) return R::fail(quoted(text) + " is zero (use off to never wait)");
  if (*us > static_cast<std::uint64_t>(kBatchWaitDelayLimit.count())) {
    return R::fail(quoted(text) + " is too long (at most " + limit + ")");
  }
  return R::ok(BatchWait{.mode = BatchWaitMode::kFixed,
                         .delay = std::chrono::microseconds(static_cast<std::int64_t>(*us))});
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

std::string format_batch_wait(const BatchWait& wait) {
  switch (wait.mode) {
    case BatchWaitMode::kAuto: return "auto";
    case BatchWaitMode::kOff: return "off";
    case BatchWaitMode::kFixed: return format_duration_us(wait.delay);
  }
  return "?";
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
