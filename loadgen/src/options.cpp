#include "loadgen/options.hpp"

#include <CLI/CLI.hpp>

#include <limits>
#include <string_view>

#include "config/values.hpp"
#include "loadgen/block_header.hpp"
#include "loadgen/exit_status.hpp"
#include "nbd/protocol.hpp"

#ifndef COROBD_VERSION
#define COROBD_VERSION "unknown"
#endif

namespace loadgen {
namespace {

// An argument error: "corobd-load: --bs: '4q' is not a size (...)".
struct ArgError {
  std::string message;
};

[[noreturn]] void fail(const std::string& option, const std::string& why) {
  throw ArgError{option + ": " + why};
}

template <class T>
T value_or_fail(const std::string& option, config::Parsed<T> parsed) {
  if (!parsed) fail(option, parsed.error);
  return *parsed.value;
}

// "0", "00", "0s", "0ms": an explicit zero duration (parse_duration wants > 0).
bool is_zero_duration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] == '0') ++i;
  if (i == 0) return false;
  const std::string_view unit = text.substr(i);
  return unit.empty() || unit == "ms" || unit == "s" || unit == "m" || unit == "h";
}

std::uint64_t parse_rate(const std::string& text) {
  std::string digits = text;
  std::uint64_t scale = 1;
  if (!digits.empty() && (digits.back() == 'k' || digits.back() == 'K')) {
    scale = 1000;
    digits.pop_back();
  } else if (!digits.empty() && (digits.back() == 'm' || digits.back() == 'M')) {
    scale = 1000000;
    digits.pop_back();
  }
  auto parsed = config::parse_count(digits, 1, kMaxRate / scale);
  if (!parsed) {
    fail("--rate", "'" + text + "' is not a rate (expected IOPS from 1 to " +
                       std::to_string(kMaxRate) + ", optionally with k or M, e.g. 5000 or 20k)");
  }
  return *parsed.value * scale;
}

}  // namespace

std::string_view to_string(ProgressMode mode) {
  switch (mode) {
    case ProgressMode::kAuto: return "auto";
    case ProgressMode::kAlways: return "always";
    case ProgressMode::kNever: return "never";
  }
  return "?";
}

