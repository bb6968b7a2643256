// corobd-load's command line.
//
//   corobd-load --uri nbd+unix:///EXPORT?socket=PATH
//               [--rw read|write|randread|randwrite|rw|randrw] [--mix READ_PERCENT]
//               [--bs 4k] [--qd 32] [--conns 1] [--runtime 10s | --ops N] [--warmup 1s]
//               [--offset 0] [--range BYTES] [--rate IOPS] [--flush-every N] [--fua]
//               [--verify] [--resume STATEFILE] [--seed N] [--json]
//               [--progress auto|always|never]
//
// Defaults: --rw randread (never writes unless asked), --mix 50 (rw and
// randrw only), --bs 4k, --qd 32 per connection, --conns 1, --runtime 10s,
// --warmup 1s with a runtime and 0 with --ops, --offset 0, --range to the
// end of the export, no rate limit, no flushes, --seed 1,
// --progress auto (on if stderr is a terminal).
//
// Sizes take k, M, G, T (powers of 1024; config::parse_size), durations ms,
// s, m, h (config::parse_duration); --offset and --warmup also take 0.
// --rate takes an integer with an optional k or M (thousands, millions).
//
// Contract
// - parse_options() never throws, never prints, never exits: it returns
//   the options, or the text to print and the status to exit with: 0 with
//   the help or version text (stdout), kExitBadArguments with a single line
//   "corobd-load: <what is wrong>" (stderr). Checks that need the server
//   (the export's size, alignment, flush/FUA support) are the runner's.
// - Any thread; allocates.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "loadgen/workload.hpp"
#include "nbd/client/uri.hpp"

namespace loadgen {

enum class ProgressMode { kAuto, kAlways, kNever };

struct Options {
  std::string uri;       // as given
  nbd::NbdUri nbd_uri;   // parsed
  Pattern pattern = Pattern::kRandRead;
  unsigned read_percent = 50;
  std::uint32_t block_size = 4096;
  unsigned queue_depth = 32;
  unsigned connections = 1;
  std::chrono::milliseconds runtime{10000};  // ignored when ops is set
  std::optional<std::uint64_t> ops;           // measured ops to run, instead of a runtime
  std::chrono::milliseconds warmup{1000};
  std::uint64_t offset = 0;
  std::optional<std::uint64_t> range;  // default: export size - offset
  std::uint64_t rate = 0;              // IOPS over all connections; 0: unlimited
  std::uint64_t flush_every = 0;       // flush after every N acknowledged writes; 0: never
  bool fua = false;
  bool verify = false;
  std::string resume;  // state file; "" for none (needs verify)
  std::uint64_t seed = 1;
  bool seed_given = false;
  bool json = false;
  ProgressMode progress = ProgressMode::kAuto;
};

inline constexpr unsigned kMaxQueueDepth = 4096;
inline constexpr unsigned kMaxConnections = 256;
inline constexpr std::uint64_t kMaxRate = 100'000'000;
// The smallest --bs with --verify: a block must hold its header.
inline constexpr std::uint32_t kMinVerifyBlockSize = 64;

struct ParsedOptions {
  Options options;
  // -1: run with `options`; otherwise exit with this status after printing
  // `output` (to stdout if 0, stderr otherwise).
  int exit_code = -1;
  std::string output;
};

ParsedOptions parse_options(int argc, const char* const* argv);

std::string_view to_string(ProgressMode mode);

}  // namespace loadgen
