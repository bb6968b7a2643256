#include "loadgen/run_stats.hpp"

namespace loadgen {

std::uint64_t RunStats::total_ops() const {
  std::uint64_t n = 0;
  for (const OpStats& s : ops_) n += s.ops;
  return n;
}

std::uint64_t RunStats::total_bytes() const {
  std::uint64_t n = 0;
  for (const OpStats& s : ops_) n += s.bytes;
  return n;
}

std::uint64_t RunStats::total_errors() const {
  std::uint64_t n = 0;
  for (const OpStats& s : ops_) n += s.errors;
  return n;
}

}  // namespace loadgen