ParsedOptions parse_options(int argc, const char* const* argv) {
  ParsedOptions result;
  Options& o = result.options;

  CLI::App app{
      "corobd-load: an NBD load generator with data verification.\n"
      "Runs conns x qd requests in flight against an NBD export over a UNIX socket and\n"
      "reports IOPS, bandwidth and latency percentiles per operation type.\n"
      "Exit status: 0 clean, 1 verification mismatch or I/O errors, 2 bad arguments,\n"
      "3 could not connect or negotiate.",
      "corobd-load"};
  app.set_version_flag("--version", std::string("corobd-load ") + COROBD_VERSION);
  app.get_formatter()->column_width(34);

  std::string rw, mix, bs, qd, conns, runtime, ops, warmup, offset, range, rate, flush_every,
      seed, progress = "auto";
  app.add_option("--uri", o.uri, "NBD URI: nbd+unix:///EXPORT?socket=PATH")->required();
  app.add_option("--rw", rw, "read|write|randread|randwrite|rw|randrw (default randread)");
  app.add_option("--mix", mix, "READ_PERCENT of a rw/randrw mix, 0..100 (default 50)");
  app.add_option("--bs", bs, "block size of every request (default 4k)");
  app.add_option("--qd", qd, "requests in flight per connection (default 32)");
  app.add_option("--conns", conns, "connections (default 1)");
  CLI::Option* runtime_opt =
      app.add_option("--runtime", runtime, "measured run time after the warmup (default 10s)");
  CLI::Option* ops_opt = app.add_option("--ops", ops, "run N measured requests instead of a runtime");
  runtime_opt->excludes(ops_opt);
  app.add_option("--warmup", warmup,
                 "unmeasured time before measuring (default 1s; 0 with --ops)");
  app.add_option("--offset", offset, "start of the tested range in bytes (default 0)");
  app.add_option("--range", range, "length of the tested range (default: to the end)");
  app.add_option("--rate", rate, "pace requests at IOPS over all connections (default: unlimited)");
  app.add_option("--flush-every", flush_every, "send a flush after every N acknowledged writes");
  app.add_flag("--fua", o.fua, "send writes with FUA (forced unit access)");
  app.add_flag("--verify", o.verify, "write self-describing blocks and check every read");
  app.add_option("--resume", o.resume,
                 "with --verify: check the device against STATEFILE from an earlier run, "
                 "then save the model there")
      ->type_name("STATEFILE");
  app.add_option("--seed", seed, "seed of the random offsets and block contents (default 1)");
  app.add_flag("--json", o.json, "print the report as one JSON document");
  app.add_option("--progress", progress, "progress line on stderr: auto|always|never (default auto)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    result.exit_code = kExitOk;
    result.output = app.help();
    return result;
  } catch (const CLI::CallForAllHelp&) {
    result.exit_code = kExitOk;
    result.output = app.help("", CLI::AppFormatMode::All);
    return result;
  } catch (const CLI::CallForVersion& e) {
    result.exit_code = kExitOk;
    result.output = std::string(e.what()) + "\n";
    return result;
  } catch (const CLI::ParseError& e) {
    result.exit_code = kExitBadArguments;
    result.output = std::string("corobd-load: ") + e.what() + " (see --help)";
    return result;
  }

  try {
    std::string uri_error;
    if (!nbd::parse_nbd_uri(o.uri, &o.nbd_uri, &uri_error)) fail("--uri", uri_error);
    if (!rw.empty()) {
      auto p = parse_pattern(rw);
      if (!p) fail("--rw", "'" + rw + "' is not a pattern (expected read, write, randread, randwrite, rw or randrw)");
      o.pattern = *p;
    }
    if (!mix.empty()) {
      if (!pattern_mixed(o.pattern)) {
        fail("--mix", "only applies to --rw rw or randrw");
      }
      o.read_percent = static_cast<unsigned>(value_or_fail("--mix", config::parse_count(mix, 0, 100)));
    }
    if (!bs.empty()) {
      const std::uint64_t v = value_or_fail("--bs", config::parse_size(bs));
      if (v > nbd::kMaxRequestPayload) {
        fail("--bs", "'" + bs + "' is too large (at most 32M, the largest NBD request)");
      }
      o.block_size = static_cast<std::uint32_t>(v);
    }
    if (!qd.empty()) {
      o.queue_depth = static_cast<unsigned>(value_or_fail("--qd", config::parse_count(qd, 1, kMaxQueueDepth)));
    }
    if (!conns.empty()) {
      o.connections =
          static_cast<unsigned>(value_or_fail("--conns", config::parse_count(conns, 1, kMaxConnections)));
    }
    if (!runtime.empty()) o.runtime = value_or_fail("--runtime", config::parse_duration(runtime));
    if (!ops.empty()) {
      o.ops = value_or_fail("--ops", config::parse_count(ops, 0, std::numeric_limits<std::int64_t>::max()));
      o.warmup = std::chrono::milliseconds(0);
    }
    if (!warmup.empty()) {
      o.warmup = is_zero_duration(warmup) ? std::chrono::milliseconds(0)
                                          : value_or_fail("--warmup", config::parse_duration(warmup));
    }
    if (!offset.empty()) {
      o.offset = offset.find_first_not_of('0') == std::string::npos
                     ? 0
                     : value_or_fail("--offset", config::parse_size(offset));
    }
    if (!range.empty()) o.range = value_or_fail("--range", config::parse_size(range));
    if (!rate.empty()) o.rate = parse_rate(rate);
    if (!flush_every.empty()) {
      o.flush_every = value_or_fail(
          "--flush-every", config::parse_count(flush_every, 1, std::numeric_limits<std::int64_t>::max()));
    }
    if (!seed.empty()) {
      o.seed = value_or_fail("--seed", config::parse_count(seed, 0, std::numeric_limits<std::uint64_t>::max()));
      o.seed_given = true;
    }
    if (progress == "auto") {
      o.progress = ProgressMode::kAuto;
    } else if (progress == "always") {
      o.progress = ProgressMode::kAlways;
    } else if (progress == "never") {
      o.progress = ProgressMode::kNever;
    } else {
      fail("--progress", "'" + progress + "' is not a progress mode (expected auto, always or never)");
    }

    // Combinations.
    if (o.range && *o.range < o.block_size) {
      fail("--range", "'" + range + "' is smaller than one block (--bs " + std::to_string(o.block_size) + ")");
    }
    if (o.fua && !pattern_writes(o.pattern)) {
      fail("--fua", "needs a pattern that writes (--rw write, randwrite, rw or randrw)");
    }
    if (o.flush_every != 0 && !pattern_writes(o.pattern)) {
      fail("--flush-every", "needs a pattern that writes (--rw write, randwrite, rw or randrw)");
    }
    if (!o.resume.empty() && !o.verify) fail("--resume", "needs --verify");
    if (o.verify && o.block_size < kMinVerifyBlockSize) {
      fail("--bs", std::to_string(o.block_size) + " bytes is too small for --verify (at least " +
                       std::to_string(kMinVerifyBlockSize) + ")");
    }
  } catch (const ArgError& e) {
    result.exit_code = kExitBadArguments;
    result.output = "corobd-load: " + e.message;
  }
  return result;
}

}  // namespace loadgen
