// ProgressLine: corobd-load's once-a-second status line on stderr.
//
//   [  3s / 10s] 61.2k IOPS  239.1 MiB/s  p99 412us  errors 0
//
// Contract
// - should_show(mode, fd): --progress always shows it, never hides it, auto
//   shows it when fd is a terminal.
// - On a terminal update() rewrites one line in place ("\r" ... erase to end
//   of line) and finish() erases it, so the report starts on a clean line.
//   Elsewhere (--progress always into a file or pipe) each update is a
//   line of its own and finish() writes nothing.
// - format() is pure (for tests). update()/finish() do one write(2) each;
//   they allocate (a string per second, not per request). One thread.
#pragma once

#include <cstdint>
#include <string>

#include "loadgen/options.hpp"

namespace loadgen {

struct ProgressSample {
  bool warming_up = false;
  double elapsed_s = 0;          // since the run (warmup included) started
  double total_s = 0;            // warmup + runtime, or 0 with --ops
  std::uint64_t ops_done = 0;    // measured ops completed (for --ops)
  std::uint64_t ops_total = 0;   // --ops, or 0
  double iops = 0;               // over the last interval
  double bytes_per_s = 0;        // over the last interval
  std::uint64_t p99_ns = 0;      // of every measured request so far
  std::uint64_t errors = 0;
};

class ProgressLine {
 public:
  ProgressLine(int fd, bool enabled);
  static bool should_show(ProgressMode mode, int fd);

  bool enabled() const { return enabled_; }
  void update(const ProgressSample& sample);
  void finish();

  static std::string format(const ProgressSample& sample);

 private:
  int fd_;
  bool enabled_;
  bool tty_;
  bool dirty_ = false;
};

// Shared by the progress line and the text report.
// 61234 -> "61.2k", 999 -> "999", 1.5e6 -> "1.50M".
std::string format_count(double value);
// Bytes per second -> "239.1 MiB/s".
std::string format_rate_bytes(double bytes_per_s);
// Nanoseconds -> "412us", "1.23ms", "850ns", "2.10s".
std::string format_latency(std::uint64_t ns);

}  // namespace loadgen
